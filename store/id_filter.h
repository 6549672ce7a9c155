// Which event ids a store certainly does not hold, without a lookup.
//
// Checking an id against the store is the one read every new event needs,
// and on a store that started empty the answer is almost always "absent".
// A Bloom filter of every id written since then answers that exactly in
// memory: "absent" is certain, "maybe" falls back to the store lookup. Its
// size is fixed, so a long run costs no more memory, only (gradually) more
// lookups as it fills.
//
// It is saved beside the store (Save/Load) so that a reopened store keeps
// answering without lookups; hence a hash that is the same in every process
// (store/stable_hash.h).
#ifndef CHATKPI_STORE_ID_FILTER_H_
#define CHATKPI_STORE_ID_FILTER_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace chatkpi {

class IdFilter {
 public:
  // 2^log2_bits bits.
  explicit IdFilter(int log2_bits = 27);

  // The hash every method takes (StableHash); a hash map can share it.
  static uint64_t Hash(std::string_view id);

  // Writes the filter to `path` (through a temporary file and a rename, so
  // a crash leaves the old file or the new one), labelled with `label`
  // (what it covers; Load hands it back).
  absl::Status Save(const std::string& path, std::string_view label) const;
  // Reads a filter that Save wrote. NotFound when there is no file; any
  // damage (short, other size, bad checksum) is DataLoss.
  static absl::StatusOr<std::unique_ptr<IdFilter>> Load(const std::string& path,
                                                        std::string* label);

  void Add(uint64_t hash) { AddAndTest(hash); }
  // False: the id was never added. True: it may have been.
  bool MayContain(uint64_t hash) const;
  // Adds the id; returns what MayContain returned before. One cache line,
  // where MayContain then Add would touch it twice.
  bool AddAndTest(uint64_t hash);
  // Starts loading the id's cache line, so that a later AddAndTest finds it
  // there instead of waiting on memory.
  void Prefetch(uint64_t hash) const;
  // Forgets every id.
  void Clear();

  int log2_bits() const { return log2_bits_; }

 private:
  // The words live in an anonymous mapping of their own (id_filter.cc).
  struct Unmap {
    void* base;
    size_t length;
    void operator()(uint64_t* p) const;
  };
  size_t bytes() const { return (mask_ + 1) / 8; }
  uint64_t Checksum() const;

  std::unique_ptr<uint64_t[], Unmap> words_;
  uint64_t mask_;
  int log2_bits_;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ID_FILTER_H_

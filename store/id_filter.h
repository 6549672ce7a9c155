// Which event ids a store certainly does not hold, without a lookup.
//
// Checking an id against the store is the one read every new event needs,
// and on a store that started empty the answer is almost always "absent".
// A Bloom filter of every id written since then answers that exactly in
// memory: "absent" is certain, "maybe" falls back to the store lookup. Its
// size is fixed, so a long run costs no more memory, only (gradually) more
// lookups as it fills.
#ifndef CHATKPI_STORE_ID_FILTER_H_
#define CHATKPI_STORE_ID_FILTER_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace chatkpi {

class IdFilter {
 public:
  // 2^log2_bits bits.
  explicit IdFilter(int log2_bits = 27);

  // The hash every method takes (absl's, so a hash map can share it).
  static uint64_t Hash(std::string_view id);

  void Add(uint64_t hash) { AddAndTest(hash); }
  // False: the id was never added. True: it may have been.
  bool MayContain(uint64_t hash) const;
  // Adds the id; returns what MayContain returned before. One cache line,
  // where MayContain then Add would touch it twice.
  bool AddAndTest(uint64_t hash);

 private:
  struct Free {
    void operator()(uint64_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint64_t[], Free> words_;
  uint64_t mask_;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ID_FILTER_H_

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
#include <string_view>
#include <vector>

namespace chatkpi {

class IdFilter {
 public:
  // 2^log2_bits bits.
  explicit IdFilter(int log2_bits = 27);

  void Add(std::string_view id);
  // False: `id` was never added. True: it may have been.
  bool MayContain(std::string_view id) const;

 private:
  std::vector<uint64_t> words_;
  uint64_t mask_;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ID_FILTER_H_

#include "store/id_filter.h"

#include "absl/hash/hash.h"

namespace chatkpi {
namespace {

constexpr int kProbes = 4;  // ~0.5% false "maybe" at 10M ids in 2^27 bits

// Double hashing (Kirsch & Mitzenmacher): probe i is h1 + i*h2.
struct Probes {
  uint64_t h1, h2;
  explicit Probes(std::string_view id) {
    const uint64_t h = absl::HashOf(absl::string_view(id.data(), id.size()));
    h1 = h;
    h2 = (h >> 33 | h << 31) | 1;
  }
};

}  // namespace

IdFilter::IdFilter(int log2_bits)
    : words_(size_t{1} << (log2_bits - 6)),
      mask_((uint64_t{1} << log2_bits) - 1) {}

void IdFilter::Add(std::string_view id) {
  const Probes p(id);
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (p.h1 + i * p.h2) & mask_;
    words_[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
}

bool IdFilter::MayContain(std::string_view id) const {
  const Probes p(id);
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (p.h1 + i * p.h2) & mask_;
    if ((words_[bit >> 6] & (uint64_t{1} << (bit & 63))) == 0) return false;
  }
  return true;
}

}  // namespace chatkpi

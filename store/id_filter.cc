#include "store/id_filter.h"

#include <sys/mman.h>

#include <cstring>

#include "absl/hash/hash.h"

namespace chatkpi {
namespace {

constexpr int kProbes = 4;  // ~1% false "maybe" at 12M ids in 2^27 bits

// Blocked: all probes of an id fall in one 64-byte block (one cache miss
// per id instead of one per probe), at a slightly higher false rate.
struct Probes {
  uint64_t block;  // index of the first of 8 words
  uint64_t bits;   // 4 x 9 bits: positions inside the 512-bit block
  Probes(uint64_t h, uint64_t mask) {
    block = ((h & mask) >> 9) << 3;
    bits = h >> 28;
  }
  uint64_t Word(int i) const { return block + ((bits >> (9 * i + 6)) & 7); }
  uint64_t Bit(int i) const { return uint64_t{1} << ((bits >> (9 * i)) & 63); }
};

}  // namespace

IdFilter::IdFilter(int log2_bits) : mask_((uint64_t{1} << log2_bits) - 1) {
  // Every probe is a random cache line of 16 MiB: on 4 KiB pages nearly
  // each one would also miss the TLB, so ask for huge pages (the kernel may
  // decline; then this is only alignment).
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t bytes = size_t{1} << (log2_bits - 3);
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  words_.reset(static_cast<uint64_t*>(
      std::aligned_alloc(align, (bytes + align - 1) / align * align)));
  if (align == kHugePage) madvise(words_.get(), bytes, MADV_HUGEPAGE);
  std::memset(words_.get(), 0, bytes);
}

uint64_t IdFilter::Hash(std::string_view id) {
  return absl::HashOf(absl::string_view(id.data(), id.size()));
}

bool IdFilter::AddAndTest(uint64_t hash) {
  const Probes p(hash, mask_);
  bool present = true;
  for (int i = 0; i < kProbes; ++i) {
    uint64_t& w = words_[p.Word(i)];
    present &= (w & p.Bit(i)) != 0;
    w |= p.Bit(i);
  }
  return present;
}

bool IdFilter::MayContain(uint64_t hash) const {
  const Probes p(hash, mask_);
  for (int i = 0; i < kProbes; ++i) {
    if ((words_[p.Word(i)] & p.Bit(i)) == 0) return false;
  }
  return true;
}

}  // namespace chatkpi

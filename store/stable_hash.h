// Hashes that come out the same in every process and build, for whatever
// is stored: the id filter saved beside a store, the distinct-count
// sketches kept in it. (absl::Hash is seeded per process.) Changing either
// function changes those formats.
#ifndef CHATKPI_STORE_STABLE_HASH_H_
#define CHATKPI_STORE_STABLE_HASH_H_

#include <cstdint>
#include <string_view>

namespace chatkpi {

// splitmix64's finalizer: every input bit moves every output bit.
inline uint64_t Mix64(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

// FNV-1a, then Mix64 to spread FNV's weak high bits (a HyperLogLog takes its
// register index from them, the id filter its block).
inline uint64_t StableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return Mix64(h);
}

}  // namespace chatkpi

#endif  // CHATKPI_STORE_STABLE_HASH_H_

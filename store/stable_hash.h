// Hashes that come out the same in every process and build, for whatever
// is stored: the id filter saved beside a store, the distinct-count
// sketches kept in it, the raw lines' hashes of the id index and of file
// positions. (absl::Hash is seeded per process.) Changing either
// function changes those formats.
#ifndef CHATKPI_STORE_STABLE_HASH_H_
#define CHATKPI_STORE_STABLE_HASH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
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

// A stable hash of a line's bytes, for what is hashed once per line: the
// raw copy kept beside an event's id, the lines a file position covers.
// Sixteen bytes a step in two independent lanes, one multiply each:
// StableHash's byte at a time would cost ~0.1 µs for a line of 150 bytes,
// and one lane would wait on each multiply in turn.
inline uint64_t StableBytesHash(std::string_view raw) {
  uint64_t a = 0x243f6a8885a308d3ull ^ raw.size();
  uint64_t b = 0x13198a2e03707344ull;
  size_t i = 0;
  for (; i + 16 <= raw.size(); i += 16) {
    uint64_t w0, w1;
    std::memcpy(&w0, raw.data() + i, 8);
    std::memcpy(&w1, raw.data() + i + 8, 8);
    a = (a ^ w0) * 0x9e3779b97f4a7c15ull;
    b = (b ^ w1) * 0xc2b2ae3d27d4eb4full;
    a ^= a >> 29;
    b ^= b >> 31;
  }
  uint64_t tail[2] = {0, 0};
  std::memcpy(tail, raw.data() + i, raw.size() - i);
  a = (a ^ tail[0]) * 0x9e3779b97f4a7c15ull;
  b = (b ^ tail[1]) * 0xc2b2ae3d27d4eb4full;
  return Mix64(a ^ ((b << 23) | (b >> 41)));
}

}  // namespace chatkpi

#endif  // CHATKPI_STORE_STABLE_HASH_H_

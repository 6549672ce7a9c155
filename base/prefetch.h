// Software prefetch of cache lines: a hint that memory is read soon, so that
// its misses overlap other work (docs/engine.md, "Throughput").
#ifndef CHATKPI_BASE_PREFETCH_H_
#define CHATKPI_BASE_PREFETCH_H_

#include <cstddef>
#include <cstdint>

namespace chatkpi {

// Loads the cache line holding `p`. Never faults, whatever `p` is. GCC
// treats __builtin_prefetch as free of side effects and may drop it (one
// version of FileShards' loop lost its prefetches of the batch's slots that
// way), so on x86-64 the instruction is written out.
inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// Loads every cache line of [p, p + bytes).
inline void PrefetchBytes(const void* p, size_t bytes) {
  if (bytes == 0) return;
  const uintptr_t first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
  const uintptr_t last =
      (reinterpret_cast<uintptr_t>(p) + bytes - 1) & ~uintptr_t{63};
  for (uintptr_t line = first; line <= last; line += 64) {
    PrefetchLine(reinterpret_cast<const void*>(line));
  }
}

}  // namespace chatkpi

#endif  // CHATKPI_BASE_PREFETCH_H_

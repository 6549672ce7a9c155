// Overflow-checked int64 arithmetic for figures: counters, money, points.
// Every sum or product of figures goes through these, so a figure that does
// not fit in 64 bits fails loudly instead of wrapping into a plausible
// wrong number (docs/limits.md, "Numbers never wrap"). The bounds on single
// events (ingest/event_parser.h) keep realistic stores far from the edge;
// these checks are what holds when something still gets there (a store fed
// by an older build, a hostile changelog message, a bug).
#ifndef CHATKPI_BASE_CHECKED_MATH_H_
#define CHATKPI_BASE_CHECKED_MATH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace chatkpi {

// Each sets *out and returns true, or returns false (leaving *out as it
// was) when the exact result does not fit in int64.
[[nodiscard]] inline bool CheckedAdd(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

[[nodiscard]] inline bool CheckedSub(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

[[nodiscard]] inline bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

// The error every overflow becomes: OutOfRange, "<what> does not fit in a
// 64-bit integer (...)", one line, naming the figure.
inline absl::Status OverflowError(std::string_view what) {
  std::string msg(what);
  msg.append(
      " does not fit in a 64-bit integer; refusing to wrap it into a wrong "
      "number (see docs/limits.md)");
  return absl::OutOfRangeError(msg);
}

// *sum += v, or OverflowError(what) with *sum unchanged.
inline absl::Status AddChecked(int64_t* sum, int64_t v, std::string_view what) {
  if (!CheckedAdd(*sum, v, sum)) return OverflowError(what);
  return absl::OkStatus();
}

}  // namespace chatkpi

#endif  // CHATKPI_BASE_CHECKED_MATH_H_

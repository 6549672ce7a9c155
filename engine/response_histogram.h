// Response times in whole seconds, as counts per second: the mergeable form
// behind the threshold counts and the exact percentiles of docs/spec.md §3.
// Logically a sorted list of (second, count) bins without zero counts. Counts
// may be negative in a delta (a late event takes back what was counted).
#ifndef CHATKPI_ENGINE_RESPONSE_HISTOGRAM_H_
#define CHATKPI_ENGINE_RESPONSE_HISTOGRAM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace chatkpi {

// A response time in ms as whole seconds, rounded up: "within T seconds"
// means at most T * 1000 ms, so a count per rounded-up second answers it
// exactly.
inline int64_t ResponseSeconds(int64_t ms) { return (ms + 999) / 1000; }

class ResponseHistogram {
 public:
  using Bin = std::pair<int64_t, int64_t>;  // (second, count)

  void Add(int64_t second, int64_t count);
  ResponseHistogram& operator+=(const ResponseHistogram& o);
  ResponseHistogram& operator-=(const ResponseHistogram& o);

  bool empty() const { return dense_.empty() ? sparse_.empty() : bins_ == 0; }
  // Sum of all counts.
  int64_t Total() const;
  // Sum of the counts of seconds <= t.
  int64_t CountAtMost(int64_t t) const;
  // Nearest rank: the smallest second v such that at least num/den of the
  // counted values are <= v. nullopt when nothing is counted.
  std::optional<int64_t> Percentile(int64_t num, int64_t den) const;

  // The bins, sorted by second, without zero counts (a copy).
  std::vector<Bin> bins() const;

  // Appends: number of bins, then (second gap, count) zigzag varints.
  void AppendTo(std::string* out) const;
  bool DecodeFrom(std::string_view* in);

  // Equal bins, whichever layout each side holds them in.
  bool operator==(const ResponseHistogram& o) const;

 private:
  // Calls f(second, count) for every bin in order of second; stops early
  // when f returns false.
  template <typename F>
  void ForEach(F f) const;
  void Merge(const ResponseHistogram& o, int64_t sign);
  void AddSparse(int64_t second, int64_t count);
  void AddDense(uint64_t at, int64_t count) {
    int64_t& c = dense_[at];
    bins_ -= c != 0;
    c += count;
    bins_ += c != 0;
  }
  void AddOutsideDense(int64_t second, int64_t count);
  // Switches a large sparse histogram to the dense layout when that is no
  // more than four times its size.
  void MaybeDensify();
  void Sparsify();

  // Two layouts, one in use. Sparse (dense_ empty): the bins in order,
  // inline up to two (the delta of one event, the counts of one thread's
  // day), so that the per-message path allocates nothing. Dense: the count
  // of every second from lo_ on, zeros included (bins_ of them non-zero),
  // for a busy month's row, where a second's count is found and changed in
  // place instead of searched for and inserted (docs/engine.md,
  // "Throughput").
  absl::InlinedVector<Bin, 2> sparse_;
  std::vector<int64_t> dense_;
  int64_t lo_ = 0;
  int64_t bins_ = 0;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_RESPONSE_HISTOGRAM_H_

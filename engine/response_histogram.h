// Response times in whole seconds, as counts per second: the mergeable form
// behind the threshold counts and the exact percentiles of docs/spec.md §3.
// Sparse (only seconds that occur), sorted by second, no zero counts. Counts
// may be negative in a delta (a late event takes back what was counted).
#ifndef CHATKPI_ENGINE_RESPONSE_HISTOGRAM_H_
#define CHATKPI_ENGINE_RESPONSE_HISTOGRAM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkpi {

// A response time in ms as whole seconds, rounded up: "within T seconds"
// means at most T * 1000 ms, so a count per rounded-up second answers it
// exactly.
inline int64_t ResponseSeconds(int64_t ms) { return (ms + 999) / 1000; }

class ResponseHistogram {
 public:
  void Add(int64_t second, int64_t count);
  ResponseHistogram& operator+=(const ResponseHistogram& o);
  ResponseHistogram& operator-=(const ResponseHistogram& o);

  bool empty() const { return bins_.empty(); }
  // Sum of all counts.
  int64_t Total() const;
  // Sum of the counts of seconds <= t.
  int64_t CountAtMost(int64_t t) const;
  // Nearest rank: the smallest second v such that at least num/den of the
  // counted values are <= v. nullopt when nothing is counted.
  std::optional<int64_t> Percentile(int64_t num, int64_t den) const;

  const std::vector<std::pair<int64_t, int64_t>>& bins() const { return bins_; }

  // Appends: number of bins, then (second gap, count) zigzag varints.
  void AppendTo(std::string* out) const;
  bool DecodeFrom(std::string_view* in);

  bool operator==(const ResponseHistogram&) const = default;

 private:
  void Merge(const ResponseHistogram& o, int64_t sign);

  std::vector<std::pair<int64_t, int64_t>> bins_;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_RESPONSE_HISTOGRAM_H_

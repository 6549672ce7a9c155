#include "engine/response_histogram.h"

#include <algorithm>

#include "store/coding.h"

namespace chatkpi {
namespace {

// A row holds at most one bin per second of the response window; far more
// than this in a stored row means corrupt bytes, not data.
constexpr uint64_t kMaxBins = uint64_t{1} << 24;
// Up to this many bins are added one by one (Merge).
constexpr size_t kInPlaceBins = 8;

}  // namespace

void ResponseHistogram::Add(int64_t second, int64_t count) {
  if (count == 0) return;
  // Seconds are distinct integers in order, so `second` is at most
  // second - bins_[0].first places in; where every second up to it occurs
  // (the short response times of a busy row) it is exactly there, found
  // without the binary search's cache misses over a large row.
  auto end = bins_.end();
  if (!bins_.empty() && second >= bins_.front().first) {
    const uint64_t at = static_cast<uint64_t>(second) -
                        static_cast<uint64_t>(bins_.front().first);
    if (at < bins_.size()) {
      if (bins_[at].first == second) {
        bins_[at].second += count;
        if (bins_[at].second == 0) bins_.erase(bins_.begin() + at);
        return;
      }
      end = bins_.begin() + at;
    }
  }
  auto it = std::lower_bound(bins_.begin(), end, second,
                             [](const std::pair<int64_t, int64_t>& b,
                                int64_t s) { return b.first < s; });
  if (it != bins_.end() && it->first == second) {
    it->second += count;
    if (it->second == 0) bins_.erase(it);
  } else {
    bins_.insert(it, {second, count});
  }
}

void ResponseHistogram::Merge(const ResponseHistogram& o, int64_t sign) {
  if (o.bins_.empty()) return;
  // An event's delta holds a bin or two, a month's row up to one per second
  // of the response window: adding those in place moves a few bins where a
  // merge into a new vector would allocate and copy them all.
  if (o.bins_.size() <= kInPlaceBins) {
    for (const auto& [second, count] : o.bins_) Add(second, sign * count);
    return;
  }
  std::vector<std::pair<int64_t, int64_t>> out;
  out.reserve(bins_.size() + o.bins_.size());
  size_t i = 0, j = 0;
  while (i < bins_.size() || j < o.bins_.size()) {
    if (j == o.bins_.size() ||
        (i < bins_.size() && bins_[i].first < o.bins_[j].first)) {
      out.push_back(bins_[i++]);
    } else if (i == bins_.size() || o.bins_[j].first < bins_[i].first) {
      out.emplace_back(o.bins_[j].first, sign * o.bins_[j].second);
      ++j;
    } else {
      const int64_t c = bins_[i].second + sign * o.bins_[j].second;
      if (c != 0) out.emplace_back(bins_[i].first, c);
      ++i;
      ++j;
    }
  }
  bins_ = std::move(out);
}

ResponseHistogram& ResponseHistogram::operator+=(const ResponseHistogram& o) {
  Merge(o, 1);
  return *this;
}

ResponseHistogram& ResponseHistogram::operator-=(const ResponseHistogram& o) {
  Merge(o, -1);
  return *this;
}

int64_t ResponseHistogram::Total() const {
  int64_t n = 0;
  for (const auto& b : bins_) n += b.second;
  return n;
}

int64_t ResponseHistogram::CountAtMost(int64_t t) const {
  int64_t n = 0;
  for (const auto& [second, count] : bins_) {
    if (second > t) break;
    n += count;
  }
  return n;
}

std::optional<int64_t> ResponseHistogram::Percentile(int64_t num,
                                                     int64_t den) const {
  int64_t total = 0;
  for (const auto& b : bins_) total += b.second;
  if (total <= 0) return std::nullopt;
  // rank = ceil(total * num / den), at least 1.
  const int64_t rank = std::max<int64_t>(1, (total * num + den - 1) / den);
  int64_t seen = 0;
  for (const auto& [second, count] : bins_) {
    seen += count;
    if (seen >= rank) return second;
  }
  return bins_.back().first;
}

void ResponseHistogram::AppendTo(std::string* out) const {
  PutVarint64(out, bins_.size());
  int64_t prev = 0;
  for (const auto& [second, count] : bins_) {
    PutVarsint64(out, second - prev);
    PutVarsint64(out, count);
    prev = second;
  }
}

bool ResponseHistogram::DecodeFrom(std::string_view* in) {
  bins_.clear();
  uint64_t n;
  if (!GetVarint64(in, &n) || n > kMaxBins || n > in->size()) return false;
  bins_.reserve(n);
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t gap, count;
    if (!GetVarsint64(in, &gap) || !GetVarsint64(in, &count)) return false;
    if ((i > 0 && gap <= 0) || count == 0) return false;
    prev += gap;
    bins_.emplace_back(prev, count);
  }
  return true;
}

}  // namespace chatkpi

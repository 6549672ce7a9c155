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
// A sparse histogram of at least this many bins turns dense when its
// seconds span at most kDenseSpanPerBin times as many seconds as it has
// bins: 8 bytes a second against 16 a bin, so the dense layout is at most
// four times the size of the sparse one. A month's row of one agent (a
// bin for most seconds up to ten minutes, a few beyond, up to the hour)
// is dense; a day's row (a hundred bins over the hour) stays sparse.
constexpr size_t kDenseMinBins = 64;
constexpr uint64_t kDenseSpanPerBin = 8;

// Seconds from `lo` to `hi` inclusive (lo <= hi), without overflow.
uint64_t Span(int64_t lo, int64_t hi) {
  return static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
}

}  // namespace

template <typename F>
void ResponseHistogram::ForEach(F f) const {
  if (dense_.empty()) {
    for (const auto& [second, count] : sparse_) {
      if (!f(second, count)) return;
    }
    return;
  }
  for (size_t i = 0; i < dense_.size(); ++i) {
    if (dense_[i] != 0 && !f(lo_ + static_cast<int64_t>(i), dense_[i])) return;
  }
}

void ResponseHistogram::Add(int64_t second, int64_t count) {
  if (count == 0) return;
  if (dense_.empty()) {
    AddSparse(second, count);
    return;
  }
  const uint64_t at =
      static_cast<uint64_t>(second) - static_cast<uint64_t>(lo_);
  if (at < dense_.size()) {
    AddDense(at, count);
  } else {
    AddOutsideDense(second, count);
  }
}

void ResponseHistogram::AddSparse(int64_t second, int64_t count) {
  // Seconds are distinct integers in order, so `second` is at most
  // second - sparse_[0].first places in; where every second up to it occurs
  // (the short response times of a busy row) it is exactly there, found
  // without the binary search's cache misses over a large row.
  auto end = sparse_.end();
  if (!sparse_.empty() && second >= sparse_.front().first) {
    const uint64_t at = static_cast<uint64_t>(second) -
                        static_cast<uint64_t>(sparse_.front().first);
    if (at < sparse_.size()) {
      if (sparse_[at].first == second) {
        sparse_[at].second += count;
        if (sparse_[at].second == 0) sparse_.erase(sparse_.begin() + at);
        return;
      }
      end = sparse_.begin() + at;
    }
  }
  auto it =
      std::lower_bound(sparse_.begin(), end, second,
                       [](const Bin& b, int64_t s) { return b.first < s; });
  if (it != sparse_.end() && it->first == second) {
    it->second += count;
    if (it->second == 0) sparse_.erase(it);
    return;
  }
  sparse_.insert(it, Bin{second, count});
  if (sparse_.size() >= kDenseMinBins) MaybeDensify();
}

void ResponseHistogram::AddOutsideDense(int64_t second, int64_t count) {
  const int64_t hi = lo_ + static_cast<int64_t>(dense_.size()) - 1;
  const int64_t new_lo = std::min(lo_, second);
  const int64_t new_hi = std::max(hi, second);
  if (Span(new_lo, new_hi) >
      kDenseSpanPerBin * static_cast<uint64_t>(bins_ + 1)) {
    Sparsify();
    AddSparse(second, count);
    return;
  }
  if (second < lo_) {
    dense_.insert(dense_.begin(), static_cast<size_t>(lo_ - second), 0);
    lo_ = second;
  } else {
    dense_.resize(static_cast<size_t>(second - lo_) + 1, 0);
  }
  AddDense(static_cast<uint64_t>(second - lo_), count);
}

void ResponseHistogram::MaybeDensify() {
  const uint64_t span = Span(sparse_.front().first, sparse_.back().first);
  if (span > kDenseSpanPerBin * sparse_.size()) return;
  lo_ = sparse_.front().first;
  dense_.assign(span, 0);
  for (const auto& [second, count] : sparse_) {
    dense_[static_cast<uint64_t>(second) - static_cast<uint64_t>(lo_)] = count;
  }
  bins_ = static_cast<int64_t>(sparse_.size());
  sparse_.clear();
  sparse_.shrink_to_fit();
}

void ResponseHistogram::Sparsify() {
  absl::InlinedVector<Bin, 2> bins;
  bins.reserve(static_cast<size_t>(bins_) + 1);
  ForEach([&](int64_t second, int64_t count) {
    bins.emplace_back(second, count);
    return true;
  });
  std::vector<int64_t>().swap(dense_);
  sparse_ = std::move(bins);
  lo_ = 0;
  bins_ = 0;
}

void ResponseHistogram::Merge(const ResponseHistogram& o, int64_t sign) {
  if (o.empty()) return;
  // An event's delta holds a bin or two, a month's row up to one per second
  // of the response window: adding those in place moves a few bins where a
  // merge into a new vector would allocate and copy them all. A dense
  // histogram takes any number of bins in place.
  const size_t o_bins =
      o.dense_.empty() ? o.sparse_.size() : static_cast<size_t>(o.bins_);
  if (o_bins <= kInPlaceBins || !dense_.empty()) {
    o.ForEach([&](int64_t second, int64_t count) {
      Add(second, sign * count);
      return true;
    });
    return;
  }
  const std::vector<Bin> ob = o.bins();
  absl::InlinedVector<Bin, 2> out;
  out.reserve(sparse_.size() + ob.size());
  size_t i = 0, j = 0;
  while (i < sparse_.size() || j < ob.size()) {
    if (j == ob.size() ||
        (i < sparse_.size() && sparse_[i].first < ob[j].first)) {
      out.push_back(sparse_[i++]);
    } else if (i == sparse_.size() || ob[j].first < sparse_[i].first) {
      out.emplace_back(ob[j].first, sign * ob[j].second);
      ++j;
    } else {
      const int64_t c = sparse_[i].second + sign * ob[j].second;
      if (c != 0) out.emplace_back(sparse_[i].first, c);
      ++i;
      ++j;
    }
  }
  sparse_ = std::move(out);
  if (sparse_.size() >= kDenseMinBins) MaybeDensify();
}

ResponseHistogram& ResponseHistogram::operator+=(const ResponseHistogram& o) {
  Merge(o, 1);
  return *this;
}

ResponseHistogram& ResponseHistogram::operator-=(const ResponseHistogram& o) {
  Merge(o, -1);
  return *this;
}

std::vector<ResponseHistogram::Bin> ResponseHistogram::bins() const {
  std::vector<Bin> out;
  ForEach([&](int64_t second, int64_t count) {
    out.emplace_back(second, count);
    return true;
  });
  return out;
}

bool ResponseHistogram::operator==(const ResponseHistogram& o) const {
  if (dense_.empty() && o.dense_.empty()) return sparse_ == o.sparse_;
  return bins() == o.bins();
}

int64_t ResponseHistogram::Total() const {
  int64_t n = 0;
  ForEach([&](int64_t, int64_t count) {
    n += count;
    return true;
  });
  return n;
}

int64_t ResponseHistogram::CountAtMost(int64_t t) const {
  int64_t n = 0;
  ForEach([&](int64_t second, int64_t count) {
    if (second > t) return false;
    n += count;
    return true;
  });
  return n;
}

std::optional<int64_t> ResponseHistogram::Percentile(int64_t num,
                                                     int64_t den) const {
  const int64_t total = Total();
  if (total <= 0) return std::nullopt;
  // rank = ceil(total * num / den), at least 1.
  const int64_t rank = std::max<int64_t>(1, (total * num + den - 1) / den);
  int64_t seen = 0;
  std::optional<int64_t> found;
  int64_t last = 0;
  ForEach([&](int64_t second, int64_t count) {
    last = second;
    seen += count;
    if (seen >= rank) {
      found = second;
      return false;
    }
    return true;
  });
  return found.has_value() ? found : std::optional<int64_t>(last);
}

void ResponseHistogram::AppendTo(std::string* out) const {
  PutVarint64(out,
              dense_.empty() ? sparse_.size() : static_cast<uint64_t>(bins_));
  int64_t prev = 0;
  ForEach([&](int64_t second, int64_t count) {
    PutVarsint64(out, second - prev);
    PutVarsint64(out, count);
    prev = second;
    return true;
  });
}

bool ResponseHistogram::DecodeFrom(std::string_view* in) {
  sparse_.clear();
  std::vector<int64_t>().swap(dense_);
  lo_ = 0;
  bins_ = 0;
  uint64_t n;
  if (!GetVarint64(in, &n) || n > kMaxBins || n > in->size()) return false;
  sparse_.reserve(n);
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t gap, count;
    if (!GetVarsint64(in, &gap) || !GetVarsint64(in, &count)) return false;
    if ((i > 0 && gap <= 0) || count == 0) return false;
    prev += gap;
    sparse_.emplace_back(prev, count);
  }
  if (sparse_.size() >= kDenseMinBins) MaybeDensify();
  return true;
}

}  // namespace chatkpi

// The response-time figures of docs/spec.md §3 that depend on the rules'
// thresholds: per threshold T the counts within T and their rates, then the
// median and 90th percentile of response and first-response times. They are
// read from a period's merged response histograms, so they are exact over
// any range of days.
#ifndef CHATKPI_QUERY_RESPONSE_FIGURES_H_
#define CHATKPI_QUERY_RESPONSE_FIGURES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/counters.h"

namespace chatkpi {

struct ResponseFigure {
  std::string key;    // e.g. "response_rate_180s"
  std::string title;  // 中文, e.g. "3分钟响应率"
  // nullopt: the denominator is 0, there is no answered question, or the
  // period has rows counted before the per-second counts existed (unknown).
  std::optional<double> value;
  bool whole = false;  // a count or whole seconds: written without a fraction
};

// In output order: answered_within_<T>s for each T, first_answered_within_,
// response_rate_, first_response_rate_, then median_response_s,
// p90_response_s, median_first_response_s, p90_first_response_s.
std::vector<ResponseFigure> ResponseFigures(
    const Counters& c, const std::vector<int64_t>& thresholds_s);

// One response figure by name, for any threshold (the per-second counts
// answer every threshold exactly, not only the rules' ones): e.g.
// "response_rate_180s", "first_answered_within_45s", "median_response_s".
struct ResponseFigureName {
  enum class Kind {
    kAnsweredWithin,
    kFirstAnsweredWithin,
    kResponseRate,
    kFirstResponseRate,
    kMedianResponse,
    kP90Response,
    kMedianFirstResponse,
    kP90FirstResponse,
  };
  Kind kind = Kind::kAnsweredWithin;
  int64_t threshold_s = 0;  // the four threshold kinds
};
std::optional<ResponseFigureName> ParseResponseFigureName(std::string_view s);
std::optional<double> ResponseFigureValue(const Counters& c,
                                          const ResponseFigureName& f);

// Appends `, "key": value` for each figure.
void AppendResponseFiguresJson(std::string* out, const Counters& c,
                               const std::vector<int64_t>& thresholds_s);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_RESPONSE_FIGURES_H_

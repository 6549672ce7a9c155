#include "query/response_figures.h"

#include "absl/strings/str_cat.h"
#include "base/json_text.h"

namespace chatkpi {
namespace {

// "30秒", "3分钟": how Qianniu names its response rates (3分钟响应率).
std::string DurationZh(int64_t s) {
  if (s % 60 == 0) return absl::StrCat(s / 60, "分钟");
  return absl::StrCat(s, "秒");
}

std::optional<double> Rate(int64_t num, int64_t den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

std::optional<double> Whole(std::optional<int64_t> v) {
  if (!v.has_value()) return std::nullopt;
  return static_cast<double>(*v);
}

}  // namespace

std::vector<ResponseFigure> ResponseFigures(
    const Counters& c, const std::vector<int64_t>& thresholds_s) {
  using Kind = ResponseFigureName::Kind;
  std::vector<ResponseFigure> out;
  out.reserve(4 * thresholds_s.size() + 4);
  auto add = [&](std::string key, std::string title, Kind kind, int64_t t) {
    const bool whole =
        kind != Kind::kResponseRate && kind != Kind::kFirstResponseRate;
    out.push_back({std::move(key), std::move(title),
                   ResponseFigureValue(c, ResponseFigureName{kind, t}), whole});
  };
  for (int64_t t : thresholds_s) {
    add(absl::StrCat("answered_within_", t, "s"),
        absl::StrCat(DurationZh(t), "内回答数"), Kind::kAnsweredWithin, t);
  }
  for (int64_t t : thresholds_s) {
    add(absl::StrCat("first_answered_within_", t, "s"),
        absl::StrCat(DurationZh(t), "内首次响应数"), Kind::kFirstAnsweredWithin,
        t);
  }
  for (int64_t t : thresholds_s) {
    add(absl::StrCat("response_rate_", t, "s"),
        absl::StrCat(DurationZh(t), "响应率"), Kind::kResponseRate, t);
  }
  for (int64_t t : thresholds_s) {
    add(absl::StrCat("first_response_rate_", t, "s"),
        absl::StrCat(DurationZh(t), "首次响应率"), Kind::kFirstResponseRate, t);
  }
  add("median_response_s", "响应时间中位数(秒)", Kind::kMedianResponse, 0);
  add("p90_response_s", "响应时间90分位(秒)", Kind::kP90Response, 0);
  add("median_first_response_s", "首次响应时间中位数(秒)",
      Kind::kMedianFirstResponse, 0);
  add("p90_first_response_s", "首次响应时间90分位(秒)", Kind::kP90FirstResponse,
      0);
  return out;
}

std::optional<ResponseFigureName> ParseResponseFigureName(std::string_view s) {
  using Kind = ResponseFigureName::Kind;
  static constexpr std::pair<std::string_view, Kind> kFixed[] = {
      {"median_response_s", Kind::kMedianResponse},
      {"p90_response_s", Kind::kP90Response},
      {"median_first_response_s", Kind::kMedianFirstResponse},
      {"p90_first_response_s", Kind::kP90FirstResponse}};
  for (const auto& [name, kind] : kFixed) {
    if (s == name) return ResponseFigureName{kind, 0};
  }
  // Longest prefixes first: "first_..." before the plain ones.
  static constexpr std::pair<std::string_view, Kind> kPrefixes[] = {
      {"first_answered_within_", Kind::kFirstAnsweredWithin},
      {"first_response_rate_", Kind::kFirstResponseRate},
      {"answered_within_", Kind::kAnsweredWithin},
      {"response_rate_", Kind::kResponseRate}};
  for (const auto& [prefix, kind] : kPrefixes) {
    if (s.substr(0, prefix.size()) != prefix) continue;
    std::string_view num = s.substr(prefix.size());
    if (num.size() < 2 || num.size() > 7 || num.back() != 's') return {};
    num.remove_suffix(1);
    int64_t t = 0;
    for (char ch : num) {
      if (ch < '0' || ch > '9') return {};
      t = t * 10 + (ch - '0');
    }
    // As written by the snapshot: no leading zero, at least 1.
    if (t < 1 || num[0] == '0') return {};
    return ResponseFigureName{kind, t};
  }
  return {};
}

std::optional<double> ResponseFigureValue(const Counters& c,
                                          const ResponseFigureName& f) {
  using Kind = ResponseFigureName::Kind;
  const int64_t t = f.threshold_s;
  const bool first = f.kind == Kind::kFirstAnsweredWithin ||
                     f.kind == Kind::kFirstResponseRate ||
                     f.kind == Kind::kMedianFirstResponse ||
                     f.kind == Kind::kP90FirstResponse;
  const ResponseHistogram& h = first ? c.first_response_s : c.response_s;
  // Every answered question adds one count to response_s, every answered
  // first question one to first_response_s, and a retraction takes both
  // back together. Rows counted by a build from before the per-second
  // counts have answers without counts: a period touching them cannot know
  // these figures, so they are null (unknown), never a wrong 0, until a
  // replay recounts the store.
  if (h.Total() != c[first ? kFirstResponses : kAnswered]) return std::nullopt;
  switch (f.kind) {
    case Kind::kAnsweredWithin:
    case Kind::kFirstAnsweredWithin:
      return static_cast<double>(h.CountAtMost(t));
    case Kind::kResponseRate:
      return Rate(h.CountAtMost(t), c[kQuestions]);
    case Kind::kFirstResponseRate:
      return Rate(h.CountAtMost(t), c[kConsultations]);
    case Kind::kMedianResponse:
    case Kind::kMedianFirstResponse:
      return Whole(h.Percentile(1, 2));
    case Kind::kP90Response:
    case Kind::kP90FirstResponse:
      return Whole(h.Percentile(9, 10));
  }
  return std::nullopt;
}

void AppendResponseFiguresJson(std::string* out, const Counters& c,
                               const std::vector<int64_t>& thresholds_s) {
  for (const ResponseFigure& f : ResponseFigures(c, thresholds_s)) {
    out->append(", \"");
    out->append(f.key);
    out->append("\": ");
    if (f.whole && f.value.has_value()) {
      absl::StrAppend(out, static_cast<int64_t>(*f.value));
    } else {
      AppendJsonDouble(out, f.value);
    }
  }
}

}  // namespace chatkpi

#include "query/assessment_metrics.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ingest/event_parser.h"

namespace chatkpi {
namespace {

// Marks' maxima follow docs/spec.md §5 (execution 0-10, follow-up 0-5) and the
// ecom10 plan (self and supervisor 10 each).
constexpr AssessmentMetricInfo kMetrics[] = {
    {"execution", AssessmentKind::kMark, 10},
    {"followup", AssessmentKind::kMark, 5},
    {"self", AssessmentKind::kMark, 10},
    {"supervisor", AssessmentKind::kMark, 10},
    {"sets_sold", AssessmentKind::kCount, 1e9},
    {"listings", AssessmentKind::kCount, 1e9},
    {"listing_errors", AssessmentKind::kCount, 1e9},
    // Days absent in the assessment period, a running total: at most a year.
    {"absent_days", AssessmentKind::kCount, 366},
    {"sales_target", AssessmentKind::kMoney, 0},
    {"seniority_pay", AssessmentKind::kMoney, 0},
};

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

// A plain decimal: optional '-', digits, optional '.' and digits.
bool IsPlainDecimal(absl::string_view s) {
  absl::ConsumePrefix(&s, "-");
  size_t dot = s.find('.');
  absl::string_view whole = s.substr(0, dot);
  absl::string_view frac =
      dot == absl::string_view::npos ? absl::string_view() : s.substr(dot + 1);
  if (whole.empty() || (dot != absl::string_view::npos && frac.empty())) {
    return false;
  }
  for (char c : whole) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  for (char c : frac) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<AssessmentMetricInfo> FindAssessmentMetric(
    std::string_view name) {
  for (const AssessmentMetricInfo& m : kMetrics) {
    if (m.name == name) return m;
  }
  absl::string_view own(name.data(), name.size());
  if (absl::ConsumePrefix(&own, "assessment.") &&
      IsIdentifier(std::string_view(own.data(), own.size()))) {
    return AssessmentMetricInfo{name, AssessmentKind::kMark, HUGE_VAL};
  }
  return std::nullopt;
}

bool IsMoneyAssessment(std::string_view metric) {
  auto m = FindAssessmentMetric(metric);
  return m && m->kind == AssessmentKind::kMoney;
}

absl::Status CheckAssessmentInput(std::string_view metric_view,
                                  std::string_view value_view) {
  auto m = FindAssessmentMetric(metric_view);
  const std::string metric(metric_view);
  const std::string value_text(value_view);
  if (!m) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown metric '", metric,
        "': known are execution, followup, self, supervisor, sets_sold, "
        "listings, listing_errors, absent_days, sales_target, seniority_pay, "
        "or assessment.NAME for a shop's own mark (docs/scoring.md)"));
  }
  if (!IsPlainDecimal(value_text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        metric, " value '", value_text, "' is not a plain decimal number"));
  }
  if (value_text.front() == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, " value ", value_text, " is negative"));
  }
  if (m->kind == AssessmentKind::kMoney) {
    int64_t fen = 0;
    if (!ParseYuanToFen(value_view, &fen).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(metric, " value ", value_text,
                       " is money: yuan with at most 2 decimals"));
    }
    if (metric == "sales_target" && fen == 0) {
      return absl::InvalidArgumentError(
          "sales_target must be above 0 (it divides net sales)");
    }
    return absl::OkStatus();
  }
  double v = 0;
  if (!absl::SimpleAtod(value_text, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, " value '", value_text, "' is out of range"));
  }
  if (m->kind == AssessmentKind::kCount &&
      value_text.find('.') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(metric, " value ", value_text, " must be a whole number"));
  }
  if (v > m->max) {
    return absl::InvalidArgumentError(absl::StrCat(
        metric, " value ", value_text, " is above its maximum ", m->max));
  }
  return absl::OkStatus();
}

}  // namespace chatkpi

// The assessment metrics a shop enters by hand (docs/spec.md §1 `assessment`
// events), what each means and which values it takes (docs/scoring.md,
// "Assessment inputs"). `chatkpi assess` refuses anything else, and scoring
// reads money metrics exactly.
#ifndef CHATKPI_QUERY_ASSESSMENT_METRICS_H_
#define CHATKPI_QUERY_ASSESSMENT_METRICS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace chatkpi {

enum class AssessmentKind {
  kMoney,  // yuan, at most 2 decimals, exact fen (sales_target, seniority_pay)
  kCount,  // a whole number >= 0 (sets_sold, listings, absent_days, ...)
  kMark,   // a supervisor's or self mark, 0..max_mark
};

struct AssessmentMetricInfo {
  std::string_view name;
  AssessmentKind kind;
  double max = 0;  // kMark: the highest mark; kCount: the largest count
};

// The metric `name` names, or nullopt for an unknown name. A name written
// `assessment.NAME` (NAME of a-z, 0-9, _) is a shop's own mark >= 0 with no
// upper bound.
std::optional<AssessmentMetricInfo> FindAssessmentMetric(std::string_view name);

// Whether `metric` holds money (yuan, exact fen).
bool IsMoneyAssessment(std::string_view metric);

// Checks one input as written (the JSON number literal): known metric, a
// plain decimal (no exponent), in range; money with at most 2 decimals.
// The message names the metric and the rule broken.
absl::Status CheckAssessmentInput(std::string_view metric,
                                  std::string_view value_text);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_ASSESSMENT_METRICS_H_

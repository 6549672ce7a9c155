// Quarterly and yearly nominations (the kpi100 plan's 季度/年度 最佳/优秀
// 客服专员): over a period's monthly reports, "best" for at most the
// scheme's best share of the agents and "excellent" for at most its
// excellent share (docs/scoring.md, "Quarterly and yearly nominations").
#ifndef CHATKPI_QUERY_PERIOD_AWARDS_H_
#define CHATKPI_QUERY_PERIOD_AWARDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "query/scheme.h"
#include "query/scoring.h"

namespace chatkpi {

struct PeriodAgent {
  std::string agent;
  int months_assessed = 0;
  bool eligible = false;  // assessed in every month of the period
  int64_t sum_centi = 0;  // the monthly totals added up
  int rank = 0;           // among the eligible; 0 if not eligible
  std::string award;      // "best", "excellent" or empty
};

struct PeriodAwards {
  std::string period;  // "2025-Q4", "2025"
  std::string scheme;
  std::vector<std::string> months;
  int agent_count = 0;  // assessed in at least one month: the quotas' base
  int best_quota = 0;
  int excellent_quota = 0;
  std::vector<PeriodAgent> agents;  // eligible by rank then id, then others
};

// `months` are the period's reports in order, every month of it.
absl::StatusOr<PeriodAwards> ComputePeriodAwards(
    const Scheme& scheme, const std::string& period,
    const std::vector<ScoreReport>& months);

std::string PeriodAwardsToJson(const PeriodAwards& p);
std::string PeriodAwardsToCsv(const PeriodAwards& p, ColumnLanguage lang);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_PERIOD_AWARDS_H_

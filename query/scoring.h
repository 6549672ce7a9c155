// Month-end scoring (SPEC §5): a pure function of the month's snapshot, its
// `assessment` inputs, earlier months' results and a scheme. Nothing here
// reads a store or a clock, so a month can be re-scored and checked by hand.
//
// Points are int64 hundredths: each item is rounded half up to 0.01 once,
// and the total is the sum of the rounded items, so the JSON, the CSV and a
// clerk's spreadsheet add up to the same figure. Money is int64 fen.
#ifndef CHATKPI_QUERY_SCORING_H_
#define CHATKPI_QUERY_SCORING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "query/scheme.h"
#include "query/snapshot.h"

namespace chatkpi {

// One `assessment` input, already resolved to the winning event of its
// (agent, period, metric). `value_fen` is set, exactly, for the money
// metrics (sales_target, seniority_pay); `value` for all.
struct Assessment {
  std::string agent;
  std::string period;  // YYYY-MM
  std::string metric;
  double value = 0;
  int64_t value_fen = 0;
};

struct ItemScore {
  std::string name;
  std::optional<double> actual;  // none: no data (a ratio's denominator was 0
                                 // or an input is missing): 0 points
  std::optional<double> target;
  int64_t points_centi = 0;
};

struct Pay {
  int64_t base_fen = 0;
  int64_t personal_commission_fen = 0;
  int64_t public_commission_fen = 0;
  int64_t awards_fen = 0;
  int64_t seniority_fen = 0;
  int64_t total_fen = 0;
};

struct AgentScore {
  std::string agent;
  bool assessed = false;
  int64_t total_centi = 0;
  int rank = 0;  // 1 = best; ties share a rank (1, 1, 3); 0 if not assessed
  // The grade band, if any: empty when the total is in no band or, with
  // `consecutive` > 1, the earlier months needed are missing.
  std::string grade;
  std::string grade_id;
  std::string job_level;
  // In this order when present: absent, warning, dismissal, leave, best,
  // excellent, top_sets_sold, sales_growth, rank1_streak.
  std::vector<std::string> flags;
  // Assessment inputs an item or target needed but the month lacks.
  std::vector<std::string> missing_inputs;
  std::vector<ItemScore> items;  // scheme order; empty if not assessed
  int64_t net_sales_fen = 0;
  std::optional<Pay> pay;  // set iff the scheme pays
};

// An item column of the report: the scheme's item id and display title.
struct ItemColumn {
  std::string name;
  std::string title;
};

struct ScoreReport {
  std::string month;
  std::string scheme;
  std::string rules_version;
  int assessed_count = 0;
  int best_quota = 0;
  int excellent_quota = 0;
  int64_t team_net_sales_fen = 0;    // every agent row plus unattributed
  int64_t public_net_sales_fen = 0;  // unattributed only
  bool has_pay = false;
  std::vector<ItemColumn> columns;  // the scheme's items, in order
  // Assessed agents by rank then id, then those not assessed by id.
  std::vector<AgentScore> agents;
};

struct MonthInputs {
  std::string month;                    // YYYY-MM
  PeriodSnapshot snapshot;              // exactly that month, first to last day
  std::vector<Assessment> assessments;  // other periods are ignored; a later
                                        // entry replaces an earlier one
  // Earlier months' reports, any order, as far back as the caller has
  // (streaks count back until a month is missing). Only totals, ranks,
  // `assessed` and team net sales are read, and none of them depends on
  // history, so earlier months can be scored without theirs.
  std::vector<ScoreReport> previous;
  // The previous month's team net sales for the growth award; if unset,
  // taken from the previous month's report, if any.
  std::optional<int64_t> previous_team_net_sales_fen;
};

absl::StatusOr<ScoreReport> Score(const Scheme& scheme,
                                  const MonthInputs& inputs);

// SPEC §6 `score` JSON, plus `team_totals` (the sums of the agents' totals
// and pay) and a few more per-agent fields.
std::string ScoreReportToJson(const ScoreReport& r);
// CSV with a UTF-8 BOM: one row per agent, then a team totals row equal to
// the JSON's team_totals.
std::string ScoreReportToCsv(const ScoreReport& r,
                             ColumnLanguage lang = ColumnLanguage::kEnglish);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_SCORING_H_

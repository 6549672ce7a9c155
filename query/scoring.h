// Month-end scoring (docs/spec.md §5): a pure function of the month's snapshot,
// its `assessment` inputs, earlier months' results and a scheme. Nothing here
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
#include "engine/counters.h"
#include "query/roster.h"
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
  int64_t awards_fen = 0;  // the sum of the three awards below
  int64_t top_sets_award_fen = 0;
  int64_t growth_award_fen = 0;
  int64_t rank1_award_fen = 0;
  int64_t seniority_fen = 0;
  int64_t total_fen = 0;
};

struct AgentScore {
  std::string agent;
  std::string name;  // from the roster, if any
  bool assessed = false;
  int64_t total_centi = 0;
  int rank = 0;  // 1 = best; ties share a rank (1, 1, 3); 0 if not assessed
  // The grade band, if any: empty when the total is in no band or, with
  // `consecutive` > 1, the earlier months needed are missing.
  std::string grade;
  std::string grade_id;
  std::string job_level;
  std::string training;   // the band's 所需培训强度, if the scheme says
  std::string promotion;  // the band's 职位晋升, if the scheme says
  // In this order when present: absent, warning, dismissal, leave, best,
  // excellent, top_sets_sold, sales_growth, rank1_streak.
  std::vector<std::string> flags;
  // Assessment inputs an item or target needed but the month lacks.
  std::vector<std::string> missing_inputs;
  std::vector<ItemScore> items;  // scheme order; empty if not assessed
  // The scheme's `reference` inputs (shown, never scored), in scheme
  // order; nullopt when not entered.
  std::vector<std::pair<std::string, std::optional<double>>> reference;
  int64_t net_sales_fen = 0;
  std::optional<Pay> pay;  // set iff the scheme pays
  // The commission bracket applied, as written in the scheme, and the
  // arithmetic of the personal commission in yuan; empty if none applies
  // (net sales <= 0) or the agent is not assessed.
  std::string commission_bracket;
  std::string commission_arithmetic;
};

// Activity in the month by an agent the roster does not employ then: shown,
// never assessed, ranked or paid.
struct UnrosteredActivity {
  std::string agent;
  Counters counters;
  std::vector<std::string> inputs;  // assessment metrics entered, sorted
  int64_t net_sales_fen = 0;
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
  // The public commission: max(0, public net sales) x rate, divided by the
  // assessed agents (the divisor).
  int64_t public_pool_fen = 0;
  int64_t public_rate_ppm = 0;
  int public_divisor = 0;
  // The team growth award: the month compared with, if any, and the award
  // each assessed agent gets.
  std::optional<int64_t> previous_team_net_sales_fen;
  int64_t growth_award_fen = 0;
  bool has_pay = false;
  // The roster version used; nullopt: no roster, everyone with activity is
  // assessed. `employed_count` is the number of agents it employs in the
  // month.
  std::optional<int64_t> roster_version;
  int employed_count = 0;
  std::vector<UnrosteredActivity> unrostered;  // by agent id
  // The month's inputs of a name no scheme scores (not one of
  // docs/scoring.md "Assessment inputs", which `chatkpi assess` refuses):
  // kept, never scored; by agent, then name. A typo in an event file's
  // input ("excution") shows here rather than only as a missing input.
  std::vector<Assessment> unknown_inputs;
  std::vector<ItemColumn> columns;     // the scheme's items, in order
  std::vector<std::string> reference;  // the scheme's unscored inputs
  bool has_training = false;  // the scheme's bands name training/promotion
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
  // taken from the previous month's report, if any (with a roster, only if
  // that month employed anyone).
  std::optional<int64_t> previous_team_net_sales_fen;
  // Null: no roster. Else exactly the agents it employs in the month are
  // assessed (or absent), and activity by others goes to `unrostered`.
  const Roster* roster = nullptr;
};

absl::StatusOr<ScoreReport> Score(const Scheme& scheme,
                                  const MonthInputs& inputs);

// The sum of the agents' pay: the pay of `team_totals`. `r` must come from
// Score, which proved that every such sum fits in int64.
Pay TeamPayTotal(const ScoreReport& r);

// docs/spec.md §6 `score` JSON, plus `team_totals` (the sums of the agents'
// totals and pay) and a few more per-agent fields.
std::string ScoreReportToJson(const ScoreReport& r);
// One line naming the report's unknown_inputs, for stderr; empty if none.
std::string UnknownInputsWarning(const ScoreReport& r);
// CSV with a UTF-8 BOM: one row per agent, then a team totals row equal to
// the JSON's team_totals.
std::string ScoreReportToCsv(const ScoreReport& r,
                             ColumnLanguage lang = ColumnLanguage::kEnglish);

// Ranks by total_centi, highest first; ties share a rank (1, 1, 3) and
// are ordered by agent id.
void AssignRanks(std::vector<AgentScore*>& ranked);
// Flags "best" then "excellent" down a ranking, in groups of equal totals:
// a group earns a quota's flag only if it fits in what is left of it, so a
// tie straddling a quota's edge earns nothing from that quota.
void AssignQuotas(const std::vector<AgentScore*>& ranked, int best,
                  int excellent);

// Pieces of the renderings above, for other views of a report (the pay
// statement, query/pay_statement.h): a flag (Chinese if `zh`). Numbers use
// the formats of base/number_text.h.
std::string FlagText(const std::string& flag, bool zh);
// The Chinese title of a reference input ("self" -> "员工自评").
std::string ReferenceTitle(const std::string& metric);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_SCORING_H_

#include "query/scoring.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "base/checked_math.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "base/number_text.h"
#include "query/assessment_metrics.h"
#include "query/response_figures.h"

namespace chatkpi {
namespace {

constexpr int64_t kMillion = 1000000;

// Hundredths of a point from a point value in hundredths computed in double.
// The epsilon absorbs binary noise (3000 * 0.85 = 2549.9999999999995) so a
// hand computation and the program agree on exact halves. False when the
// points do not fit in int64 (or are not a number): converting would be
// undefined, and such points are no score anyone can use.
bool RoundCenti(double centi, int64_t* out) {
  const double r = std::floor(centi + 0.5 + 1e-6);
  // 2^63 is exactly representable; every double below it converts.
  if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0)) {
    return false;
  }
  *out = static_cast<int64_t>(r);
  return true;
}

// num / den rounded half up; num >= 0, den > 0. False when the quotient
// does not fit in int64.
bool DivHalfUp(absl::int128 num, absl::int128 den, int64_t* out) {
  const absl::int128 q = (num * 2 + den) / (den * 2);
  if (q > std::numeric_limits<int64_t>::max()) return false;
  *out = static_cast<int64_t>(q);
  return true;
}

// `what` of `agent`, for OverflowError.
std::string Of(std::string_view what, std::string_view agent) {
  return absl::StrCat(std::string(what), " of agent '", std::string(agent),
                      "'");
}

bool IsMoneyMetric(std::string_view m) { return IsMoneyAssessment(m); }

using AgentInputs = std::map<std::string, const Assessment*, std::less<>>;

std::optional<double> InputValue(const AgentInputs& in, std::string_view m) {
  auto it = in.find(m);
  if (it == in.end()) return std::nullopt;
  if (IsMoneyMetric(m)) return static_cast<double>(it->second->value_fen) / 100;
  return it->second->value;
}

void AddMissing(std::vector<std::string>& missing, std::string_view m) {
  if (std::find(missing.begin(), missing.end(), m) == missing.end()) {
    missing.emplace_back(m);
  }
}

absl::StatusOr<ItemScore> ScoreItem(const SchemeItem& item, const Counters& c,
                                    const AgentInputs& in,
                                    std::vector<std::string>& missing) {
  ItemScore s;
  s.name = item.name;
  const MetricRef& m = item.metric;
  switch (m.kind) {
    case MetricRef::Kind::kCounter:
      s.actual = static_cast<double>(c[m.index]);
      break;
    case MetricRef::Kind::kRatio:
      s.actual = ComputeRatio(c, static_cast<Ratio>(m.index));
      break;
    case MetricRef::Kind::kResponseFigure:
      // ResolveMetric accepted the name, so it parses.
      s.actual = ResponseFigureValue(c, *ParseResponseFigureName(m.text));
      break;
    case MetricRef::Kind::kNetSales: {
      int64_t net;
      if (!CheckedSub(c[kSalesFen], c[kRefundFen], &net)) {
        return OverflowError("net sales");
      }
      s.actual = static_cast<double>(net) / 100;
      break;
    }
    case MetricRef::Kind::kListingAccuracy: {
      auto listings = InputValue(in, "listings");
      auto errors = InputValue(in, "listing_errors");
      if (!listings) AddMissing(missing, "listings");
      if (!errors) AddMissing(missing, "listing_errors");
      // More errors than listings is a typing mistake in one of the two:
      // scored, it would read as a negative accuracy worth 0 points.
      if (listings && errors && *errors > *listings) {
        return absl::FailedPreconditionError(absl::StrCat(
            "listing_errors ", *errors, " exceed listings ", *listings,
            "; correct one of them with chatkpi assess"));
      }
      if (listings && errors && *listings > 0) {
        s.actual = 1.0 - *errors / *listings;
      }
      break;
    }
    case MetricRef::Kind::kAssessment:
      s.actual = InputValue(in, m.assessment);
      if (!s.actual) AddMissing(missing, m.assessment);
      break;
  }
  if (!item.target_assessment.empty()) {
    s.target = InputValue(in, item.target_assessment);
    if (!s.target) AddMissing(missing, item.target_assessment);
  } else {
    s.target = item.target;
  }

  const double weight = static_cast<double>(item.weight_centi);
  double centi = 0;
  switch (item.curve) {
    case Curve::kRatio:
      if (s.actual && s.target && *s.target > 0) {
        double r = *s.actual / *s.target;
        if (item.cap) r = std::min(r, *item.cap);
        centi = weight * r;
      }
      break;
    case Curve::kLinear:
      s.target = item.full_at;
      if (s.actual) {
        double f = (*s.actual - item.zero_at) / (item.full_at - item.zero_at);
        centi = weight * std::clamp(f, 0.0, 1.0);
      }
      break;
    case Curve::kManual:
      s.target = weight / 100;
      if (s.actual) centi = std::min(*s.actual * 100, weight);
      break;
    case Curve::kPerUnit:
      if (s.actual) {
        centi = *s.actual * item.per_unit * 100;
        if (item.cap) centi = std::min(centi, *item.cap * 100);
      }
      break;
  }
  int64_t points;
  if (!RoundCenti(centi, &points)) {
    return OverflowError(absl::StrCat("the points of item '", item.name, "'"));
  }
  s.points_centi = std::max<int64_t>(0, points);
  return s;
}

const GradeBand* BandOf(const Scheme& scheme, int64_t total_centi) {
  for (const GradeBand& g : scheme.grades) {
    if (total_centi >= g.min_centi) return &g;
  }
  return nullptr;
}

// Earlier months' results by agent: history(k) is month - k.
class History {
 public:
  History(absl::CivilMonth month,
          const std::map<absl::CivilMonth, const ScoreReport*>& reports)
      : month_(month), reports_(reports) {}

  const ScoreReport* Report(int back) const {
    auto it = reports_.find(month_ - back);
    return it == reports_.end() ? nullptr : it->second;
  }
  // The agent's score `back` months ago, if the agent was assessed then.
  const AgentScore* Agent(std::string_view agent, int back) const {
    const ScoreReport* r = Report(back);
    if (r == nullptr) return nullptr;
    for (const AgentScore& a : r->agents) {
      if (a.agent == agent) return a.assessed ? &a : nullptr;
    }
    return nullptr;
  }
  // Consecutive months ending with this one (which must satisfy `pred`,
  // checked by the caller) whose results satisfy `pred`; stops at the
  // first month missing, not assessed or failing.
  int Streak(std::string_view agent,
             const std::function<bool(const AgentScore&)>& pred) const {
    int n = 1;
    while (const AgentScore* a = Agent(agent, n)) {
      if (!pred(*a)) break;
      ++n;
    }
    return n;
  }

 private:
  absl::CivilMonth month_;
  const std::map<absl::CivilMonth, const ScoreReport*>& reports_;
};

}  // namespace

void AssignRanks(std::vector<AgentScore*>& ranked) {
  std::sort(ranked.begin(), ranked.end(),
            [](const AgentScore* a, const AgentScore* b) {
              if (a->total_centi != b->total_centi) {
                return a->total_centi > b->total_centi;
              }
              return a->agent < b->agent;
            });
  for (size_t i = 0; i < ranked.size(); ++i) {
    ranked[i]->rank =
        i > 0 && ranked[i]->total_centi == ranked[i - 1]->total_centi
            ? ranked[i - 1]->rank
            : static_cast<int>(i) + 1;
  }
}

// Walks the ranking in groups of equal totals: a group earns "best" if it
// fits in what is left of the best quota, else that quota is closed and it
// tries "excellent". Because the shares are maxima, a tie straddling a
// quota's edge earns nothing rather than overflowing it.
void AssignQuotas(const std::vector<AgentScore*>& ranked, int best,
                  int excellent) {
  bool best_open = true;
  for (size_t i = 0; i < ranked.size();) {
    size_t j = i;
    while (j < ranked.size() && ranked[j]->rank == ranked[i]->rank) ++j;
    const int group = static_cast<int>(j - i);
    const char* flag = nullptr;
    if (best_open && group <= best) {
      best -= group;
      flag = "best";
    } else {
      best_open = false;
      if (group > excellent) break;
      excellent -= group;
      flag = "excellent";
    }
    for (size_t k = i; k < j; ++k) ranked[k]->flags.push_back(flag);
    i = j;
  }
}

namespace {

// The bracket applied to the personal commission and its arithmetic in
// yuan, so that a clerk can redo it: "(21000.00 - 20000.00) x 4% + 250.00
// = 290.00".
void ExplainCommission(const Scheme& scheme, int64_t net_fen,
                       int64_t commission_fen, AgentScore* s) {
  if (net_fen <= 0) {
    s->commission_arithmetic = absl::StrCat(
        "net sales ", FenToYuanText(net_fen), " <= 0: no commission");
    return;
  }
  for (const CommissionBracket& b : scheme.brackets) {
    if (!b.Contains(net_fen)) continue;
    s->commission_bracket = b.text;
    std::string a = b.over_fen > 0
                        ? absl::StrCat("(", FenToYuanText(net_fen), " - ",
                                       FenToYuanText(b.over_fen), ")")
                        : FenToYuanText(net_fen);
    absl::StrAppend(&a, " x ", PpmPercentText(b.rate_ppm));
    if (b.plus_fen > 0) absl::StrAppend(&a, " + ", FenToYuanText(b.plus_fen));
    absl::StrAppend(&a, " = ", FenToYuanText(commission_fen));
    s->commission_arithmetic = std::move(a);
    return;
  }
}

// The team totals the renderers print (SumUp, with them below) fit in
// int64: OutOfRange naming the first that does not.
absl::Status TotalsFit(const ScoreReport& r);

}  // namespace

absl::StatusOr<ScoreReport> Score(const Scheme& scheme,
                                  const MonthInputs& inputs) {
  absl::CivilMonth month;
  if (inputs.month.size() != 7 || !absl::ParseCivilTime(inputs.month, &month)) {
    return absl::InvalidArgumentError(
        absl::StrCat("month '", inputs.month, "' is not YYYY-MM"));
  }
  const PeriodSnapshot& snap = inputs.snapshot;
  if (snap.from != absl::CivilDay(month) ||
      snap.to != absl::CivilDay(month + 1) - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the snapshot covers ", absl::FormatCivilTime(snap.from), "..",
        absl::FormatCivilTime(snap.to), ", not the month ", inputs.month));
  }
  std::map<absl::CivilMonth, const ScoreReport*> reports;
  for (const ScoreReport& r : inputs.previous) {
    absl::CivilMonth m;
    if (!absl::ParseCivilTime(r.month, &m)) {
      return absl::InvalidArgumentError(
          absl::StrCat("previous report month '", r.month, "' is not YYYY-MM"));
    }
    if (m >= month) continue;  // not earlier: no part of this month's history
    if (!reports.emplace(m, &r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("two previous reports for ", r.month));
    }
  }
  const History history(month, reports);

  std::map<std::string, AgentInputs, std::less<>> inputs_by_agent;
  for (const Assessment& a : inputs.assessments) {
    if (a.period != inputs.month) continue;
    inputs_by_agent[a.agent][a.metric] = &a;
  }
  std::map<std::string, Counters, std::less<>> counters;
  for (const AgentRow& row : snap.agents) {
    absl::Status st = counters[row.agent].Add(row.counters);
    if (!st.ok()) return st;
  }
  std::set<std::string> agents;
  std::set<std::string> unrostered;
  if (inputs.roster != nullptr) {
    // With a roster, exactly its employees of the month are assessed, with
    // or without activity; anyone else's activity is only shown.
    for (std::string& a : inputs.roster->EmployedAgents(month)) {
      agents.insert(std::move(a));
    }
    for (const auto& [agent, c] : counters) {
      if (!agents.contains(agent)) unrostered.insert(agent);
    }
    for (const auto& [agent, in] : inputs_by_agent) {
      if (!agents.contains(agent)) unrostered.insert(agent);
    }
  } else {
    for (const auto& [agent, c] : counters) agents.insert(agent);
    for (const auto& [agent, in] : inputs_by_agent) agents.insert(agent);
  }

  ScoreReport report;
  if (inputs.roster != nullptr) {
    report.roster_version = inputs.roster->version;
    report.employed_count = static_cast<int>(agents.size());
  }
  for (const std::string& agent : unrostered) {
    UnrosteredActivity& u = report.unrostered.emplace_back();
    u.agent = agent;
    if (auto it = counters.find(agent); it != counters.end()) {
      u.counters = it->second;
    }
    if (!CheckedSub(u.counters[kSalesFen], u.counters[kRefundFen],
                    &u.net_sales_fen)) {
      return OverflowError(absl::StrCat("the net sales of '", agent, "'"));
    }
    if (auto it = inputs_by_agent.find(agent); it != inputs_by_agent.end()) {
      for (const auto& [metric, a] : it->second) u.inputs.push_back(metric);
    }
  }
  report.month = inputs.month;
  report.scheme = scheme.name;
  report.rules_version = snap.rules_version;
  report.has_pay = scheme.has_pay;
  for (const SchemeItem& item : scheme.items) {
    report.columns.push_back({item.name, item.title});
  }
  report.reference = scheme.reference;
  {
    std::map<std::pair<std::string, std::string>, const Assessment*> unknown;
    for (const Assessment& a : inputs.assessments) {
      if (a.period == inputs.month && !FindAssessmentMetric(a.metric)) {
        unknown[{a.agent, a.metric}] = &a;  // a later entry replaces
      }
    }
    for (const auto& [key, a] : unknown) report.unknown_inputs.push_back(*a);
  }
  for (const GradeBand& g : scheme.grades) {
    report.has_training =
        report.has_training || !g.training.empty() || !g.promotion.empty();
  }
  if (!CheckedSub(snap.unattributed[kSalesFen], snap.unattributed[kRefundFen],
                  &report.public_net_sales_fen)) {
    return OverflowError("the public (unattributed) net sales");
  }
  // Team net sales are the shop's: unrostered rows' sales and refunds are
  // real ones too (docs/scoring.md, "Roster").
  report.team_net_sales_fen = report.public_net_sales_fen;
  for (const UnrosteredActivity& u : report.unrostered) {
    if (absl::Status st = AddChecked(&report.team_net_sales_fen,
                                     u.net_sales_fen, "the team's net sales");
        !st.ok()) {
      return st;
    }
  }

  static const Counters kZero;
  static const AgentInputs kNoInputs;
  report.agents.reserve(agents.size());
  for (const std::string& agent : agents) {
    auto c_it = counters.find(agent);
    const Counters& c = c_it == counters.end() ? kZero : c_it->second;
    auto in_it = inputs_by_agent.find(agent);
    const AgentInputs& in =
        in_it == inputs_by_agent.end() ? kNoInputs : in_it->second;

    AgentScore& s = report.agents.emplace_back();
    s.agent = agent;
    if (inputs.roster != nullptr) {
      if (const RosterEntry* e = inputs.roster->Find(agent)) s.name = e->name;
    }
    for (const std::string& m : scheme.reference) {
      s.reference.emplace_back(m, InputValue(in, m));
    }
    if (!CheckedSub(c[kSalesFen], c[kRefundFen], &s.net_sales_fen)) {
      return OverflowError(Of("the net sales", agent));
    }
    if (absl::Status st = AddChecked(&report.team_net_sales_fen,
                                     s.net_sales_fen, "the team's net sales");
        !st.ok()) {
      return st;
    }
    if (scheme.has_pay) s.pay = Pay{};
    auto absent = InputValue(in, "absent_days");
    if (scheme.absence_limit_days && absent &&
        *absent > static_cast<double>(*scheme.absence_limit_days)) {
      s.flags.push_back("absent");
      continue;
    }
    s.assessed = true;
    for (const SchemeItem& item : scheme.items) {
      auto scored = ScoreItem(item, c, in, s.missing_inputs);
      if (!scored.ok()) {
        return absl::Status(
            scored.status().code(),
            absl::StrCat("agent '", agent, "': ", scored.status().message()));
      }
      s.items.push_back(std::move(*scored));
      if (absl::Status st =
              AddChecked(&s.total_centi, s.items.back().points_centi,
                         Of("the total points", agent));
          !st.ok()) {
        return st;
      }
    }
  }

  std::vector<AgentScore*> ranked;
  for (AgentScore& s : report.agents) {
    if (s.assessed) ranked.push_back(&s);
  }
  const int n = static_cast<int>(ranked.size());
  report.assessed_count = n;
  AssignRanks(ranked);

  for (AgentScore* s : ranked) {
    // Grade: the band of the lowest of `consecutive` assessed months.
    int64_t low = s->total_centi;
    bool complete = true;
    for (int k = 1; k < scheme.consecutive; ++k) {
      const AgentScore* prev = history.Agent(s->agent, k);
      if (prev == nullptr) {
        complete = false;
        break;
      }
      low = std::min(low, prev->total_centi);
    }
    if (const GradeBand* g = complete ? BandOf(scheme, low) : nullptr) {
      s->grade = g->title;
      s->grade_id = g->id;
      s->job_level = g->job_level;
      s->training = g->training;
      s->promotion = g->promotion;
      if (s->pay) s->pay->base_fen = g->base_pay_fen.value_or(0);
    } else if (s->pay) {
      // Too few consecutive assessed months for a grade yet (a new hire, a
      // gap): no grade, but the base of the band every total earns
      // (min_total 0, which a scheme that pays must have), never 0.
      if (const GradeBand* floor = BandOf(scheme, 0)) {
        s->pay->base_fen = floor->base_pay_fen.value_or(0);
      }
    }
    if (scheme.warning_below_centi &&
        s->total_centi < *scheme.warning_below_centi) {
      s->flags.push_back("warning");
      const int64_t limit = *scheme.warning_below_centi;
      if (scheme.dismissal_after > 0 &&
          history.Streak(s->agent, [&](const AgentScore& a) {
            return a.total_centi < limit;
          }) >= scheme.dismissal_after) {
        s->flags.push_back("dismissal");
      }
    }
    if (scheme.leave_below_centi && scheme.leave_after > 0 &&
        s->total_centi < *scheme.leave_below_centi) {
      const int64_t limit = *scheme.leave_below_centi;
      if (history.Streak(s->agent, [&](const AgentScore& a) {
            return a.total_centi < limit;
          }) >= scheme.leave_after) {
        s->flags.push_back("leave");
      }
    }
  }

  // Quotas are floors of a share of the assessed agents: 7 * 5% = 0.35 -> 0.
  report.best_quota =
      static_cast<int>(int64_t{n} * scheme.best_share_ppm / kMillion);
  report.excellent_quota =
      static_cast<int>(int64_t{n} * scheme.excellent_share_ppm / kMillion);
  AssignQuotas(ranked, report.best_quota, report.excellent_quota);

  if (scheme.has_pay) {
    // Highest sets sold among the assessed; every agent tied at the top.
    double top_sets = 0;
    for (AgentScore* s : ranked) {
      auto sets = InputValue(inputs_by_agent[s->agent], "sets_sold");
      if (sets) top_sets = std::max(top_sets, *sets);
    }
    // Team growth over the previous month, compared exactly in fen.
    std::optional<int64_t> prev_team = inputs.previous_team_net_sales_fen;
    if (!prev_team) {
      // With a roster, a month that employed nobody (stray events before
      // anyone's hire) is no base for growth.
      const ScoreReport* r = history.Report(1);
      if (r != nullptr && (!r->roster_version || r->employed_count > 0)) {
        prev_team = r->team_net_sales_fen;
      }
    }
    report.previous_team_net_sales_fen = prev_team;
    int64_t growth_award = 0;
    if (prev_team && *prev_team > 0) {
      const absl::int128 gain =
          (absl::int128(report.team_net_sales_fen) - *prev_team) * kMillion;
      for (const GrowthAward& g : scheme.growth_awards) {
        if (gain >= absl::int128(g.threshold_ppm) * *prev_team) {
          growth_award = g.award_fen;  // ascending: the highest met wins
        }
      }
    }
    report.growth_award_fen = growth_award;
    const int64_t public_net =
        std::max<int64_t>(0, report.public_net_sales_fen);
    report.public_pool_fen = public_net;
    report.public_rate_ppm = scheme.public_rate_ppm;
    report.public_divisor = n;

    for (AgentScore* s : ranked) {
      Pay& p = *s->pay;
      const AgentInputs& in = inputs_by_agent[s->agent];
      auto personal = PersonalCommissionFen(scheme, s->net_sales_fen);
      if (!personal.ok()) {
        return absl::Status(personal.status().code(),
                            absl::StrCat("agent '", s->agent,
                                         "': ", personal.status().message()));
      }
      p.personal_commission_fen = *personal;
      ExplainCommission(scheme, s->net_sales_fen, p.personal_commission_fen, s);
      if (!DivHalfUp(absl::int128(public_net) * scheme.public_rate_ppm,
                     absl::int128(kMillion) * n, &p.public_commission_fen)) {
        return OverflowError("the public commission");
      }
      auto sets = InputValue(in, "sets_sold");
      const std::string awards = Of("the awards", s->agent);
      if (scheme.top_sets_award_fen > 0 && top_sets > 0 && sets &&
          *sets == top_sets) {
        p.top_sets_award_fen = scheme.top_sets_award_fen;
        s->flags.push_back("top_sets_sold");
      }
      if (growth_award > 0) {
        p.growth_award_fen = growth_award;
        s->flags.push_back("sales_growth");
      }
      // "Rank 1 three months running": paid once per full run of
      // rank1_months (months 3, 6, ... of a streak), not every month after.
      if (scheme.rank1_months > 0 && s->rank == 1) {
        const int streak = history.Streak(
            s->agent, [](const AgentScore& a) { return a.rank == 1; });
        if (streak % scheme.rank1_months == 0) {
          p.rank1_award_fen = scheme.rank1_award_fen;
          s->flags.push_back("rank1_streak");
        }
      }
      if (auto it = in.find("seniority_pay"); it != in.end()) {
        p.seniority_fen = std::max<int64_t>(0, it->second->value_fen);
      }
      p.awards_fen = 0;
      for (int64_t award :
           {p.top_sets_award_fen, p.growth_award_fen, p.rank1_award_fen}) {
        absl::Status st = AddChecked(&p.awards_fen, award, awards);
        if (!st.ok()) return st;
      }
      p.total_fen = 0;
      for (int64_t part :
           {p.base_fen, p.personal_commission_fen, p.public_commission_fen,
            p.awards_fen, p.seniority_fen}) {
        absl::Status st =
            AddChecked(&p.total_fen, part, Of("the total pay", s->agent));
        if (!st.ok()) return st;
      }
    }
  }
  // The team totals the renderers print are sums over agents too.
  if (absl::Status st = TotalsFit(report); !st.ok()) return st;

  std::stable_sort(report.agents.begin(), report.agents.end(),
                   [](const AgentScore& a, const AgentScore& b) {
                     if (a.assessed != b.assessed) return a.assessed;
                     if (a.assessed && a.rank != b.rank) return a.rank < b.rank;
                     return a.agent < b.agent;
                   });
  return report;
}

// ---------------------------------------------------------------------------
// Rendering.

namespace {

std::string OptStr(const std::string& s) {
  return s.empty() ? std::string("null") : JsonString(s);
}

struct Totals {
  int agents = 0;
  int assessed = 0;
  int64_t total_centi = 0;
  int64_t net_sales_fen = 0;
  std::vector<int64_t> items_centi;
  Pay pay;
};

// The team_totals of the JSON and the CSV's totals row. Score calls it once
// to prove they fit; the renderers, given a report from Score, then cannot
// fail.
absl::StatusOr<Totals> SumUp(const ScoreReport& r) {
  Totals t;
  t.items_centi.assign(r.columns.size(), 0);
  absl::Status s;
  auto add = [&s](int64_t* sum, int64_t v, std::string_view what) {
    if (s.ok()) s = AddChecked(sum, v, what);
  };
  for (const AgentScore& a : r.agents) {
    ++t.agents;
    add(&t.net_sales_fen, a.net_sales_fen, "the team's net sales");
    if (a.pay) {
      add(&t.pay.base_fen, a.pay->base_fen, "the team's base pay");
      add(&t.pay.personal_commission_fen, a.pay->personal_commission_fen,
          "the team's personal commission");
      add(&t.pay.public_commission_fen, a.pay->public_commission_fen,
          "the team's public commission");
      add(&t.pay.awards_fen, a.pay->awards_fen, "the team's awards");
      add(&t.pay.top_sets_award_fen, a.pay->top_sets_award_fen,
          "the team's top sets awards");
      add(&t.pay.growth_award_fen, a.pay->growth_award_fen,
          "the team's growth awards");
      add(&t.pay.rank1_award_fen, a.pay->rank1_award_fen,
          "the team's rank 1 awards");
      add(&t.pay.seniority_fen, a.pay->seniority_fen,
          "the team's seniority pay");
      add(&t.pay.total_fen, a.pay->total_fen, "the team's total pay");
    }
    if (!a.assessed) continue;
    ++t.assessed;
    add(&t.total_centi, a.total_centi, "the team's total points");
    for (size_t i = 0; i < a.items.size() && i < t.items_centi.size(); ++i) {
      add(&t.items_centi[i], a.items[i].points_centi, "the team's item points");
    }
  }
  if (!s.ok()) return s;
  return t;
}

absl::Status TotalsFit(const ScoreReport& r) { return SumUp(r).status(); }

}  // namespace

Pay TeamPayTotal(const ScoreReport& r) {
  return SumUp(r).value().pay;  // Score proved it fits
}

namespace {

std::string PayJson(const Pay& p) {
  return absl::StrCat(
      "{\"base_fen\": ", p.base_fen,
      ", \"personal_commission_fen\": ", p.personal_commission_fen,
      ", \"public_commission_fen\": ", p.public_commission_fen,
      ", \"awards_fen\": ", p.awards_fen,
      ", \"seniority_fen\": ", p.seniority_fen,
      ", \"total_fen\": ", p.total_fen,
      ", \"awards\": {\"top_sets_sold_fen\": ", p.top_sets_award_fen,
      ", \"sales_growth_fen\": ", p.growth_award_fen,
      ", \"rank1_streak_fen\": ", p.rank1_award_fen, "}}");
}

std::string JsonStrings(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (const std::string& s : v) q.push_back(JsonString(s));
  return absl::StrCat("[", absl::StrJoin(q, ", "), "]");
}

std::string CountersJson(const Counters& c) {
  std::string out = "{";
  for (int i = 0; i < kNumCounters; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", "\"",
                    std::string(kCounterNames[i]), "\": ", c[i]);
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::string ScoreReportToJson(const ScoreReport& r) {
  std::string out = absl::StrCat(
      "{\"month\": ", JsonString(r.month),
      ", \"scheme\": ", JsonString(r.scheme),
      ", \"rules_version\": ", JsonString(r.rules_version), ",\n \"roster\": ",
      r.roster_version ? absl::StrCat("{\"version\": ", *r.roster_version,
                                      ", \"employed\": ", r.employed_count, "}")
                       : "null",
      ",\n \"assessed_count\": ", r.assessed_count,
      ", \"best_quota\": ", r.best_quota,
      ", \"excellent_quota\": ", r.excellent_quota,
      ", \"team_net_sales_fen\": ", r.team_net_sales_fen,
      ", \"public_net_sales_fen\": ", r.public_net_sales_fen);
  if (r.has_pay) {
    absl::StrAppend(
        &out, ",\n \"public_commission\": {\"pool_fen\": ", r.public_pool_fen,
        ", \"rate\": ", JsonString(PpmPercentText(r.public_rate_ppm)),
        ", \"divisor\": ", r.public_divisor,
        "},\n \"sales_growth\": {\"previous_team_net_sales_fen\": ",
        r.previous_team_net_sales_fen
            ? absl::StrCat(*r.previous_team_net_sales_fen)
            : "null",
        ", \"team_net_sales_fen\": ", r.team_net_sales_fen,
        ", \"award_fen\": ", r.growth_award_fen, "}");
  }
  out.append(",\n \"agents\": [");
  for (size_t i = 0; i < r.agents.size(); ++i) {
    const AgentScore& a = r.agents[i];
    absl::StrAppend(
        &out, i == 0 ? "\n  " : ",\n  ", "{\"agent\": ", JsonString(a.agent),
        ", \"assessed\": ", a.assessed ? "true" : "false",
        ", \"total\": ", a.assessed ? CentiText(a.total_centi) : "null",
        ", \"rank\": ", a.assessed ? absl::StrCat(a.rank) : "null",
        ", \"grade\": ", OptStr(a.grade),
        ", \"grade_id\": ", OptStr(a.grade_id),
        ", \"job_level\": ", OptStr(a.job_level),
        ", \"flags\": ", JsonStrings(a.flags),
        ", \"missing_inputs\": ", JsonStrings(a.missing_inputs),
        ", \"net_sales_fen\": ", a.net_sales_fen, ",\n   \"items\": [");
    for (size_t k = 0; k < a.items.size(); ++k) {
      const ItemScore& it = a.items[k];
      absl::StrAppend(&out, k == 0 ? "" : ", ",
                      "{\"name\": ", JsonString(it.name),
                      ", \"actual\": ", JsonDouble(it.actual),
                      ", \"target\": ", JsonDouble(it.target),
                      ", \"points\": ", CentiText(it.points_centi), "}");
    }
    absl::StrAppend(&out, "],\n   \"pay\": ", a.pay ? PayJson(*a.pay) : "null",
                    ",\n   \"name\": ", OptStr(a.name),
                    ", \"training\": ", OptStr(a.training),
                    ", \"promotion\": ", OptStr(a.promotion),
                    ", \"reference\": {");
    for (size_t k = 0; k < a.reference.size(); ++k) {
      absl::StrAppend(&out, k == 0 ? "" : ", ",
                      JsonString(a.reference[k].first), ": ",
                      JsonDouble(a.reference[k].second));
    }
    absl::StrAppend(
        &out, "}, \"commission\": ",
        a.pay && a.assessed
            ? absl::StrCat("{\"bracket\": ", OptStr(a.commission_bracket),
                           ", \"arithmetic\": ",
                           JsonString(a.commission_arithmetic), "}")
            : "null",
        "}");
  }
  out.append("],\n \"unrostered\": [");
  for (size_t i = 0; i < r.unrostered.size(); ++i) {
    const UnrosteredActivity& u = r.unrostered[i];
    absl::StrAppend(&out, i == 0 ? "\n  " : ",\n  ",
                    "{\"agent\": ", JsonString(u.agent),
                    ", \"net_sales_fen\": ", u.net_sales_fen,
                    ", \"inputs\": ", JsonStrings(u.inputs),
                    ",\n   \"counters\": ", CountersJson(u.counters), "}");
  }
  out.append("],\n \"unknown_inputs\": [");
  for (size_t i = 0; i < r.unknown_inputs.size(); ++i) {
    const Assessment& a = r.unknown_inputs[i];
    absl::StrAppend(&out, i == 0 ? "" : ", ",
                    "{\"agent\": ", JsonString(a.agent),
                    ", \"metric\": ", JsonString(a.metric),
                    ", \"value\": ", JsonDouble(a.value), "}");
  }
  const Totals t = SumUp(r).value();  // Score proved it fits
  absl::StrAppend(&out, "],\n \"team_totals\": {\"agents\": ", t.agents,
                  ", \"assessed\": ", t.assessed,
                  ", \"total\": ", CentiText(t.total_centi),
                  ", \"net_sales_fen\": ", t.net_sales_fen, ", \"items\": {");
  for (size_t k = 0; k < r.columns.size(); ++k) {
    absl::StrAppend(&out, k == 0 ? "" : ", ", JsonString(r.columns[k].name),
                    ": ", CentiText(t.items_centi[k]));
  }
  absl::StrAppend(&out, "}, \"pay\": ", r.has_pay ? PayJson(t.pay) : "null",
                  "}}\n");
  return out;
}

std::string UnknownInputsWarning(const ScoreReport& r) {
  if (r.unknown_inputs.empty()) return "";
  std::vector<std::string> named;
  for (const Assessment& a : r.unknown_inputs) {
    named.push_back(absl::StrCat(a.metric, " of ", a.agent));
  }
  return absl::StrCat(
      "warning: ", r.unknown_inputs.size(), " input(s) of ", r.month,
      " have a name no scheme scores and are not scored: ",
      absl::StrJoin(named, ", "),
      " (a typo? chatkpi assess refuses such names; enter the intended one "
      "with chatkpi assess)");
}

std::string FlagText(const std::string& flag, bool zh) {
  if (!zh) return flag;
  static const std::map<std::string, std::string, std::less<>> kZh = {
      {"absent", "缺岗超限不考核"},
      {"warning", "提醒约谈"},
      {"dismissal", "淘汰"},
      {"leave", "自动请辞"},
      {"best", "最佳客服"},
      {"excellent", "优秀客服"},
      {"top_sets_sold", "整套销售最高奖"},
      {"sales_growth", "销售增长奖"},
      {"rank1_streak", "连续第一奖"},
      {"unrostered", "不在花名册"}};
  auto it = kZh.find(flag);
  return it == kZh.end() ? flag : it->second;
}

std::string ReferenceTitle(const std::string& metric) {
  if (metric == "self") return "员工自评";
  if (metric == "supervisor") return "主管评定";
  return metric;
}

namespace {

// One CSV cell: text is neutralised against formulas, numbers are not.
struct Cell {
  std::string text;
  bool number = false;
};
Cell Text(std::string s) { return {std::move(s), false}; }
Cell Num(std::string s) { return {std::move(s), true}; }
Cell Yuan(int64_t fen) { return {FenToYuanText(fen), true}; }

std::string CsvRow(const std::vector<Cell>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (cells[i].number) {
      AppendCsvNumber(&out, cells[i].text);
    } else {
      AppendCsvField(&out, cells[i].text);
    }
  }
  out.append("\r\n");
  return out;
}

}  // namespace

std::string ScoreReportToCsv(const ScoreReport& r, ColumnLanguage lang) {
  const bool zh = lang == ColumnLanguage::kChinese;
  // Columns: who and which month first, then points, then pay; money in
  // yuan with 2 decimals (the unit in the header), so that 分 only ever
  // means points.
  const bool training = r.has_training;
  const std::vector<std::string>& reference = r.reference;

  std::vector<Cell> head;
  auto h = [&](const char* en, const char* cn) {
    head.push_back(Text(zh ? cn : en));
  };
  h("month", "月份");
  h("scheme", "方案");
  h("rules_version", "规则版本");
  h("agent", "客服");
  h("name", "姓名");
  h("assessed", "参与考核");
  h("total", "总分");
  h("rank", "排名");
  h("grade", "等级");
  h("job_level", "岗位级别");
  if (training) {
    h("training", "所需培训强度");
    h("promotion", "职位晋升");
  }
  h("flags", "标记");
  h("net_sales(元)", "净销售额(元)");
  for (const ItemColumn& c : r.columns) {
    if (zh) {
      head.push_back(Text(absl::StrCat(c.title, "实际值")));
      head.push_back(Text(absl::StrCat(c.title, "目标值")));
      head.push_back(Text(absl::StrCat(c.title, "得分")));
    } else {
      head.push_back(Text(absl::StrCat(c.name, "_actual")));
      head.push_back(Text(absl::StrCat(c.name, "_target")));
      head.push_back(Text(absl::StrCat(c.name, "_points")));
    }
  }
  for (const std::string& m : reference) {
    head.push_back(Text(zh ? absl::StrCat(ReferenceTitle(m), "(参考)")
                           : absl::StrCat(m, "_reference")));
  }
  if (r.has_pay) {
    h("base_pay(元)", "岗位工资(元)");
    h("commission_bracket", "提成档位");
    h("commission_arithmetic", "提成算式(元)");
    h("personal_commission(元)", "个人绩效提成(元)");
    h("public_pool(元)", "公共销售业绩(元)");
    h("public_rate", "公共提成比例");
    h("public_divisor", "公共提成分摊人数");
    h("public_commission(元)", "公共绩效提成(元)");
    h("top_sets_sold_award(元)", "整套销售最高奖(元)");
    h("sales_growth_award(元)", "销售增长奖(元)");
    h("rank1_streak_award(元)", "连续第一奖(元)");
    h("awards(元)", "奖励合计(元)");
    h("seniority_pay(元)", "工龄工资(元)");
    h("total_pay(元)", "当月工资(元)");
  }
  auto lead = [&](const std::string& agent, const std::string& name) {
    return std::vector<Cell>{Text(r.month), Text(r.scheme),
                             Text(r.rules_version), Text(agent), Text(name)};
  };
  auto pay_cells = [&](std::vector<Cell>& f, const Pay& p,
                       const std::string& bracket,
                       const std::string& arithmetic, bool agent_row) {
    f.push_back(Yuan(p.base_fen));
    f.push_back(Text(bracket));
    f.push_back(Text(arithmetic));
    f.push_back(Yuan(p.personal_commission_fen));
    f.push_back(agent_row ? Yuan(r.public_pool_fen) : Num(""));
    f.push_back(Text(agent_row ? PpmPercentText(r.public_rate_ppm) : ""));
    f.push_back(Num(agent_row ? absl::StrCat(r.public_divisor) : ""));
    f.push_back(Yuan(p.public_commission_fen));
    f.push_back(Yuan(p.top_sets_award_fen));
    f.push_back(Yuan(p.growth_award_fen));
    f.push_back(Yuan(p.rank1_award_fen));
    f.push_back(Yuan(p.awards_fen));
    f.push_back(Yuan(p.seniority_fen));
    f.push_back(Yuan(p.total_fen));
  };
  // The BOM makes spreadsheet programs read the file as UTF-8.
  std::string out = "\xEF\xBB\xBF" + CsvRow(head);
  for (const AgentScore& a : r.agents) {
    std::vector<std::string> flags;
    for (const std::string& f : a.flags) flags.push_back(FlagText(f, zh));
    std::vector<Cell> f = lead(a.agent, a.name);
    f.push_back(Num(a.assessed ? "1" : "0"));
    f.push_back(Num(a.assessed ? CentiText(a.total_centi) : ""));
    f.push_back(Num(a.assessed ? absl::StrCat(a.rank) : ""));
    f.push_back(Text(a.grade));
    f.push_back(Text(a.job_level));
    if (training) {
      f.push_back(Text(a.training));
      f.push_back(Text(a.promotion));
    }
    f.push_back(Text(absl::StrJoin(flags, ";")));
    f.push_back(Yuan(a.net_sales_fen));
    for (size_t k = 0; k < r.columns.size(); ++k) {
      if (k < a.items.size()) {
        const ItemScore& it = a.items[k];
        f.push_back(Num(it.actual ? FormatDouble(*it.actual) : ""));
        f.push_back(Num(it.target ? FormatDouble(*it.target) : ""));
        f.push_back(Num(CentiText(it.points_centi)));
      } else {
        for (int i = 0; i < 3; ++i) f.push_back(Num(""));
      }
    }
    for (const auto& [m, v] : a.reference) {
      f.push_back(Num(v ? FormatDouble(*v) : ""));
    }
    if (r.has_pay) {
      pay_cells(f, a.pay.value_or(Pay{}), a.commission_bracket,
                a.commission_arithmetic, a.assessed);
    }
    out += CsvRow(f);
  }
  const Totals t = SumUp(r).value();  // Score proved it fits
  {
    std::vector<Cell> f = lead(zh ? "团队合计" : "TEAM TOTAL", "");
    f.push_back(Num(absl::StrCat(t.assessed)));
    f.push_back(Num(CentiText(t.total_centi)));
    for (int i = 0; i < 3; ++i) f.push_back(Text(""));
    if (training) {
      f.push_back(Text(""));
      f.push_back(Text(""));
    }
    f.push_back(Text(""));
    f.push_back(Yuan(t.net_sales_fen));
    for (size_t k = 0; k < r.columns.size(); ++k) {
      f.push_back(Num(""));
      f.push_back(Num(""));
      f.push_back(Num(CentiText(t.items_centi[k])));
    }
    for (size_t k = 0; k < reference.size(); ++k) f.push_back(Num(""));
    if (r.has_pay) pay_cells(f, t.pay, "", "", false);
    out += CsvRow(f);
  }
  // Activity by agents the roster does not employ: shown, never paid.
  for (const UnrosteredActivity& u : r.unrostered) {
    std::vector<Cell> f = lead(u.agent, "");
    f.push_back(Num("0"));
    f.push_back(Num(""));
    f.push_back(Num(""));
    f.push_back(Text(""));
    f.push_back(Text(""));
    if (training) {
      f.push_back(Text(""));
      f.push_back(Text(""));
    }
    f.push_back(Text(FlagText("unrostered", zh)));
    f.push_back(Yuan(u.net_sales_fen));
    while (f.size() < head.size()) f.push_back(Num(""));
    out += CsvRow(f);
  }
  return out;
}

}  // namespace chatkpi

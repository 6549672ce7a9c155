#include "query/diff.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/generation_select.h"
#include "query/csv_text.h"
#include "query/json_text.h"
#include "query/month_score.h"
#include "query/response_figures.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// A figure under both versions. Integers (counters, fen, ranks) stay exact;
// ratios and points are doubles whose change is rounded to 1e-6 so that
// 0.95 - 0.9 reads 0.05.
struct Pair {
  std::optional<double> a, b;
  bool integral = false;

  std::optional<double> change() const {
    if (!a || !b) return std::nullopt;
    const double d = *b - *a;
    return integral ? d : std::round(d * 1e6) / 1e6;
  }
};

Pair Ints(std::optional<int64_t> a, std::optional<int64_t> b) {
  Pair p;
  p.integral = true;
  if (a) p.a = static_cast<double>(*a);
  if (b) p.b = static_cast<double>(*b);
  return p;
}

std::string Num(std::optional<double> v, bool integral) {
  if (!v) return "null";
  if (integral) return absl::StrCat(static_cast<int64_t>(*v));
  std::string out;
  AppendJsonDouble(&out, v);
  return out;
}

void AppendPairValue(std::string* out, const Pair& p) {
  absl::StrAppend(out, "{\"a\": ", Num(p.a, p.integral),
                  ", \"b\": ", Num(p.b, p.integral),
                  ", \"change\": ", Num(p.change(), p.integral), "}");
}

void AppendPair(std::string* out, std::string_view name, const Pair& p) {
  AppendJsonString(out, name);
  out->append(": ");
  AppendPairValue(out, p);
}

// Every counter, then every ratio, then the response figures of
// `thresholds_s` (orders_only: the order counters only, as in the
// snapshot's `unattributed`).
std::vector<std::pair<std::string, Pair>> KpiPairs(
    const Counters& a, const Counters& b, bool orders_only,
    const std::vector<int64_t>& thresholds_s = {}) {
  std::vector<std::pair<std::string, Pair>> out;
  for (int i = orders_only ? kFirstOrderCounter : 0; i < kNumCounters; ++i) {
    out.emplace_back(kCounterNames[i], Ints(a[i], b[i]));
  }
  if (orders_only) return out;
  for (int r = 0; r < kNumRatios; ++r) {
    Pair p;
    p.a = ComputeRatio(a, static_cast<Ratio>(r));
    p.b = ComputeRatio(b, static_cast<Ratio>(r));
    out.emplace_back(kRatioNames[r], p);
  }
  const std::vector<ResponseFigure> fa = ResponseFigures(a, thresholds_s);
  const std::vector<ResponseFigure> fb = ResponseFigures(b, thresholds_s);
  for (size_t i = 0; i < fa.size(); ++i) {
    Pair p;
    p.a = fa[i].value;
    p.b = fb[i].value;
    p.integral = fa[i].whole;
    out.emplace_back(fa[i].key, p);
  }
  return out;
}

// The thresholds of either side's rules, so that a rules change that adds
// or drops one still shows both sides of it (the per-second counts answer
// any threshold).
std::vector<int64_t> DiffThresholds(const KpiDiff& d) {
  std::set<int64_t> all(d.a.snapshot.thresholds_s.begin(),
                        d.a.snapshot.thresholds_s.end());
  all.insert(d.b.snapshot.thresholds_s.begin(),
             d.b.snapshot.thresholds_s.end());
  return std::vector<int64_t>(all.begin(), all.end());
}

// Agent rows of both snapshots by agent id; an agent missing on one side
// has zero counters there.
std::map<std::string, std::pair<Counters, Counters>> JoinAgents(
    const PeriodSnapshot& a, const PeriodSnapshot& b) {
  std::map<std::string, std::pair<Counters, Counters>> rows;
  for (const AgentRow& r : a.agents) rows[r.agent].first = r.counters;
  for (const AgentRow& r : b.agents) rows[r.agent].second = r.counters;
  return rows;
}

struct ScorePairs {
  std::string agent;
  std::optional<bool> assessed_a, assessed_b;
  std::string grade_a, grade_b;
  std::vector<std::pair<std::string, Pair>> figures;  // total, rank
  std::vector<std::pair<std::string, Pair>> pay;
};

std::vector<ScorePairs> JoinScores(const ScoreReport* a, const ScoreReport* b) {
  std::map<std::string, std::pair<const AgentScore*, const AgentScore*>> by;
  if (a != nullptr) {
    for (const AgentScore& s : a->agents) by[s.agent].first = &s;
  }
  if (b != nullptr) {
    for (const AgentScore& s : b->agents) by[s.agent].second = &s;
  }
  std::vector<ScorePairs> out;
  for (const auto& [agent, sides] : by) {
    const AgentScore* sa = sides.first;
    const AgentScore* sb = sides.second;
    ScorePairs p;
    p.agent = agent;
    auto total = [](const AgentScore* s) -> std::optional<double> {
      if (s == nullptr || !s->assessed) return std::nullopt;
      return static_cast<double>(s->total_centi) / 100;
    };
    auto rank = [](const AgentScore* s) -> std::optional<int64_t> {
      if (s == nullptr || !s->assessed) return std::nullopt;
      return s->rank;
    };
    if (sa) p.assessed_a = sa->assessed;
    if (sb) p.assessed_b = sb->assessed;
    if (sa) p.grade_a = sa->grade;
    if (sb) p.grade_b = sb->grade;
    Pair t;
    t.a = total(sa);
    t.b = total(sb);
    p.figures.emplace_back("total", t);
    p.figures.emplace_back("rank", Ints(rank(sa), rank(sb)));
    const bool pays = (sa && sa->pay) || (sb && sb->pay);
    if (pays) {
      auto field = [](const AgentScore* s,
                      int64_t Pay::*f) -> std::optional<int64_t> {
        if (s == nullptr || !s->pay) return std::nullopt;
        return (*s->pay).*f;
      };
      for (auto [name, f] :
           std::initializer_list<std::pair<std::string_view, int64_t Pay::*>>{
               {"base_fen", &Pay::base_fen},
               {"personal_commission_fen", &Pay::personal_commission_fen},
               {"public_commission_fen", &Pay::public_commission_fen},
               {"awards_fen", &Pay::awards_fen},
               {"seniority_fen", &Pay::seniority_fen},
               {"total_fen", &Pay::total_fen}}) {
        p.pay.emplace_back(name, Ints(field(sa, f), field(sb, f)));
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

void AppendOptBool(std::string* out, std::optional<bool> v) {
  out->append(!v ? "null" : *v ? "true" : "false");
}

void AppendSide(std::string* out, const DiffSide& s) {
  out->append("{\"rules_version\": ");
  AppendJsonString(out, s.rules_version);
  out->append(", \"generation\": ");
  AppendJsonString(out, s.generation);
  absl::StrAppend(out, ", \"live\": ", s.live ? "true" : "false", "}");
}

void AppendPairs(std::string* out,
                 const std::vector<std::pair<std::string, Pair>>& pairs) {
  out->push_back('{');
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out->append(", ");
    AppendPair(out, pairs[i].first, pairs[i].second);
  }
  out->push_back('}');
}

std::vector<absl::CivilMonth> MonthsOf(absl::CivilDay from, absl::CivilDay to) {
  std::vector<absl::CivilMonth> months;
  for (absl::CivilMonth m(from); m <= absl::CivilMonth(to); ++m) {
    months.push_back(m);
  }
  return months;
}

void AppendCsvRow(std::string* out, std::string_view section,
                  std::string_view month, std::string_view agent,
                  std::string_view name, const std::string& a,
                  const std::string& b, const std::string& change) {
  for (std::string_view f : {section, month, agent, name}) {
    AppendCsvField(out, f);
    out->push_back(',');
  }
  for (const std::string* f : {&a, &b}) {
    AppendCsvNumber(out, *f == "null" ? "" : *f);
    out->push_back(',');
  }
  AppendCsvNumber(out, change == "null" ? "" : change);
  out->append("\r\n");
}

void AppendCsvPairs(std::string* out, std::string_view section,
                    std::string_view month, std::string_view agent,
                    const std::vector<std::pair<std::string, Pair>>& ps) {
  for (const auto& [name, p] : ps) {
    AppendCsvRow(out, section, month, agent, name, Num(p.a, p.integral),
                 Num(p.b, p.integral), Num(p.change(), p.integral));
  }
}

}  // namespace

absl::StatusOr<KpiDiff> ComputeDiff(Store& a, Store& b,
                                    const DiffRequest& req) {
  if (req.to < req.from) {
    return absl::InvalidArgumentError("--to is before --from");
  }
  KpiDiff d;
  d.from = req.from;
  d.to = req.to;
  for (auto [store, side] : {std::pair<Store*, DiffSide*>{&a, &d.a},
                             std::pair<Store*, DiffSide*>{&b, &d.b}}) {
    auto snap = ReadSnapshot(*store, req.from, req.to);
    if (!snap.ok()) return snap.status();
    side->snapshot = std::move(*snap);
    side->rules_version = side->snapshot.rules_version;
    if (req.scheme == nullptr) continue;
    d.scheme = req.scheme->name;
    for (absl::CivilMonth m : MonthsOf(req.from, req.to)) {
      auto report = ScoreMonth(*store, *req.scheme, m);
      if (!report.ok()) return report.status();
      side->months.push_back(std::move(*report));
    }
  }
  return d;
}

std::string DiffToJson(const KpiDiff& d) {
  std::string out = "{\"from\": ";
  AppendJsonString(&out, absl::FormatCivilTime(d.from));
  out.append(", \"to\": ");
  AppendJsonString(&out, absl::FormatCivilTime(d.to));
  out.append(", \"a\": ");
  AppendSide(&out, d.a);
  out.append(", \"b\": ");
  AppendSide(&out, d.b);
  out.append(",\n \"agents\": [");
  bool first = true;
  for (const auto& [agent, rows] : JoinAgents(d.a.snapshot, d.b.snapshot)) {
    out.append(first ? "\n  " : ",\n  ");
    first = false;
    out.append("{\"agent\": ");
    AppendJsonString(&out, agent);
    out.append(", \"kpis\": ");
    AppendPairs(&out,
                KpiPairs(rows.first, rows.second, false, DiffThresholds(d)));
    out.push_back('}');
  }
  out.append("],\n \"unattributed\": ");
  AppendPairs(&out, KpiPairs(d.a.snapshot.unattributed,
                             d.b.snapshot.unattributed, true));
  out.append(",\n \"team\": ");
  AppendPairs(&out, KpiPairs(TeamTotal(d.a.snapshot), TeamTotal(d.b.snapshot),
                             false, DiffThresholds(d)));
  out.append(",\n \"dead_letters\": ");
  AppendPairValue(&out,
                  Ints(d.a.snapshot.dead_letters, d.b.snapshot.dead_letters));
  out.append(",\n \"scores\": ");
  if (d.scheme.empty()) {
    out.append("null}\n");
    return out;
  }
  out.append("{\"scheme\": ");
  AppendJsonString(&out, d.scheme);
  out.append(", \"months\": [");
  for (size_t m = 0; m < d.a.months.size() && m < d.b.months.size(); ++m) {
    out.append(m ? ",\n  " : "\n  ");
    out.append("{\"month\": ");
    AppendJsonString(&out, d.a.months[m].month);
    out.append(", \"agents\": [");
    bool first_agent = true;
    for (const ScorePairs& p : JoinScores(&d.a.months[m], &d.b.months[m])) {
      out.append(first_agent ? "\n   " : ",\n   ");
      first_agent = false;
      out.append("{\"agent\": ");
      AppendJsonString(&out, p.agent);
      out.append(", \"assessed\": {\"a\": ");
      AppendOptBool(&out, p.assessed_a);
      out.append(", \"b\": ");
      AppendOptBool(&out, p.assessed_b);
      out.append("}, ");
      AppendPair(&out, p.figures[0].first, p.figures[0].second);
      out.append(", ");
      AppendPair(&out, p.figures[1].first, p.figures[1].second);
      out.append(", \"grade\": {\"a\": ");
      AppendJsonString(&out, p.grade_a);
      out.append(", \"b\": ");
      AppendJsonString(&out, p.grade_b);
      absl::StrAppend(&out, ", \"changed\": ",
                      p.grade_a != p.grade_b ? "true" : "false", "}");
      out.append(", \"pay\": ");
      if (p.pay.empty()) {
        out.append("null");
      } else {
        AppendPairs(&out, p.pay);
      }
      out.push_back('}');
    }
    out.append("]}");
  }
  out.append("]}}\n");
  return out;
}

std::string DiffToCsv(const KpiDiff& d) {
  std::string out = "\xEF\xBB\xBF";  // BOM: spreadsheets then read UTF-8
  out.append("section,month,agent,name,a,b,change\r\n");
  AppendCsvRow(&out, "rules", "", "", "rules_version", d.a.rules_version,
               d.b.rules_version, "");
  for (const auto& [agent, rows] : JoinAgents(d.a.snapshot, d.b.snapshot)) {
    AppendCsvPairs(&out, "kpi", "", agent,
                   KpiPairs(rows.first, rows.second, false, DiffThresholds(d)));
  }
  AppendCsvPairs(
      &out, "unattributed", "", "",
      KpiPairs(d.a.snapshot.unattributed, d.b.snapshot.unattributed, true));
  AppendCsvPairs(&out, "team", "", "",
                 KpiPairs(TeamTotal(d.a.snapshot), TeamTotal(d.b.snapshot),
                          false, DiffThresholds(d)));
  AppendCsvPairs(&out, "dead_letters", "", "",
                 {{"dead_letters", Ints(d.a.snapshot.dead_letters,
                                        d.b.snapshot.dead_letters)}});
  for (size_t m = 0; m < d.a.months.size() && m < d.b.months.size(); ++m) {
    const std::string& month = d.a.months[m].month;
    for (const ScorePairs& p : JoinScores(&d.a.months[m], &d.b.months[m])) {
      AppendCsvPairs(&out, "score", month, p.agent, p.figures);
      AppendCsvRow(&out, "score", month, p.agent, "grade", p.grade_a, p.grade_b,
                   "");
      AppendCsvPairs(&out, "pay", month, p.agent, p.pay);
    }
  }
  return out;
}

absl::StatusOr<KpiDiff> DiffGenerations(const std::string& db,
                                        const DiffRequest& req) {
  if (req.to < req.from) {
    return absl::InvalidArgumentError("--to is before --from");
  }
  auto a = OpenGeneration(db, req.rules_a);
  if (!a.ok()) return a.status();
  auto b = OpenGeneration(db, req.rules_b);
  if (!b.ok()) return b.status();
  auto d = ComputeDiff(*a->store, *b->store, req);
  if (!d.ok()) return d.status();
  d->a.generation = a->name;
  d->a.live = a->live;
  d->b.generation = b->name;
  d->b.live = b->live;
  return d;
}

absl::StatusOr<std::string> DiffJson(const std::string& db,
                                     const DiffRequest& req) {
  auto d = DiffGenerations(db, req);
  if (!d.ok()) return d.status();
  return DiffToJson(*d);
}

}  // namespace chatkpi

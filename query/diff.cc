#include "query/diff.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "base/number_text.h"
#include "engine/engine.h"
#include "engine/event_count.h"
#include "engine/generation_select.h"
#include "engine/meta.h"
#include "engine/rules.h"
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
    return integral ? *b - *a : RoundedChange(*a, *b);
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
  return JsonDouble(v);
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
  absl::StrAppend(
      out, ", \"live\": ", s.live ? "true" : "false",
      ", \"events\": ", s.events, ", \"switched_at_ms\": ",
      s.switched_at_ms ? absl::StrCat(*s.switched_at_ms) : "null",
      ", \"events_at_switch\": ",
      s.events_at_switch ? absl::StrCat(*s.events_at_switch) : "null", "}");
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

bool Changed(const Pair& p) {
  if (p.a.has_value() != p.b.has_value()) return true;
  if (!p.a) return false;
  return std::abs(*p.a - *p.b) > 1e-9;
}

std::optional<Pay> TeamPay(const ScoreReport& r) {
  if (!r.has_pay) return std::nullopt;
  return TeamPayTotal(r);
}

constexpr std::pair<std::string_view, int64_t Pay::*> kPayFields[] = {
    {"base_fen", &Pay::base_fen},
    {"personal_commission_fen", &Pay::personal_commission_fen},
    {"public_commission_fen", &Pay::public_commission_fen},
    {"awards_fen", &Pay::awards_fen},
    {"seniority_fen", &Pay::seniority_fen},
    {"total_fen", &Pay::total_fen}};

std::vector<std::pair<std::string, Pair>> TeamPayPairs(const ScoreReport& a,
                                                       const ScoreReport& b) {
  const std::optional<Pay> pa = TeamPay(a), pb = TeamPay(b);
  std::vector<std::pair<std::string, Pair>> out;
  if (!pa && !pb) return out;
  for (auto [name, f] : kPayFields) {
    out.emplace_back(
        name, Ints(pa ? std::optional<int64_t>((*pa).*f) : std::nullopt,
                   pb ? std::optional<int64_t>((*pb).*f) : std::nullopt));
  }
  return out;
}

// Every rule as it reads in a rules file, by key, in file order.
std::vector<std::pair<std::string, std::string>> RuleTexts(const Rules& r) {
  auto quoted = [](std::string_view v) {
    std::string out;
    AppendJsonString(&out, v);
    return out;
  };
  auto list = [&](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out.append(", ");
      out.append(quoted(v[i]));
    }
    return out + "]";
  };
  return {
      {"version", quoted(r.version)},
      {"timezone", quoted(r.timezone_name)},
      {"response.window_s", absl::StrCat(r.response_window_s)},
      {"response.slow_s", absl::StrCat(r.response_slow_s)},
      {"attribution.window_s", absl::StrCat(r.attribution_window_s)},
      {"attribution.model",
       quoted(r.attribution_model == AttributionModel::kLast ? "last"
                                                             : "first")},
      {"service.good_keywords", list(r.good_keywords)},
      {"service.bad_keywords", list(r.bad_keywords)},
      {"response.thresholds_s",
       absl::StrCat("[", absl::StrJoin(r.response_thresholds_s, ", "), "]")},
      {"service.hours", r.service_hours.has_hours
                            ? ServiceHoursJson(r.service_hours)
                            : std::string("null")},
      {"service.closed_dates", ClosedDatesJson(r.service_hours)}};
}

// The stored rules of a side; the defaults for a store without any.
std::optional<Rules> SideRules(const DiffSide& s) {
  auto r = s.rules_json.empty() ? DefaultRules() : ParseRules(s.rules_json);
  if (!r.ok()) return std::nullopt;
  return std::move(*r);
}

// --- the manager's report ---

enum class Kind { kCount, kMoneyFen, kYuan, kRate, kSeconds, kPoints, kHidden };

Kind KindOf(std::string_view name) {
  if (name.ends_with("_ms_sum")) return Kind::kHidden;
  if (name.ends_with("_fen")) return Kind::kMoneyFen;
  if (name == "avg_order_value") return Kind::kYuan;
  if (name == "avg_response_s" || name == "avg_first_response_s") {
    return Kind::kSeconds;
  }
  if (name == "total") return Kind::kPoints;
  // reply_rate, response_rate_180s, first_response_rate_30s, ...
  if (name.ends_with("_rate") ||
      name.find("_rate_") != std::string_view::npos) {
    return Kind::kRate;
  }
  // median_response_s, p90_first_response_s, ...
  if (name.ends_with("_response_s")) return Kind::kSeconds;
  return Kind::kCount;
}

// 1234567 -> "1,234,567".
std::string Grouped(int64_t v) {
  std::string digits = absl::StrCat(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

std::string Yuan(int64_t fen) {
  const int64_t a = fen < 0 ? -fen : fen;
  return absl::StrCat(fen < 0 ? "-" : "", "¥", Grouped(a / 100), ".",
                      absl::StrFormat("%02d", a % 100));
}

std::string Value(std::optional<double> v, Kind k, bool zh) {
  if (!v) return "—";
  switch (k) {
    case Kind::kMoneyFen:
      return Yuan(std::llround(*v));
    case Kind::kYuan:
      return Yuan(std::llround(*v * 100));
    case Kind::kRate:
      return absl::StrFormat("%.1f%%", *v * 100);
    case Kind::kSeconds:
      return zh ? absl::StrFormat("%.1f秒", *v) : absl::StrFormat("%.1f s", *v);
    case Kind::kPoints:
      return absl::StrFormat("%.2f", *v);
    default:
      return Grouped(std::llround(*v));
  }
}

std::string Change(const Pair& p, Kind k, bool zh) {
  if (!p.a || !p.b) return "";
  const double d = *p.b - *p.a;
  const char* sign = d > 0 ? "+" : d < 0 ? "-" : "±";
  const double m = std::abs(d);
  switch (k) {
    case Kind::kMoneyFen:
      return absl::StrCat(sign, Yuan(std::llround(m)));
    case Kind::kYuan:
      return absl::StrCat(sign, Yuan(std::llround(m * 100)));
    case Kind::kRate:
      return zh ? absl::StrFormat("%s%.1f个百分点", sign, m * 100)
                : absl::StrFormat("%s%.1f pt", sign, m * 100);
    case Kind::kSeconds:
      return zh ? absl::StrFormat("%s%.1f秒", sign, m)
                : absl::StrFormat("%s%.1f s", sign, m);
    case Kind::kPoints:
      return absl::StrFormat("%s%.2f", sign, m);
    default:
      return absl::StrCat(sign, Grouped(std::llround(m)));
  }
}

// Columns a terminal gives `s`: two for each non-ASCII character (CJK
// labels), one for ASCII.
size_t DisplayWidth(std::string_view s) {
  size_t w = 0;
  for (unsigned char c : s) {
    if (c < 0x80) {
      ++w;
    } else if (c >= 0xC0) {
      w += 2;  // a lead byte: one wide character
    }
  }
  return w;
}

// `s` padded with spaces to `width` display columns.
std::string PadTo(std::string s, size_t width) {
  const size_t w = DisplayWidth(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

// The figure's name for people: the snapshot's column title without its
// unit (the report writes units with the values).
std::string Label(std::string_view name, bool zh, bool keep_unit = false) {
  const ColumnLanguage lang =
      zh ? ColumnLanguage::kChinese : ColumnLanguage::kEnglish;
  std::string title(name);
  for (int i = 0; i < kNumCounters; ++i) {
    if (kCounterNames[i] == name) {
      title = std::string(CounterTitle(static_cast<Counter>(i), lang));
    }
  }
  for (int r = 0; r < kNumRatios; ++r) {
    if (kRatioNames[r] == name) {
      title = std::string(RatioTitle(static_cast<Ratio>(r), lang));
    }
  }
  static const std::map<std::string_view, std::pair<const char*, const char*>>
      kOther = {
          {"base_fen", {"base pay", "岗位工资"}},
          {"personal_commission_fen", {"personal commission", "个人绩效提成"}},
          {"public_commission_fen", {"public commission", "公共绩效提成"}},
          {"awards_fen", {"awards", "奖励"}},
          {"seniority_fen", {"seniority pay", "工龄工资"}},
          {"total_fen", {"pay", "当月工资"}},
          {"total", {"score", "总分"}},
          {"rank", {"rank", "排名"}},
          {"grade", {"grade", "等级"}},
          {"dead_letters", {"dead letters", "死信"}}};
  if (auto it = kOther.find(name); it != kOther.end()) {
    title = zh ? it->second.second : it->second.first;
  }
  if (const size_t paren = title.find('(');
      !keep_unit && paren != std::string::npos) {
    title.resize(paren);
  }
  if (!zh && !keep_unit) {
    if (title.ends_with("_fen")) title.resize(title.size() - 4);
    absl::StrReplaceAll({{"_", " "}}, &title);
  }
  return title;
}

void AppendReportRows(std::string* out,
                      const std::vector<std::pair<std::string, Pair>>& pairs,
                      const DiffView& view, const std::string& indent) {
  const bool zh = view.lang == ColumnLanguage::kChinese;
  for (const auto& [name, p] : pairs) {
    const Kind k = KindOf(name);
    if (k == Kind::kHidden || (!view.all && !Changed(p))) continue;
    const std::string line =
        PadTo(absl::StrCat(indent, Label(name, zh)), indent.size() + 24);
    absl::StrAppend(out, line, " ", Value(p.a, k, zh), " → ",
                    Value(p.b, k, zh));
    const std::string change = Change(p, k, zh);
    if (!change.empty()) absl::StrAppend(out, "  (", change, ")");
    out->push_back('\n');
  }
}

std::string LocalTime(int64_t ms, const DiffSide& s) {
  auto rules = SideRules(s);
  const absl::TimeZone tz = rules ? rules->timezone : absl::UTCTimeZone();
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", absl::FromUnixMillis(ms), tz);
}

std::string SideLine(const DiffSide& s, bool zh) {
  std::string out = absl::StrCat(
      s.rules_version, " (",
      s.live ? (zh ? "当前" : "live") : (zh ? "保留的旧版本" : "kept"),
      s.generation.empty() ? "" : absl::StrCat(", ", s.generation),
      "): ", Grouped(s.events), zh ? " 条事件" : " events");
  if (s.switched_at_ms) {
    absl::StrAppend(&out, zh ? "，切换于 " : "; replaced at ",
                    LocalTime(*s.switched_at_ms, s));
    if (s.events_at_switch) {
      absl::StrAppend(&out, zh ? "，当时 " : " with ",
                      Grouped(*s.events_at_switch), zh ? " 条事件" : " events");
    }
  }
  return out;
}

}  // namespace

std::vector<RuleChange> RuleChanges(const KpiDiff& d) {
  std::vector<RuleChange> out;
  auto a = SideRules(d.a), b = SideRules(d.b);
  if (!a || !b) return out;
  auto ta = RuleTexts(*a), tb = RuleTexts(*b);
  for (size_t i = 0; i < ta.size(); ++i) {
    if (ta[i].second != tb[i].second) {
      out.push_back({ta[i].first, ta[i].second, tb[i].second});
    }
  }
  return out;
}

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
    auto rules = ReadStoredRulesRecord(*store);
    if (!rules.ok()) return rules.status();
    if (rules->has_value()) side->rules_json = (*rules)->json;
    auto events = EventsHeld(*store);
    if (!events.ok()) return events.status();
    side->events = *events;
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
  const std::vector<int64_t> thresholds = DiffThresholds(d);
  std::string out = "{\"from\": ";
  AppendJsonString(&out, absl::FormatCivilTime(d.from));
  out.append(", \"to\": ");
  AppendJsonString(&out, absl::FormatCivilTime(d.to));
  out.append(", \"a\": ");
  AppendSide(&out, d.a);
  out.append(", \"b\": ");
  AppendSide(&out, d.b);
  out.append(",\n \"rule_changes\": [");
  bool first = true;
  for (const RuleChange& c : RuleChanges(d)) {
    out.append(first ? "" : ", ");
    first = false;
    out.append("{\"rule\": ");
    AppendJsonString(&out, c.rule);
    out.append(", \"a\": ");
    AppendJsonString(&out, c.a);
    out.append(", \"b\": ");
    AppendJsonString(&out, c.b);
    out.push_back('}');
  }
  out.append("],\n \"agents\": [");
  first = true;
  for (const auto& [agent, rows] : JoinAgents(d.a.snapshot, d.b.snapshot)) {
    out.append(first ? "\n  " : ",\n  ");
    first = false;
    out.append("{\"agent\": ");
    AppendJsonString(&out, agent);
    out.append(", \"kpis\": ");
    AppendPairs(&out, KpiPairs(rows.first, rows.second, false, thresholds));
    out.push_back('}');
  }
  out.append("],\n \"unattributed\": ");
  AppendPairs(&out, KpiPairs(d.a.snapshot.unattributed,
                             d.b.snapshot.unattributed, true));
  out.append(",\n \"team\": ");
  AppendPairs(
      &out, KpiPairs(d.a.snapshot.team, d.b.snapshot.team, false, thresholds));
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
    out.append("], \"team_pay\": ");
    const auto team_pay = TeamPayPairs(d.a.months[m], d.b.months[m]);
    if (team_pay.empty()) {
      out.append("null");
    } else {
      AppendPairs(&out, team_pay);
    }
    out.append("}");
  }
  out.append("]}}\n");
  return out;
}

std::string DiffToCsv(const KpiDiff& d, const DiffView& view) {
  const std::vector<int64_t> thresholds = DiffThresholds(d);
  const bool zh = view.lang == ColumnLanguage::kChinese;
  std::string out = "\xEF\xBB\xBF";  // BOM: spreadsheets then read UTF-8
  out.append(zh ? "部分,月份,客服,指标,A,B,变化\r\n"
                : "section,month,agent,name,a,b,change\r\n");
  auto name = [&](std::string_view n) {
    return zh ? Label(n, true, /*keep_unit=*/true) : std::string(n);
  };
  auto pairs = [&](std::string_view section, std::string_view month,
                   std::string_view agent,
                   const std::vector<std::pair<std::string, Pair>>& ps) {
    for (const auto& [n, p] : ps) {
      if (!view.all && !Changed(p)) continue;
      AppendCsvRow(&out, section, month, agent, name(n), Num(p.a, p.integral),
                   Num(p.b, p.integral), Num(p.change(), p.integral));
    }
  };
  AppendCsvRow(&out, "rules", "", "", "rules_version", d.a.rules_version,
               d.b.rules_version, "");
  for (const RuleChange& c : RuleChanges(d)) {
    if (c.rule == "version") continue;
    AppendCsvRow(&out, "rules", "", "", c.rule, c.a, c.b, "");
  }
  AppendCsvRow(&out, "generation", "", "", "events", absl::StrCat(d.a.events),
               absl::StrCat(d.b.events), "");
  pairs("team", "", "",
        KpiPairs(d.a.snapshot.team, d.b.snapshot.team, false, thresholds));
  for (const auto& [agent, rows] : JoinAgents(d.a.snapshot, d.b.snapshot)) {
    pairs("kpi", "", agent,
          KpiPairs(rows.first, rows.second, false, thresholds));
  }
  pairs("unattributed", "", "",
        KpiPairs(d.a.snapshot.unattributed, d.b.snapshot.unattributed, true));
  pairs("dead_letters", "", "",
        {{"dead_letters",
          Ints(d.a.snapshot.dead_letters, d.b.snapshot.dead_letters)}});
  for (size_t m = 0; m < d.a.months.size() && m < d.b.months.size(); ++m) {
    const std::string& month = d.a.months[m].month;
    pairs("team_pay", month, "", TeamPayPairs(d.a.months[m], d.b.months[m]));
    for (const ScorePairs& p : JoinScores(&d.a.months[m], &d.b.months[m])) {
      pairs("score", month, p.agent, p.figures);
      if (view.all || p.grade_a != p.grade_b) {
        AppendCsvRow(&out, "score", month, p.agent, name("grade"), p.grade_a,
                     p.grade_b, "");
      }
      pairs("pay", month, p.agent, p.pay);
    }
  }
  return out;
}

std::string DiffToReport(const KpiDiff& d, const DiffView& view) {
  const std::vector<int64_t> thresholds = DiffThresholds(d);
  const bool zh = view.lang == ColumnLanguage::kChinese;
  const std::string period =
      absl::StrCat(absl::FormatCivilTime(d.from), zh ? " 至 " : " to ",
                   absl::FormatCivilTime(d.to));
  std::string out = absl::StrCat(zh ? "规则对比 " : "Rules comparison, ",
                                 period, "\n  A: ", SideLine(d.a, zh),
                                 "\n  B: ", SideLine(d.b, zh), "\n");
  if (d.a.switched_at_ms || d.b.switched_at_ms) {
    out.append(zh ? "  "
                    "注意：保留的旧版本在切换后不再接收事件，切换后的事件只计入"
                    "当前版本，"
                    "不是规则的影响。\n"
                  : "  Note: a kept generation took no events after its "
                    "switch; figures of later events show on the live side "
                    "only and are not effects of the rules.\n");
  }
  out.append(zh ? "\n规则变化:\n" : "\nRule changes:\n");
  bool any_rule = false;
  for (const RuleChange& c : RuleChanges(d)) {
    if (c.rule == "version") continue;
    any_rule = true;
    absl::StrAppend(&out, "  ", c.rule, ": ", c.a, " → ", c.b, "\n");
  }
  if (!any_rule) out.append(zh ? "  (无)\n" : "  (none)\n");

  absl::StrAppend(&out, zh ? "\n团队合计" : "\nTeam totals",
                  view.all ? "" : (zh ? "（仅变化项）" : " (changed figures)"),
                  ":\n");
  std::string team;
  AppendReportRows(
      &team, KpiPairs(d.a.snapshot.team, d.b.snapshot.team, false, thresholds),
      view, "  ");
  AppendReportRows(&team,
                   {{"dead_letters", Ints(d.a.snapshot.dead_letters,
                                          d.b.snapshot.dead_letters)}},
                   view, "  ");
  for (size_t m = 0; m < d.a.months.size() && m < d.b.months.size(); ++m) {
    std::string pay;
    AppendReportRows(&pay, TeamPayPairs(d.a.months[m], d.b.months[m]), view,
                     "    ");
    if (!pay.empty()) {
      absl::StrAppend(&team, "  ", zh ? "工资 " : "pay, ", d.a.months[m].month,
                      " (", d.scheme, "):\n", pay);
    }
  }
  out.append(team.empty() ? (zh ? "  (无变化)\n" : "  (no change)\n") : team);

  absl::StrAppend(&out, zh ? "\n客服" : "\nAgents",
                  view.all ? "" : (zh ? "（仅变化项）" : " (changed figures)"),
                  ":\n");
  // Each agent's section: KPIs of the period, then each month's score,
  // grade and pay.
  std::map<std::string, std::string> sections;
  for (const auto& [agent, rows] : JoinAgents(d.a.snapshot, d.b.snapshot)) {
    AppendReportRows(&sections[agent],
                     KpiPairs(rows.first, rows.second, false, thresholds), view,
                     "    ");
  }
  for (size_t m = 0; m < d.a.months.size() && m < d.b.months.size(); ++m) {
    for (const ScorePairs& p : JoinScores(&d.a.months[m], &d.b.months[m])) {
      std::string rows;
      AppendReportRows(&rows, p.figures, view, "      ");
      if (view.all || p.grade_a != p.grade_b) {
        const std::string line =
            PadTo(absl::StrCat("      ", Label("grade", zh)), 30);
        absl::StrAppend(&rows, line, " ", p.grade_a.empty() ? "—" : p.grade_a,
                        " → ", p.grade_b.empty() ? "—" : p.grade_b, "\n");
      }
      AppendReportRows(&rows, p.pay, view, "      ");
      if (!rows.empty()) {
        absl::StrAppend(&sections[p.agent], "    ", d.a.months[m].month, " (",
                        d.scheme, "):\n", rows);
      }
    }
  }
  bool any_agent = false;
  for (const auto& [agent, text] : sections) {
    if (text.empty()) continue;
    any_agent = true;
    absl::StrAppend(&out, "  ", agent.empty() ? "-" : agent, "\n", text);
  }
  if (!any_agent) out.append(zh ? "  (无变化)\n" : "  (no change)\n");
  if (!view.all) {
    out.append(zh ? "\n未变化的指标已省略；--all 显示全部。\n"
                  : "\nUnchanged figures are left out; --all shows every "
                    "figure.\n");
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
  // A kept side's switch, as recorded in the live generation by replay.
  if (!a->live || !b->live) {
    Store* live = a->live ? a->store.get() : b->live ? b->store.get() : nullptr;
    std::optional<SelectedGeneration> opened;
    if (live == nullptr) {
      auto g = OpenGeneration(db, "");
      if (!g.ok()) return g.status();
      opened = std::move(*g);
      live = opened->store.get();
    }
    for (DiffSide* side : {&d->a, &d->b}) {
      if (side->live || side->generation.empty()) continue;
      auto record = ReadReplacedRecord(*live, side->generation);
      if (!record.ok()) return record.status();
      if (!record->has_value()) continue;
      side->switched_at_ms = (*record)->switched_at_ms;
      side->events_at_switch = (*record)->events;
    }
  }
  return d;
}

absl::StatusOr<std::string> DiffJson(const std::string& db,
                                     const DiffRequest& req) {
  auto d = DiffGenerations(db, req);
  if (!d.ok()) return d.status();
  return DiffToJson(*d);
}

}  // namespace chatkpi

#include "query/scheme.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "base/number_text.h"
#include "config/toml_document.h"
#include "engine/counters.h"
#include "query/response_figures.h"

namespace chatkpi {
namespace {

// Assessment metrics an item may score directly. Anything else must be
// written `assessment.NAME`, so that a misspelt known name is still caught.
constexpr absl::string_view kAssessmentMetrics[] = {
    "execution", "followup", "self",           "supervisor",
    "sets_sold", "listings", "listing_errors", "sales_target"};

// One setting. Both syntaxes end up here: TOML values as their text, with
// the TOML type kept so that a quoted number or an unquoted word is refused.
struct Entry {
  enum class Type { kUntyped, kString, kNumber, kBoolean };
  std::string key;
  std::string value;
  int line = 0;
  int value_column = 0;        // TOML only
  Type type = Type::kUntyped;  // kUntyped: the old syntax
};

struct Section {
  std::string kind;  // "" for the keys before the first section
  std::string id;
  int line = 0;
  std::vector<Entry> entries;
};

class Parser {
 public:
  Parser(absl::string_view source, bool toml) : source_(source), toml_(toml) {}

  // TOML: "SOURCE:LINE:COLUMN: msg", the column of the line's first key or
  // table header. The old syntax: "SOURCE line LINE: msg", as it always was.
  absl::Status Error(int line, absl::string_view msg) const {
    if (toml_) {
      auto it = columns_.find(line);
      return Error(line, it == columns_.end() ? 1 : it->second, msg);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source_, " line ", line, ": ", msg));
  }
  // About an entry's value: in TOML at the value's own column.
  absl::Status Error(const Entry& e, absl::string_view msg) const {
    return toml_ ? Error(e.line, e.value_column, msg) : Error(e.line, msg);
  }
  absl::Status Error(int line, int column, absl::string_view msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", line, ":", column, ": ", msg));
  }

  absl::StatusOr<Scheme> ParseLegacy(absl::string_view text);
  absl::StatusOr<Scheme> ParseToml(const TomlDocument& doc);

 private:
  absl::StatusOr<Scheme> Parse(const std::vector<Section>& sections);
  absl::StatusOr<std::vector<Section>> Split(absl::string_view text);
  absl::StatusOr<std::vector<Section>> FromToml(const TomlDocument& doc);
  absl::Status CheckType(const Entry& e) const;
  absl::Status TopLevel(const Section& s, Scheme& out, int& total_line);
  absl::Status Item(const Section& s, Scheme& out);
  absl::Status Grading(const Section& s, Scheme& out);
  absl::Status Grade(const Section& s, Scheme& out);
  absl::Status Quota(const Section& s, Scheme& out);
  absl::Status Commission(const Section& s, Scheme& out);
  absl::Status Awards(const Section& s, Scheme& out);
  absl::Status Validate(Scheme& out, int total_line, int awards_line);

  // Keys of a section, refusing unknown and repeated ones (unless listed in
  // `repeatable`) and those marked required but missing.
  absl::StatusOr<std::map<std::string, const Entry*>> Keys(
      const Section& s, std::set<absl::string_view> allowed,
      std::set<absl::string_view> required,
      std::set<absl::string_view> repeatable = {});

  absl::StatusOr<int64_t> Fixed(const Entry& e, int decimals) const;
  absl::StatusOr<int64_t> Fixed(absl::string_view text, int decimals,
                                const Entry& at, absl::string_view what) const;
  absl::StatusOr<int64_t> Percent(absl::string_view text, const Entry& at,
                                  absl::string_view what) const;
  // A Percent of at most 100%: a commission rate.
  absl::StatusOr<int64_t> CommissionRate(absl::string_view text,
                                         const Entry& at,
                                         absl::string_view what) const;
  absl::StatusOr<double> Number(const Entry& e) const;
  absl::StatusOr<int> Count(const Entry& e, int min) const;

  std::string source_;
  bool toml_;
  std::map<int, int> columns_;  // TOML: line -> its first key's column
};

bool IsIdentifier(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::vector<Section>> Parser::Split(absl::string_view text) {
  // A shop editing on Windows may save with a BOM and CRLF line ends.
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  std::vector<Section> sections(1);
  sections[0].line = 1;  // keys before any section; named by line 1
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = raw;
    if (size_t hash = line.find('#'); hash != line.npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') return Error(line_no, "section header lacks ']'");
      absl::string_view inner =
          absl::StripAsciiWhitespace(line.substr(1, line.size() - 2));
      std::vector<absl::string_view> parts =
          absl::StrSplit(inner, ' ', absl::SkipEmpty());
      if (parts.empty() || parts.size() > 2) {
        return Error(line_no, "a section header is [kind] or [kind id]");
      }
      Section s;
      s.kind = std::string(parts[0]);
      s.id = parts.size() == 2 ? std::string(parts[1]) : "";
      s.line = line_no;
      const bool needs_id = s.kind == "item" || s.kind == "grade";
      const bool known = needs_id || s.kind == "grading" || s.kind == "quota" ||
                         s.kind == "commission" || s.kind == "awards";
      if (!known) {
        return Error(line_no, absl::StrCat("unknown section [", s.kind, "]"));
      }
      if (needs_id && !IsIdentifier(s.id)) {
        return Error(
            line_no,
            absl::StrCat("[", s.kind, " ID] needs an id of a-z, 0-9 and _"));
      }
      if (!needs_id && !s.id.empty()) {
        return Error(line_no, absl::StrCat("[", s.kind, "] takes no id"));
      }
      for (const Section& prev : sections) {
        if (prev.kind == s.kind && prev.id == s.id) {
          return Error(line_no, absl::StrCat("section repeats the one on line ",
                                             prev.line));
        }
      }
      sections.push_back(std::move(s));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == line.npos) return Error(line_no, "expected 'key = value'");
    Entry e;
    e.key = std::string(absl::StripAsciiWhitespace(line.substr(0, eq)));
    e.value = std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    e.line = line_no;
    if (e.key.empty()) return Error(line_no, "empty key");
    if (e.value.empty()) {
      return Error(line_no, absl::StrCat("'", e.key, "' has no value"));
    }
    sections.back().entries.push_back(std::move(e));
  }
  return sections;
}

}  // namespace

SchemeValueKind SchemeKeyValueKind(std::string_view key) {
  // The keys of every section by what their values are.
  constexpr std::string_view kTextKeys[] = {
      "name",       "title",           "metric",     "curve",   "job_level",
      "training",   "promotion",       "reference",  "bracket", "growth",
      "best_share", "excellent_share", "public_rate"};
  constexpr std::string_view kNumberOrWordKeys[] = {"absence_limit_days",
                                                    "target", "cap"};
  auto in = [&](const auto& keys) {
    return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
  };
  if (in(kTextKeys)) return SchemeValueKind::kText;
  if (in(kNumberOrWordKeys)) return SchemeValueKind::kNumberOrWord;
  return SchemeValueKind::kNumber;
}

namespace {

// In TOML a text is a quoted string and a number is unquoted; the old syntax
// has no types.
absl::Status Parser::CheckType(const Entry& e) const {
  if (e.type == Entry::Type::kUntyped) return absl::OkStatus();
  const SchemeValueKind kind =
      SchemeKeyValueKind(std::string_view(e.key.data(), e.key.size()));
  if (kind == SchemeValueKind::kText) {
    if (e.type != Entry::Type::kString) {
      return Error(e.line, e.value_column,
                   absl::StrCat("'", e.key, "' must be a string in quotes"));
    }
    if (e.value.empty()) {
      return Error(e.line, e.value_column,
                   absl::StrCat("'", e.key, "' is empty"));
    }
    return absl::OkStatus();
  }
  if (kind == SchemeValueKind::kNumberOrWord &&
      e.type == Entry::Type::kString) {
    const bool word =
        e.key == "target" ? absl::StartsWith(e.value, "@") : e.value == "none";
    if (word) return absl::OkStatus();
    return Error(
        e.line, e.value_column,
        absl::StrCat("'", e.key, "' must be a number without quotes",
                     e.key == "target" ? " or \"@metric\"" : " or \"none\""));
  }
  if (e.type != Entry::Type::kNumber) {
    return Error(e.line, e.value_column,
                 absl::StrCat("'", e.key, "' must be a number without quotes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, const Entry*>> Parser::Keys(
    const Section& s, std::set<absl::string_view> allowed,
    std::set<absl::string_view> required,
    std::set<absl::string_view> repeatable) {
  std::map<std::string, const Entry*> keys;
  const std::string where =
      s.kind.empty()
          ? std::string("at the top of the file")
          : absl::StrCat("in [", s.kind,
                         s.id.empty() ? "" : (toml_ ? "." : " ") + s.id, "]");
  for (const Entry& e : s.entries) {
    if (!allowed.contains(e.key) && !repeatable.contains(e.key)) {
      return Error(e.line, absl::StrCat("unknown key '", e.key, "' ", where));
    }
    if (absl::Status st = CheckType(e); !st.ok()) return st;
    if (repeatable.contains(e.key)) continue;
    auto [it, inserted] = keys.emplace(e.key, &e);
    if (!inserted) {
      return Error(e.line, absl::StrCat("'", e.key, "' repeats line ",
                                        it->second->line));
    }
  }
  for (absl::string_view k : required) {
    if (!keys.contains(std::string(k))) {
      return Error(s.line, absl::StrCat("missing '", k, "' ", where));
    }
  }
  return keys;
}

// Exact decimal with at most `decimals` fractional digits, scaled to an
// integer: Fixed("14999.99", 2) = 1499999. Money never goes through a float.
absl::StatusOr<int64_t> Parser::Fixed(absl::string_view text, int decimals,
                                      const Entry& at,
                                      absl::string_view what) const {
  auto bad = [&] {
    return Error(at, absl::StrCat(what, " '", text,
                                  "' is not a number >= 0 with at most ",
                                  decimals, " decimals"));
  };
  absl::string_view whole = text, frac;
  if (size_t dot = text.find('.'); dot != text.npos) {
    whole = text.substr(0, dot);
    frac = text.substr(dot + 1);
    if (frac.empty()) return bad();
  }
  if (whole.empty() || whole.size() > 13 ||
      static_cast<int>(frac.size()) > decimals) {
    return bad();
  }
  int64_t v = 0;
  for (char c : whole) {
    if (!absl::ascii_isdigit(c)) return bad();
    v = v * 10 + (c - '0');
  }
  for (int i = 0; i < decimals; ++i) {
    char c = i < static_cast<int>(frac.size()) ? frac[i] : '0';
    if (!absl::ascii_isdigit(c)) return bad();
    v = v * 10 + (c - '0');
  }
  return v;
}

absl::StatusOr<int64_t> Parser::Fixed(const Entry& e, int decimals) const {
  return Fixed(e.value, decimals, e, e.key);
}

// "1.5%" -> 15000 parts per million.
absl::StatusOr<int64_t> Parser::Percent(absl::string_view text, const Entry& at,
                                        absl::string_view what) const {
  if (!absl::ConsumeSuffix(&text, "%")) {
    return Error(at, absl::StrCat(what, " '", text,
                                  "' must be a percentage such as 1.5%"));
  }
  return Fixed(absl::StripAsciiWhitespace(text), 4, at, what);
}

absl::StatusOr<int64_t> Parser::CommissionRate(absl::string_view text,
                                               const Entry& at,
                                               absl::string_view what) const {
  auto r = Percent(text, at, what);
  if (r.ok() && *r > 1'000'000) {
    return Error(at, absl::StrCat(what, " '", text,
                                  "' is over 100%: a commission is a share "
                                  "of the sales"));
  }
  return r;
}

absl::StatusOr<double> Parser::Number(const Entry& e) const {
  double v;
  if (!absl::SimpleAtod(e.value, &v) || !std::isfinite(v)) {
    return Error(e, absl::StrCat(e.key, " '", e.value, "' is not a number"));
  }
  return v;
}

absl::StatusOr<int> Parser::Count(const Entry& e, int min) const {
  int v;
  if (!absl::SimpleAtoi(e.value, &v) || v < min || v > 1000) {
    return Error(e, absl::StrCat(e.key, " '", e.value,
                                 "' must be a whole number >= ", min));
  }
  return v;
}

absl::StatusOr<MetricRef> ResolveMetric(absl::string_view text);

absl::Status Parser::TopLevel(const Section& s, Scheme& out, int& total_line) {
  // absence_limit_days is required so that leaving it out cannot switch
  // the rule off unnoticed; `none` does that on purpose.
  auto keys =
      Keys(s, {"name", "total_weight", "absence_limit_days", "reference"},
           {"name", "total_weight", "absence_limit_days"});
  if (!keys.ok()) return keys.status();
  const Entry& name = *keys->at("name");
  if (!IsIdentifier(name.value)) {
    return Error(name, "name must be of a-z, 0-9 and _");
  }
  out.name = name.value;
  const Entry& total = *keys->at("total_weight");
  auto tw = Fixed(total, 2);
  if (!tw.ok()) return tw.status();
  out.total_weight_centi = *tw;
  total_line = total.line;
  if (auto it = keys->find("absence_limit_days");
      it != keys->end() && it->second->value != "none") {
    auto days = Count(*it->second, 0);
    if (!days.ok()) return days.status();
    out.absence_limit_days = *days;
  }
  if (auto it = keys->find("reference"); it != keys->end()) {
    for (absl::string_view name : absl::StrSplit(
             it->second->value, absl::ByAnyChar(", "), absl::SkipEmpty())) {
      auto m = ResolveMetric(name);
      if (!m.ok() || m->kind != MetricRef::Kind::kAssessment) {
        return Error(
            *it->second,
            absl::StrCat("reference '", name, "' is not an assessment metric"));
      }
      out.reference.push_back(m->assessment);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MetricRef> ResolveMetric(absl::string_view text) {
  MetricRef m;
  m.text = std::string(text);
  auto eq = [&](std::string_view name) {
    return absl::string_view(name.data(), name.size()) == text;
  };
  for (int i = 0; i < kNumCounters; ++i) {
    if (eq(kCounterNames[i])) {
      m.kind = MetricRef::Kind::kCounter;
      m.index = i;
      return m;
    }
  }
  for (int i = 0; i < kNumRatios; ++i) {
    if (eq(kRatioNames[i])) {
      m.kind = MetricRef::Kind::kRatio;
      m.index = i;
      return m;
    }
  }
  if (ParseResponseFigureName(std::string_view(text.data(), text.size()))) {
    m.kind = MetricRef::Kind::kResponseFigure;
    return m;
  }
  if (text == "net_sales") {
    m.kind = MetricRef::Kind::kNetSales;
    return m;
  }
  if (text == "listing_accuracy") {
    m.kind = MetricRef::Kind::kListingAccuracy;
    return m;
  }
  absl::string_view name = text;
  bool custom = absl::ConsumePrefix(&name, "assessment.");
  if ((custom && IsIdentifier(name)) ||
      (!custom &&
       std::find(std::begin(kAssessmentMetrics), std::end(kAssessmentMetrics),
                 name) != std::end(kAssessmentMetrics))) {
    m.kind = MetricRef::Kind::kAssessment;
    // A shop's own mark is stored under its whole name, as `chatkpi assess`
    // and assessment events give it (docs/scoring.md, "Assessment inputs").
    m.assessment = std::string(custom ? text : name);
    return m;
  }
  return absl::NotFoundError(text);
}

absl::Status Parser::Item(const Section& s, Scheme& out) {
  auto keys = Keys(s,
                   {"title", "metric", "weight", "curve", "target", "cap",
                    "full_at", "zero_at", "per_unit"},
                   {"metric", "weight", "curve"});
  if (!keys.ok()) return keys.status();
  auto has = [&](const char* k) { return keys->contains(k); };
  SchemeItem item;
  item.name = s.id;
  item.title = has("title") ? keys->at("title")->value : s.id;
  item.line = s.line;

  const Entry& metric = *keys->at("metric");
  auto m = ResolveMetric(metric.value);
  if (!m.ok()) {
    return Error(metric, absl::StrCat("unknown metric '", metric.value,
                                      "' (see docs/scoring.md for the list)"));
  }
  item.metric = *m;

  auto w = Fixed(*keys->at("weight"), 2);
  if (!w.ok()) return w.status();
  item.weight_centi = *w;

  const Entry& curve = *keys->at("curve");
  std::set<absl::string_view> applies;
  if (curve.value == "ratio") {
    item.curve = Curve::kRatio;
    applies = {"target", "cap"};
    if (!has("target")) return Error(s.line, "curve ratio needs a target");
    item.cap = 1.0;  // the plans score "min(actual / target, 1)"
  } else if (curve.value == "linear") {
    item.curve = Curve::kLinear;
    applies = {"full_at", "zero_at"};
    if (!has("full_at") || !has("zero_at")) {
      return Error(s.line, "curve linear needs full_at and zero_at");
    }
  } else if (curve.value == "manual") {
    item.curve = Curve::kManual;
  } else if (curve.value == "per_unit") {
    item.curve = Curve::kPerUnit;
    applies = {"per_unit", "target", "cap"};
    if (!has("per_unit")) return Error(s.line, "curve per_unit needs per_unit");
  } else {
    return Error(curve, absl::StrCat("unknown curve '", curve.value,
                                     "' (ratio, linear, manual or per_unit)"));
  }
  for (const char* k : {"target", "cap", "full_at", "zero_at", "per_unit"}) {
    if (has(k) && !applies.contains(k)) {
      return Error(
          keys->at(k)->line,
          absl::StrCat("'", k, "' does not apply to curve ", curve.value));
    }
  }

  if (has("target")) {
    const Entry& t = *keys->at("target");
    if (t.value.front() == '@') {
      auto tm = ResolveMetric(absl::string_view(t.value).substr(1));
      if (!tm.ok() || tm->kind != MetricRef::Kind::kAssessment) {
        return Error(t, absl::StrCat("unknown target metric '", t.value,
                                     "' (an assessment metric)"));
      }
      item.target_assessment = tm->assessment;
    } else {
      auto v = Number(t);
      if (!v.ok()) return v.status();
      if (*v <= 0) return Error(t, "target must be > 0");
      item.target = *v;
    }
  }
  if (has("cap")) {
    const Entry& c = *keys->at("cap");
    if (c.value == "none") {
      item.cap.reset();
    } else {
      auto v = Number(c);
      if (!v.ok()) return v.status();
      if (*v <= 0) return Error(c, "cap must be > 0 or 'none'");
      item.cap = *v;
    }
  }
  if (item.curve == Curve::kLinear) {
    auto full = Number(*keys->at("full_at"));
    if (!full.ok()) return full.status();
    auto zero = Number(*keys->at("zero_at"));
    if (!zero.ok()) return zero.status();
    if (*full == *zero) {
      return Error(*keys->at("zero_at"), "zero_at must differ from full_at");
    }
    item.full_at = *full;
    item.zero_at = *zero;
  }
  if (item.curve == Curve::kPerUnit) {
    auto pu = Number(*keys->at("per_unit"));
    if (!pu.ok()) return pu.status();
    if (*pu <= 0) return Error(*keys->at("per_unit"), "per_unit must be > 0");
    item.per_unit = *pu;
  }
  for (const SchemeItem& prev : out.items) {
    if (prev.name == item.name) {
      return Error(s.line, absl::StrCat("item '", item.name, "' repeats line ",
                                        prev.line));
    }
  }
  out.items.push_back(std::move(item));
  return absl::OkStatus();
}

absl::Status Parser::Grading(const Section& s, Scheme& out) {
  auto keys = Keys(s,
                   {"consecutive", "warning_below", "dismissal_after",
                    "leave_below", "leave_after"},
                   {});
  if (!keys.ok()) return keys.status();
  if (auto it = keys->find("consecutive"); it != keys->end()) {
    auto v = Count(*it->second, 1);
    if (!v.ok()) return v.status();
    out.consecutive = *v;
  }
  for (auto [below, after, below_out, after_out] :
       {std::tuple{"warning_below", "dismissal_after", &out.warning_below_centi,
                   &out.dismissal_after},
        std::tuple{"leave_below", "leave_after", &out.leave_below_centi,
                   &out.leave_after}}) {
    if (auto it = keys->find(below); it != keys->end()) {
      auto v = Fixed(*it->second, 2);
      if (!v.ok()) return v.status();
      *below_out = *v;
    }
    if (auto it = keys->find(after); it != keys->end()) {
      if (!below_out->has_value()) {
        return Error(it->second->line,
                     absl::StrCat("'", after, "' needs '", below, "'"));
      }
      auto v = Count(*it->second, 1);
      if (!v.ok()) return v.status();
      *after_out = *v;
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::Grade(const Section& s, Scheme& out) {
  auto keys = Keys(
      s,
      {"title", "min_total", "job_level", "base_pay", "training", "promotion"},
      {"title", "min_total"});
  if (!keys.ok()) return keys.status();
  GradeBand g;
  g.id = s.id;
  g.title = keys->at("title")->value;
  g.line = s.line;
  if (keys->contains("job_level")) g.job_level = keys->at("job_level")->value;
  if (keys->contains("training")) g.training = keys->at("training")->value;
  if (keys->contains("promotion")) g.promotion = keys->at("promotion")->value;
  const Entry& min = *keys->at("min_total");
  auto v = Fixed(min, 2);
  if (!v.ok()) return v.status();
  g.min_centi = *v;
  if (auto it = keys->find("base_pay"); it != keys->end()) {
    auto pay = Fixed(*it->second, 2);
    if (!pay.ok()) return pay.status();
    g.base_pay_fen = *pay;
  }
  for (const GradeBand& prev : out.grades) {
    if (prev.min_centi == g.min_centi) {
      return Error(min, absl::StrCat("min_total ", min.value,
                                     " is also the band on line ", prev.line));
    }
  }
  out.grades.push_back(std::move(g));
  return absl::OkStatus();
}

absl::Status Parser::Quota(const Section& s, Scheme& out) {
  auto keys = Keys(s, {"best_share", "excellent_share"},
                   {"best_share", "excellent_share"});
  if (!keys.ok()) return keys.status();
  const Entry& best = *keys->at("best_share");
  const Entry& exc = *keys->at("excellent_share");
  auto b = Percent(best.value, best, best.key);
  if (!b.ok()) return b.status();
  auto e = Percent(exc.value, exc, exc.key);
  if (!e.ok()) return e.status();
  if (*b + *e > 1000000) {
    return Error(exc, "best_share + excellent_share exceed 100%");
  }
  out.best_share_ppm = *b;
  out.excellent_share_ppm = *e;
  return absl::OkStatus();
}

absl::Status Parser::Commission(const Section& s, Scheme& out) {
  // public_rate is required: a scheme without it would silently pay no
  // public commission (write 0% to mean none).
  auto keys = Keys(s, {"public_rate"}, {"public_rate"}, {"bracket"});
  if (!keys.ok()) return keys.status();
  out.has_pay = true;
  {
    const Entry& e = *keys->at("public_rate");
    auto r = CommissionRate(e.value, e, "public_rate");
    if (!r.ok()) return r.status();
    out.public_rate_ppm = *r;
  }
  for (const Entry& e : s.entries) {
    if (e.key != "bracket") continue;
    // [lower, upper]  rate R%  over X  plus Y
    absl::string_view v = e.value;
    CommissionBracket b;
    b.line = e.line;
    {
      std::vector<absl::string_view> words =
          absl::StrSplit(v, ' ', absl::SkipEmpty());
      b.text = absl::StrJoin(words, " ");
    }
    size_t close = v.find_first_of("])");
    if ((v.front() != '[' && v.front() != '(') || close == v.npos) {
      return Error(e,
                   "a bracket starts with an interval such as [15000, 20000]");
    }
    b.lower_inclusive = v.front() == '[';
    b.upper_inclusive = v[close] == ']';
    std::vector<absl::string_view> bounds =
        absl::StrSplit(v.substr(1, close - 1), ',');
    if (bounds.size() != 2) {
      return Error(e, "a bracket interval has two bounds: [lower, upper]");
    }
    auto lower = Fixed(absl::StripAsciiWhitespace(bounds[0]), 2, e,
                       "bracket lower bound");
    if (!lower.ok()) return lower.status();
    b.lower_fen = *lower;
    absl::string_view upper = absl::StripAsciiWhitespace(bounds[1]);
    if (upper == "inf") {
      if (b.upper_inclusive) {
        return Error(e, "an unbounded bracket ends with 'inf)'");
      }
    } else {
      auto u = Fixed(upper, 2, e, "bracket upper bound");
      if (!u.ok()) return u.status();
      b.upper_fen = *u;
      if (*u < b.lower_fen ||
          (*u == b.lower_fen && !(b.lower_inclusive && b.upper_inclusive))) {
        return Error(e, "bracket is empty: upper bound below lower");
      }
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(v.substr(close + 1), ' ', absl::SkipEmpty());
    if (words.size() % 2 != 0) {
      return Error(e, "after the interval: rate R% [over X] [plus Y]");
    }
    bool has_rate = false;
    std::set<absl::string_view> seen;
    for (size_t i = 0; i < words.size(); i += 2) {
      absl::string_view k = words[i], val = words[i + 1];
      if (!seen.insert(k).second) {
        return Error(e, absl::StrCat("bracket repeats '", k, "'"));
      }
      if (k == "rate") {
        auto r = CommissionRate(val, e, "bracket rate");
        if (!r.ok()) return r.status();
        b.rate_ppm = *r;
        has_rate = true;
      } else if (k == "over" || k == "plus") {
        auto f = Fixed(val, 2, e, absl::StrCat("bracket ", k));
        if (!f.ok()) return f.status();
        (k == "over" ? b.over_fen : b.plus_fen) = *f;
      } else {
        return Error(e, absl::StrCat("unknown bracket word '", k,
                                     "' (rate, over, plus)"));
      }
    }
    if (!has_rate) return Error(e, "bracket needs 'rate R%'");
    if (b.over_fen > b.lower_fen) {
      return Error(e, "'over' must not exceed the lower bound");
    }
    out.brackets.push_back(b);
  }
  if (out.brackets.empty()) {
    return Error(s.line, "[commission] needs at least one bracket");
  }
  // Brackets are contiguous, in file order, from 0 to unbounded: each
  // shares its lower bound with the previous upper bound, included on
  // exactly one side.
  const CommissionBracket& first = out.brackets.front();
  if (first.lower_fen != 0 || !first.lower_inclusive) {
    return Error(first.line, "the first bracket must start at [0");
  }
  for (size_t i = 1; i < out.brackets.size(); ++i) {
    const CommissionBracket& p = out.brackets[i - 1];
    const CommissionBracket& b = out.brackets[i];
    if (!p.upper_fen) {
      return Error(b.line, absl::StrCat("bracket follows the unbounded one on "
                                        "line ",
                                        p.line));
    }
    const bool both = p.upper_inclusive && b.lower_inclusive;
    const bool neither = !p.upper_inclusive && !b.lower_inclusive;
    if (b.lower_fen < *p.upper_fen || (b.lower_fen == *p.upper_fen && both)) {
      return Error(b.line,
                   absl::StrCat("bracket overlaps the one on line ", p.line));
    }
    if (b.lower_fen > *p.upper_fen || neither) {
      return Error(b.line, absl::StrCat("bracket leaves a gap after the one "
                                        "on line ",
                                        p.line));
    }
  }
  if (out.brackets.back().upper_fen) {
    return Error(out.brackets.back().line,
                 "the last bracket must be unbounded: ..., inf)");
  }
  return absl::OkStatus();
}

absl::Status Parser::Awards(const Section& s, Scheme& out) {
  auto keys =
      Keys(s, {"top_sets_sold", "rank1_months", "rank1_award"}, {}, {"growth"});
  if (!keys.ok()) return keys.status();
  if (auto it = keys->find("top_sets_sold"); it != keys->end()) {
    auto v = Fixed(*it->second, 2);
    if (!v.ok()) return v.status();
    out.top_sets_award_fen = *v;
  }
  const bool months = keys->contains("rank1_months");
  const bool award = keys->contains("rank1_award");
  if (months != award) {
    return Error(s.line, "rank1_months and rank1_award go together");
  }
  if (months) {
    auto m = Count(*keys->at("rank1_months"), 1);
    if (!m.ok()) return m.status();
    auto a = Fixed(*keys->at("rank1_award"), 2);
    if (!a.ok()) return a.status();
    out.rank1_months = *m;
    out.rank1_award_fen = *a;
  }
  for (const Entry& e : s.entries) {
    if (e.key != "growth") continue;
    std::vector<absl::string_view> w =
        absl::StrSplit(e.value, ' ', absl::SkipEmpty());
    if (w.size() != 2) {
      return Error(e, "growth = THRESHOLD% AWARD, e.g. growth = 25% 50");
    }
    auto t = Percent(w[0], e, "growth threshold");
    if (!t.ok()) return t.status();
    auto a = Fixed(w[1], 2, e, "growth award");
    if (!a.ok()) return a.status();
    if (!out.growth_awards.empty() &&
        *t <= out.growth_awards.back().threshold_ppm) {
      return Error(e, "growth thresholds must rise line by line");
    }
    out.growth_awards.push_back({*t, *a});
  }
  return absl::OkStatus();
}

absl::Status Parser::Validate(Scheme& out, int total_line, int awards_line) {
  if (out.items.empty()) return Error(total_line, "the scheme has no [item]");
  int64_t sum = 0;
  std::vector<std::string> parts;
  for (const SchemeItem& it : out.items) {
    sum += it.weight_centi;
    parts.push_back(absl::StrCat(it.name, " (line ", it.line, ")"));
  }
  if (sum != out.total_weight_centi) {
    return Error(
        total_line,
        absl::StrCat("total_weight is ", CentiText(out.total_weight_centi),
                     " but the item weights sum to ", CentiText(sum), ": ",
                     absl::StrJoin(parts, ", ")));
  }
  std::sort(out.grades.begin(), out.grades.end(),
            [](const GradeBand& a, const GradeBand& b) {
              return a.min_centi > b.min_centi;
            });
  for (const GradeBand& g : out.grades) {
    if (out.has_pay && !g.base_pay_fen) {
      return Error(g.line, absl::StrCat("grade '", g.id,
                                        "' needs base_pay: the scheme pays"));
    }
    if (!out.has_pay && g.base_pay_fen) {
      return Error(g.line, "base_pay needs a [commission] section");
    }
  }
  // A paying scheme needs a band for every total: below its lowest band
  // it would silently pay a base of 0.
  if (out.has_pay && (out.grades.empty() || out.grades.back().min_centi != 0)) {
    return Error(out.grades.empty() ? total_line : out.grades.back().line,
                 "a scheme that pays needs a [grade] with min_total = 0: "
                 "every total must have a base pay");
  }
  if (awards_line != 0 && !out.has_pay) {
    return Error(awards_line, "[awards] needs a [commission] section");
  }
  return absl::OkStatus();
}

absl::StatusOr<Scheme> Parser::ParseLegacy(absl::string_view text) {
  auto sections = Split(text);
  if (!sections.ok()) return sections.status();
  return Parse(*sections);
}

absl::StatusOr<Scheme> Parser::ParseToml(const TomlDocument& doc) {
  auto sections = FromToml(doc);
  if (!sections.ok()) return sections.status();
  return Parse(*sections);
}

// TOML tables to sections: [item.ID] and [grade.ID] are the old [item ID]
// and [grade ID]; the keys that repeated in the old syntax are arrays
// (brackets = [...], growth = [...]), and so is reference.
absl::StatusOr<std::vector<Section>> Parser::FromToml(const TomlDocument& doc) {
  std::vector<Section> sections(1);
  sections[0].line = 1;
  columns_.emplace(1, 1);
  std::map<std::vector<std::string>, size_t> index = {{{}, 0}};
  for (const TomlTable& t : doc.tables) {
    columns_.emplace(t.line, t.column);
    const std::vector<std::string>& p = t.path;
    const bool container = p.size() == 1 && (p[0] == "item" || p[0] == "grade");
    if (container) continue;
    const bool single =
        p.size() == 1 && (p[0] == "grading" || p[0] == "quota" ||
                          p[0] == "commission" || p[0] == "awards");
    const bool with_id = p.size() == 2 && (p[0] == "item" || p[0] == "grade");
    if (!single && !with_id) {
      return Error(t.line, t.column,
                   absl::StrCat("unknown table [", TomlPathText(p), "]"));
    }
    if (with_id && !IsIdentifier(p[1])) {
      return Error(
          t.line, t.column,
          absl::StrCat("[", p[0], ".ID] needs an id of a-z, 0-9 and _"));
    }
    Section s;
    s.kind = p[0];
    s.id = with_id ? p[1] : "";
    s.line = t.line;
    index[p] = sections.size();
    sections.push_back(std::move(s));
  }
  const std::map<std::string, std::string> arrays = {{"reference", "reference"},
                                                     {"brackets", "bracket"},
                                                     {"growth", "growth"}};
  for (const TomlEntry& e : doc.entries) {
    columns_.emplace(e.line, e.column);
    auto it = index.find(e.table);
    if (it == index.end()) {  // directly in [item] or [grade]
      return Error(
          e.line, e.column,
          absl::StrCat("unknown key '", e.key, "' in [", e.table[0], "]: each ",
                       e.table[0], " is a table [", e.table[0], ".ID]"));
    }
    Section& s = sections[it->second];
    auto array = arrays.find(e.key);
    if (e.key == "bracket" || (array != arrays.end()) != e.is_array) {
      if (array != arrays.end()) {
        return Error(e.line, e.column,
                     absl::StrCat("'", e.key, "' is an array of strings: ",
                                  e.key, " = [\"...\", \"...\"]"));
      }
      return Error(
          e.line, e.column,
          e.key == "bracket"
              ? std::string("unknown key 'bracket': the brackets are "
                            "one array, brackets = [\"...\", ...]")
              : absl::StrCat("'", e.key, "' takes one value, not an array"));
    }
    auto typed = [](const TomlValue& v) {
      switch (v.type) {
        case TomlValue::Type::kString:
          return Entry::Type::kString;
        case TomlValue::Type::kInteger:
        case TomlValue::Type::kFloat:
          return Entry::Type::kNumber;
        case TomlValue::Type::kBoolean:
          break;
      }
      return Entry::Type::kBoolean;
    };
    if (!e.is_array) {
      const TomlValue& v = e.values[0];
      s.entries.push_back({e.key, v.text, e.line, v.column, typed(v)});
      continue;
    }
    for (const TomlValue& v : e.values) {
      if (v.type != TomlValue::Type::kString) {
        return Error(v.line, v.column,
                     absl::StrCat("the elements of '", e.key,
                                  "' are strings in quotes"));
      }
    }
    if (e.key == "reference") {
      std::vector<std::string> names;
      for (const TomlValue& v : e.values) names.push_back(v.text);
      const int column = e.values.empty() ? e.column : e.values[0].column;
      s.entries.push_back({e.key, absl::StrJoin(names, ", "), e.line, column,
                           Entry::Type::kString});
      continue;
    }
    for (const TomlValue& v : e.values) {
      columns_.emplace(v.line, v.column);
      s.entries.push_back(
          {array->second, v.text, v.line, v.column, Entry::Type::kString});
    }
  }
  return sections;
}

absl::StatusOr<Scheme> Parser::Parse(const std::vector<Section>& sections) {
  Scheme out;
  int total_line = 1;
  int awards_line = 0;
  for (const Section& s : sections) {
    absl::Status st;
    if (s.kind.empty()) {
      st = TopLevel(s, out, total_line);
    } else if (s.kind == "item") {
      st = Item(s, out);
    } else if (s.kind == "grading") {
      st = Grading(s, out);
    } else if (s.kind == "grade") {
      st = Grade(s, out);
    } else if (s.kind == "quota") {
      st = Quota(s, out);
    } else if (s.kind == "commission") {
      st = Commission(s, out);
    } else if (s.kind == "awards") {
      awards_line = s.line;
      st = Awards(s, out);
    }
    if (!st.ok()) return st;
  }
  if (absl::Status st = Validate(out, total_line, awards_line); !st.ok()) {
    return st;
  }
  return out;
}

// The old-syntax files LoadSchemeFile has warned about.
ABSL_CONST_INIT absl::Mutex g_warned_mu(absl::kConstInit);
std::set<std::string>* g_warned ABSL_GUARDED_BY(g_warned_mu) = nullptr;

}  // namespace

bool CommissionBracket::Contains(int64_t s) const {
  const bool above = lower_inclusive ? s >= lower_fen : s > lower_fen;
  if (!above) return false;
  if (!upper_fen) return true;
  return upper_inclusive ? s <= *upper_fen : s < *upper_fen;
}

absl::StatusOr<Scheme> ParseScheme(std::string_view text,
                                   std::string_view source,
                                   std::string* warning) {
  const absl::string_view name(source.data(), source.size());
  auto doc = ParseTomlDocument(text, source);
  if (doc.ok()) return Parser(name, /*toml=*/true).ParseToml(*doc);
  if (absl::EndsWith(name, ".toml")) return doc.status();
  auto legacy = Parser(name, /*toml=*/false)
                    .ParseLegacy(absl::string_view(text.data(), text.size()));
  if (!legacy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " is neither TOML (", doc.status().message(),
        ") nor a scheme in the old syntax (", legacy.status().message(), ")"));
  }
  if (warning != nullptr) {
    *warning = absl::StrCat(
        name,
        " is in the old scheme syntax, which is read for this release only: "
        "convert it with `chatkpi convert-config ",
        name, " NEW.toml` (docs/scoring.md); as TOML it reads ",
        doc.status().message());
  }
  return legacy;
}

absl::StatusOr<Scheme> LoadSchemeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string warning;
  auto scheme = ParseScheme(buf.str(), path, &warning);
  if (!warning.empty()) {
    // Once per file and process: a server loads a scheme per request.
    absl::MutexLock lock(&g_warned_mu);
    if (g_warned == nullptr) g_warned = new std::set<std::string>;
    if (g_warned->insert(path).second) {
      std::fprintf(stderr, "chatkpi: warning: %s\n", warning.c_str());
    }
  }
  return scheme;
}

std::optional<std::string> FindSchemeFile(const std::string& dir,
                                          std::string_view name) {
  std::error_code ec;
  for (const char* ext : {".toml", ".scheme"}) {
    std::string path = absl::StrCat(
        dir, "/", absl::string_view(name.data(), name.size()), ext);
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return std::nullopt;
}

absl::StatusOr<int64_t> PersonalCommissionFen(const Scheme& scheme,
                                              int64_t net_sales_fen) {
  if (net_sales_fen <= 0) return 0;
  for (const CommissionBracket& b : scheme.brackets) {
    if (!b.Contains(net_sales_fen)) continue;
    // One rounding, at the end: everything is in fen-millionths until then.
    // int128 holds every intermediate (int64 * rate < 2^63 * 2^57); only the
    // result is checked.
    absl::int128 scaled =
        (absl::int128(net_sales_fen) - b.over_fen) * b.rate_ppm +
        absl::int128(b.plus_fen) * 1000000;
    const absl::int128 fen = (scaled + 500000) / 1000000;
    if (fen > std::numeric_limits<int64_t>::max()) {
      return absl::OutOfRangeError(absl::StrCat(
          "personal commission on net sales of ", net_sales_fen,
          " fen does not fit in a 64-bit integer; refusing to wrap it into a "
          "wrong number (see docs/limits.md)"));
    }
    return static_cast<int64_t>(fen);
  }
  return 0;  // unreachable for a validated scheme
}

}  // namespace chatkpi

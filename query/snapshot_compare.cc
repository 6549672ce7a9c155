#include "query/snapshot_compare.h"

#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "base/number_text.h"
#include "query/response_figures.h"

namespace chatkpi {
namespace {

struct Figure {
  std::string key;
  std::string title_zh;
  std::optional<double> value;
  bool whole = false;
};

// Every figure of a snapshot row in snapshot order: counters, ratios, the
// response figures (orders_only: the order counters alone).
std::vector<Figure> Figures(const Counters& c,
                            const std::vector<int64_t>& thresholds_s,
                            bool orders_only) {
  std::vector<Figure> out;
  for (int i = orders_only ? kFirstOrderCounter : 0; i < kNumCounters; ++i) {
    out.push_back({std::string(kCounterNames[i]),
                   std::string(CounterTitle(static_cast<Counter>(i),
                                            ColumnLanguage::kChinese)),
                   static_cast<double>(c[i]), true});
  }
  if (orders_only) return out;
  for (int r = 0; r < kNumRatios; ++r) {
    out.push_back({std::string(kRatioNames[r]),
                   std::string(RatioTitle(static_cast<Ratio>(r),
                                          ColumnLanguage::kChinese)),
                   ComputeRatio(c, static_cast<Ratio>(r)), false});
  }
  for (ResponseFigure& f : ResponseFigures(c, thresholds_s)) {
    out.push_back({std::move(f.key), std::move(f.title), f.value, f.whole});
  }
  return out;
}

// current − previous; a fraction's change is rounded (RoundedChange).
std::optional<double> Change(const Figure& cur, const Figure& prev) {
  if (!cur.value || !prev.value) return std::nullopt;
  return cur.whole ? *cur.value - *prev.value
                   : RoundedChange(*prev.value, *cur.value);
}

std::string Text(std::optional<double> v, bool whole) {
  if (!v) return "";
  if (whole) return absl::StrCat(static_cast<int64_t>(*v));
  return FormatDouble(*v);
}

void AppendJsonFigures(std::string* out, const std::vector<Figure>& figures,
                       const std::vector<std::optional<double>>& values) {
  for (size_t i = 0; i < figures.size(); ++i) {
    if (i) out->append(", ");
    AppendJsonString(out, figures[i].key);
    out->append(": ");
    if (values[i] && figures[i].whole) {
      out->append(Text(values[i], true));
    } else {
      AppendJsonDouble(out, values[i]);
    }
  }
}

struct Row {
  std::vector<Figure> current, previous;
  std::vector<std::optional<double>> Values(bool cur) const {
    std::vector<std::optional<double>> v;
    for (const Figure& f : cur ? current : previous) v.push_back(f.value);
    return v;
  }
  std::vector<std::optional<double>> Changes() const {
    std::vector<std::optional<double>> v;
    for (size_t i = 0; i < current.size(); ++i) {
      v.push_back(Change(current[i], previous[i]));
    }
    return v;
  }
};

// "agent": {...current}, then "previous" and "change" objects.
void AppendJsonRow(std::string* out, const Row& row) {
  AppendJsonFigures(out, row.current, row.Values(true));
  out->append(", \"previous\": {");
  AppendJsonFigures(out, row.previous, row.Values(false));
  out->append("}, \"change\": {");
  AppendJsonFigures(out, row.current, row.Changes());
  out->append("}");
}

// Agents of either period, by id; an agent missing from one has zeros there.
std::map<std::string, Row> AgentRows(const PeriodSnapshot& cur,
                                     const PeriodSnapshot& prev) {
  std::map<std::string, std::pair<Counters, Counters>> joined;
  for (const AgentRow& r : cur.agents) joined[r.agent].first = r.counters;
  for (const AgentRow& r : prev.agents) joined[r.agent].second = r.counters;
  std::map<std::string, Row> rows;
  for (const auto& [agent, c] : joined) {
    rows[agent] = Row{Figures(c.first, cur.thresholds_s, false),
                      Figures(c.second, cur.thresholds_s, false)};
  }
  return rows;
}

}  // namespace

std::string ComparedSnapshotToJson(const PeriodSnapshot& cur,
                                   const PeriodSnapshot& prev) {
  std::string out;
  out.append("{\"from\": ");
  AppendJsonString(&out, absl::FormatCivilTime(cur.from));
  out.append(", \"to\": ");
  AppendJsonString(&out, absl::FormatCivilTime(cur.to));
  out.append(", \"compare_from\": ");
  AppendJsonString(&out, absl::FormatCivilTime(prev.from));
  out.append(", \"compare_to\": ");
  AppendJsonString(&out, absl::FormatCivilTime(prev.to));
  out.append(", \"rules_version\": ");
  AppendJsonString(&out, cur.rules_version);
  out.append(",\n \"agents\": [");
  bool first = true;
  for (const auto& [agent, row] : AgentRows(cur, prev)) {
    out.append(first ? "\n  {\"agent\": " : ",\n  {\"agent\": ");
    first = false;
    AppendJsonString(&out, agent);
    out.append(", ");
    AppendJsonRow(&out, row);
    out.append("}");
  }
  out.append("],\n \"unattributed\": {");
  AppendJsonRow(&out, Row{Figures(cur.unattributed, cur.thresholds_s, true),
                          Figures(prev.unattributed, cur.thresholds_s, true)});
  out.append("},\n \"team\": {");
  AppendJsonRow(&out, Row{Figures(cur.team, cur.thresholds_s, false),
                          Figures(prev.team, cur.thresholds_s, false)});
  absl::StrAppend(&out, "},\n \"dead_letters\": ", cur.dead_letters, "}\n");
  return out;
}

std::string ComparedSnapshotToCsv(const PeriodSnapshot& cur,
                                  const PeriodSnapshot& prev,
                                  ColumnLanguage lang) {
  const bool zh = lang == ColumnLanguage::kChinese;
  std::string out = "\xEF\xBB\xBF";  // BOM: spreadsheets then read UTF-8
  out.append(zh ? "客服,期间" : "agent,period");
  for (const Figure& f : Figures(Counters(), cur.thresholds_s, false)) {
    out.push_back(',');
    AppendCsvField(&out, zh ? f.title_zh : f.key);
  }
  out.append("\r\n");
  const std::string labels[3] = {zh ? "本期" : "current",
                                 zh ? "上期" : "previous",
                                 zh ? "变化" : "change"};
  auto append_rows = [&](std::string_view label, const Row& row) {
    const std::vector<std::optional<double>> values[3] = {
        row.Values(true), row.Values(false), row.Changes()};
    for (int k = 0; k < 3; ++k) {
      AppendCsvField(&out, label);
      out.push_back(',');
      out.append(labels[k]);
      for (size_t i = 0; i < row.current.size(); ++i) {
        out.push_back(',');
        out.append(Text(values[k][i], row.current[i].whole));
      }
      out.append("\r\n");
    }
  };
  for (const auto& [agent, row] : AgentRows(cur, prev)) {
    append_rows(agent, row);
  }
  // The unattributed row with every column, zeros in the chat ones, as in
  // the plain snapshot's CSV.
  append_rows(zh ? "(静默下单)" : "(unattributed)",
              Row{Figures(cur.unattributed, cur.thresholds_s, false),
                  Figures(prev.unattributed, cur.thresholds_s, false)});
  append_rows(zh ? "(团队合计)" : "(team total)",
              Row{Figures(cur.team, cur.thresholds_s, false),
                  Figures(prev.team, cur.thresholds_s, false)});
  return out;
}

}  // namespace chatkpi

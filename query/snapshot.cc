#include "query/snapshot.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/csv_text.h"
#include "base/json_text.h"
#include "base/number_text.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "engine/meta.h"
#include "engine/owned_shards.h"
#include "engine/rules.h"
#include "query/response_figures.h"
#include "store/coding.h"
#include "store/store.h"

namespace chatkpi {
namespace {

constexpr std::string_view kCounterZh[kNumCounters] = {
    "咨询人数",     "回复人数",     "问题数",
    "已回答问题数", "未回答问题数", "响应时间合计(毫秒)",
    "慢响应数",     "首次响应数",   "首次响应时间合计(毫秒)",
    "礼貌接待数",   "不当回复数",   "下单数",
    "下单人数",     "付款订单数",   "付款人数",
    "付款子订单数", "销售额(分)",   "退款次数",
    "退款子订单数", "退款额(分)"};

constexpr std::string_view kRatioZh[kNumRatios] = {
    "回复率",          "平均响应时间(秒)", "首次响应时间(秒)",
    "慢响应率",        "咨询转化率",       "下单成功率",
    "询单→付款转化率", "客单价(元)",       "退单率",
    "礼貌率"};

std::string DayText(absl::CivilDay d) { return absl::FormatCivilTime(d); }

std::string AgentLabel(std::string_view agent) {
  return agent.empty() ? std::string("unattributed orders")
                       : absl::StrCat("agent '", std::string(agent), "'");
}

absl::Status Annotate(const absl::Status& s, std::string_view where) {
  return absl::Status(s.code(), absl::StrCat("summing ", std::string(where),
                                             ": ", s.message()));
}

void AppendCsvRow(std::string* out, std::string_view label, const Counters& c,
                  const std::vector<int64_t>& thresholds_s) {
  AppendCsvField(out, label);
  for (int i = 0; i < kNumCounters; ++i) absl::StrAppend(out, ",", c[i]);
  for (int r = 0; r < kNumRatios; ++r) {
    out->push_back(',');
    auto v = ComputeRatio(c, static_cast<Ratio>(r));
    if (v.has_value()) out->append(FormatDouble(*v));
  }
  for (const ResponseFigure& f : ResponseFigures(c, thresholds_s)) {
    out->push_back(',');
    if (f.value.has_value()) out->append(FormatDouble(*f.value));
  }
  out->append("\r\n");
}

// Adds the rows of `family` (day rows or month rollups) with a slot in
// [first, last] of every shard into `rows`. Each shard's slots are one
// contiguous key range.
absl::Status SumRows(Store& store, Family family, int32_t first, int32_t last,
                     const std::optional<std::vector<uint32_t>>& owned,
                     absl::flat_hash_map<std::string, Counters>* rows) {
  absl::Status bad_row;
  // A Kafka-fed store counts only the partitions it owns now: rows of a
  // partition that moved to another instance are stale here.
  size_t next_owned = 0;
  uint32_t shard = 0;
  if (owned.has_value()) {
    if (owned->empty()) return absl::OkStatus();
    shard = (*owned)[next_owned++];
  }
  while (true) {
    absl::Status s = store.Scan(
        family, AggregateKey(shard, first, ""),
        AggregateKey(shard, last + 1, ""),
        [&](std::string_view key, std::string_view value) {
          Counters c;
          if (key.size() < 8 || !DecodeCounters(value, &c)) {
            bad_row = absl::DataLossError("aggregate row is corrupt");
            return false;
          }
          key.remove_prefix(8);  // shard and slot; the rest is the agent
          absl::Status s = CheckNonNegative(c);
          if (s.ok()) {
            s = (*rows)[absl::string_view(key.data(), key.size())].Add(c);
          }
          if (!s.ok()) {
            bad_row = Annotate(
                s, absl::StrCat("the row of ", AgentLabel(key), " in ",
                                FamilyName(family), " (shard ", shard, ")"));
            return false;
          }
          return true;
        });
    if (!s.ok()) return s;
    if (!bad_row.ok()) return bad_row;
    if (owned.has_value()) {
      if (next_owned == owned->size()) break;
      shard = (*owned)[next_owned++];
      continue;
    }
    if (shard == std::numeric_limits<uint32_t>::max()) break;
    // Find the next shard that has any row.
    bool found = false;
    s = store.Scan(
        family,
        AggregateKey(shard + 1, std::numeric_limits<int32_t>::min(), ""), "",
        [&](std::string_view key, std::string_view) {
          int32_t slot;
          std::string agent;
          found = ParseAggregateKey(key, &shard, &slot, &agent);
          return false;
        });
    if (!s.ok()) return s;
    if (!found) break;
  }
  return absl::OkStatus();
}

}  // namespace

// The names are plain ASCII, so they need no escaping: written as literal
// `"name": ` pieces, which is most of a month snapshot's rendering time
// saved.
void AppendCountersJson(std::string* out, const Counters& c, bool orders_only) {
  char buf[24];
  bool first = true;
  for (int i = orders_only ? kFirstOrderCounter : 0; i < kNumCounters; ++i) {
    if (!first) out->append(", ");
    first = false;
    out->push_back('"');
    out->append(kCounterNames[i]);
    out->append("\": ");
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, c[i]);
    out->append(buf, end);
  }
  if (orders_only) return;
  for (int r = 0; r < kNumRatios; ++r) {
    out->append(", \"");
    out->append(kRatioNames[r]);
    out->append("\": ");
    AppendJsonDouble(out, ComputeRatio(c, static_cast<Ratio>(r)));
  }
}

std::string_view CounterTitle(Counter c, ColumnLanguage lang) {
  return lang == ColumnLanguage::kChinese ? kCounterZh[c] : kCounterNames[c];
}

std::string_view RatioTitle(Ratio r, ColumnLanguage lang) {
  return lang == ColumnLanguage::kChinese ? kRatioZh[r] : kRatioNames[r];
}

absl::StatusOr<PeriodSnapshot> ReadSnapshot(Store& store, absl::CivilDay from,
                                            absl::CivilDay to) {
  PeriodSnapshot snap;
  snap.from = from;
  snap.to = to;
  snap.rules_version = "default";
  // "default" only for a store that never stored rules: stored rules that
  // do not parse are an error (engine/meta.h), not the defaults.
  auto rules = StoredRules(store);
  if (!rules.ok()) return rules.status();
  if (rules->has_value()) {
    snap.rules_version = (*rules)->version;
    snap.thresholds_s = (*rules)->response_thresholds_s;
  }
  // A Kafka member's share: the dead letters of the partitions it owns.
  auto dead = ReadDeadLetterCount(store);
  if (!dead.ok()) return dead.status();
  snap.dead_letters = *dead;
  if (to < from) return snap;

  // Whole months come from the month rollups (one row per agent), the
  // partial months at either end from the day rows.
  absl::flat_hash_map<std::string, Counters> rows;
  struct Range {
    Family family;
    int32_t first, last;
  };
  std::vector<Range> ranges;
  for (absl::CivilMonth m(from); m <= absl::CivilMonth(to); ++m) {
    const absl::CivilDay month_first(m), month_last(absl::CivilDay(m + 1) - 1);
    if (from <= month_first && month_last <= to) {
      if (!ranges.empty() && ranges.back().family == Family::kRollups) {
        ++ranges.back().last;
      } else {
        ranges.push_back({Family::kRollups, MonthNumber(m), MonthNumber(m)});
      }
    } else {
      ranges.push_back({Family::kAggregates,
                        DayNumber(std::max(from, month_first)),
                        DayNumber(std::min(to, month_last))});
    }
  }
  auto owned = ReadOwnedShards(store);
  if (!owned.ok()) return owned.status();
  for (const Range& r : ranges) {
    absl::Status s = SumRows(store, r.family, r.first, r.last, *owned, &rows);
    if (!s.ok()) return s;
  }
  std::vector<std::pair<std::string, Counters>> sorted(rows.begin(),
                                                       rows.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [agent, c] : sorted) {
    if (agent.empty()) {
      snap.unattributed = c;
    } else if (!c.IsZero()) {
      absl::Status s = snap.team.Add(c);
      if (!s.ok()) return Annotate(s, "the team row");
      snap.agents.push_back(AgentRow{agent, c});
    }
  }
  return snap;
}

std::string SnapshotToJson(const PeriodSnapshot& s) {
  std::string out;
  out.reserve(256 + s.agents.size() * 900);
  out.append("{\"from\": ");
  AppendJsonString(&out, DayText(s.from));
  out.append(", \"to\": ");
  AppendJsonString(&out, DayText(s.to));
  out.append(", \"rules_version\": ");
  AppendJsonString(&out, s.rules_version);
  out.append(",\n \"agents\": [");
  for (size_t i = 0; i < s.agents.size(); ++i) {
    out.append(i == 0 ? "\n  {\"agent\": " : ",\n  {\"agent\": ");
    AppendJsonString(&out, s.agents[i].agent);
    out.append(", ");
    AppendCountersJson(&out, s.agents[i].counters, false);
    AppendResponseFiguresJson(&out, s.agents[i].counters, s.thresholds_s);
    out.append("}");
  }
  out.append("],\n \"unattributed\": {");
  AppendCountersJson(&out, s.unattributed, true);
  out.append("},\n \"team\": {");
  AppendCountersJson(&out, s.team, false);
  AppendResponseFiguresJson(&out, s.team, s.thresholds_s);
  absl::StrAppend(&out, "},\n \"dead_letters\": ", s.dead_letters, "}\n");
  return out;
}

std::string SnapshotToCsv(const PeriodSnapshot& s, ColumnLanguage lang) {
  const bool zh = lang == ColumnLanguage::kChinese;
  std::string out = "\xEF\xBB\xBF";  // BOM: spreadsheets then read UTF-8
  out.append(zh ? "客服" : "agent");
  for (int i = 0; i < kNumCounters; ++i) {
    out.push_back(',');
    AppendCsvField(&out, CounterTitle(static_cast<Counter>(i), lang));
  }
  for (int r = 0; r < kNumRatios; ++r) {
    out.push_back(',');
    AppendCsvField(&out, RatioTitle(static_cast<Ratio>(r), lang));
  }
  for (const ResponseFigure& f : ResponseFigures(Counters(), s.thresholds_s)) {
    out.push_back(',');
    AppendCsvField(&out, zh ? f.title : f.key);
  }
  out.append("\r\n");
  for (const AgentRow& row : s.agents)
    AppendCsvRow(&out, row.agent, row.counters, s.thresholds_s);
  AppendCsvRow(&out, zh ? "(静默下单)" : "(unattributed)", s.unattributed,
               s.thresholds_s);
  AppendCsvRow(&out, zh ? "(团队合计)" : "(team total)", s.team,
               s.thresholds_s);
  return out;
}

}  // namespace chatkpi

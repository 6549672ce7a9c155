#include "query/agent_days.h"

#include <functional>
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "engine/rules.h"
#include "query/response_figures.h"
#include "query/snapshot.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// Calls visit(day, counters) for each of `agent`'s rows with a day in
// [first, last], shard by shard, until it returns false.
//
// Within a shard the keys sort by day then agent, so seeking to
// (shard, day, agent) lands on the agent's row of that day if there is one,
// else on the next key, which tells the next day (or shard) worth seeking.
absl::Status ForEachAgentRow(
    Store& store, std::string_view agent, int32_t first, int32_t last,
    const std::function<bool(int32_t, const Counters&)>& visit) {
  uint32_t shard = 0;
  int64_t day = first;
  while (true) {
    bool found = false, corrupt = false;
    uint32_t key_shard = 0;
    int32_t key_day = 0;
    std::string key_agent;
    Counters c;
    absl::Status s = store.Scan(
        Family::kAggregates,
        AggregateKey(shard, static_cast<int32_t>(day), agent), "",
        [&](std::string_view k, std::string_view v) {
          found = true;
          corrupt = !ParseAggregateKey(k, &key_shard, &key_day, &key_agent);
          if (!corrupt && key_agent == agent) corrupt = !DecodeCounters(v, &c);
          return false;
        });
    if (!s.ok()) return s;
    if (corrupt) return absl::DataLossError("aggregate row is corrupt");
    if (!found) return absl::OkStatus();
    if (key_shard != shard) {
      shard = key_shard;  // the next shard that has rows
      day = first;
      continue;
    }
    if (key_day <= last && key_agent == agent) {
      if (!visit(key_day, c)) return absl::OkStatus();
    }
    day = key_day == day || key_agent == agent ? int64_t{key_day} + 1
                                               : int64_t{key_day};
    if (key_day > last || day > last) {
      if (shard == std::numeric_limits<uint32_t>::max()) {
        return absl::OkStatus();
      }
      ++shard;
      day = first;
    }
  }
}

// Rows follow other fields of their object.
void AppendRowJson(std::string* out, const Counters& c,
                   const std::vector<int64_t>& thresholds_s) {
  out->append(", ");
  AppendCountersJson(out, c);
  AppendResponseFiguresJson(out, c, thresholds_s);
}

}  // namespace

absl::StatusOr<AgentDays> ReadAgentDays(Store& store, std::string_view agent,
                                        absl::CivilDay from,
                                        absl::CivilDay to) {
  if (to < from) return absl::InvalidArgumentError("`to` is before `from`");
  if (to - from >= kMaxAgentDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxAgentDays, " days at a time"));
  }
  AgentDays out;
  out.agent = std::string(agent);
  out.from = from;
  out.to = to;
  out.days.resize(static_cast<size_t>(to - from) + 1);
  auto rules = StoredRules(store);
  if (!rules.ok()) return rules.status();
  if (rules->has_value()) out.thresholds_s = (*rules)->response_thresholds_s;
  const int32_t first = DayNumber(from);
  absl::Status bad;
  absl::Status s = ForEachAgentRow(
      store, agent, first, DayNumber(to), [&](int32_t day, const Counters& c) {
        bad = CheckNonNegative(c);
        if (bad.ok()) bad = out.days[day - first].Add(c);
        if (bad.ok()) bad = out.total.Add(c);
        if (!bad.ok()) {
          bad = absl::Status(
              bad.code(),
              absl::StrCat("summing the rows of agent '", std::string(agent),
                           "' on ", absl::FormatCivilTime(DayFromNumber(day)),
                           ": ", bad.message()));
          return false;
        }
        out.any_row = true;
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

absl::StatusOr<bool> AgentHasRows(Store& store, std::string_view agent) {
  bool found = false;
  absl::Status s = ForEachAgentRow(
      store, agent, std::numeric_limits<int32_t>::min(),
      std::numeric_limits<int32_t>::max(), [&](int32_t, const Counters&) {
        found = true;
        return false;
      });
  if (!s.ok()) return s;
  return found;
}

std::string AgentDaysToJson(const AgentDays& d) {
  std::string out;
  out.reserve(256 + d.days.size() * 700);
  out.append("{\"agent\": ");
  AppendJsonString(&out, d.agent);
  out.append(", \"from\": ");
  AppendJsonString(&out, absl::FormatCivilTime(d.from));
  out.append(", \"to\": ");
  AppendJsonString(&out, absl::FormatCivilTime(d.to));
  out.append(",\n \"days\": [");
  for (size_t i = 0; i < d.days.size(); ++i) {
    out.append(i == 0 ? "\n  {\"day\": " : ",\n  {\"day\": ");
    AppendJsonString(&out, absl::FormatCivilTime(d.from + i));
    AppendRowJson(&out, d.days[i], d.thresholds_s);
    out.push_back('}');
  }
  // The total is the agent's row of the period's snapshot, field for field.
  out.append("],\n \"total\": {\"agent\": ");
  AppendJsonString(&out, d.agent);
  AppendRowJson(&out, d.total, d.thresholds_s);
  out.append("}}\n");
  return out;
}

}  // namespace chatkpi

#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/json_text.h"
#include "engine/conflict_record.h"
#include "engine/dead_letter_value.h"
#include "engine/engine.h"
#include "engine/event_count.h"
#include "engine/kafka_ingest.h"
#include "engine/limits.h"
#include "engine/local_day.h"
#include "engine/meta.h"
#include "engine/owned_shards.h"
#include "store/coding.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

const CommandSpec& StatsCommand() {
  static const auto* spec = new CommandSpec{
      "stats",
      "",
      "events, dead letters, agents, days, rules of a store",
      {{"db", "DIR", "the store (required)"},
       {"max-agents-per-day", "N", "report days past N distinct agents"},
       {"max-buyers-per-day", "N", "report days past N distinct buyers"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunStats(int argc, char** argv) {
  const char* kCmd = "stats";
  auto args = Args::Parse(argc, argv, StatsCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  StoreOptions so;
  so.read_only = true;
  auto opened = Store::Open(*db, so);
  if (!opened.ok()) return Fail(kCmd, opened.status());
  Store& store = **opened;

  // Dead letters grouped by reason category: the text before any quoted
  // detail ("missing field 'buyer'" -> "missing field").
  std::map<std::string, int64_t> reasons;
  int64_t dead = 0;
  absl::Status s = store.Scan(
      Family::kDead, "", "", [&](std::string_view, std::string_view v) {
        DeadLetterValue d;
        std::string_view reason =
            DecodeDeadLetterValue(v, &d) ? d.reason : "corrupt";
        reason = reason.substr(0, reason.find('\''));
        while (!reason.empty() && reason.back() == ' ') reason.remove_suffix(1);
        ++reasons[std::string(reason)];
        ++dead;
        return true;
      });
  if (!s.ok()) return Fail(kCmd, s);

  std::set<std::string> agents;
  std::set<uint32_t> shards;
  int32_t first_day = 0, last_day = 0;
  bool any_day = false;
  // Days that hold a row: a store with a day in 2000 and one in 2099 holds
  // two, not the 36,526 between them.
  std::set<int32_t> days;
  s = store.Scan(Family::kAggregates, "", "",
                 [&](std::string_view k, std::string_view) {
                   uint32_t shard;
                   int32_t day;
                   std::string agent;
                   if (!ParseAggregateKey(k, &shard, &day, &agent)) return true;
                   shards.insert(shard);
                   if (!agent.empty()) agents.insert(agent);
                   if (!any_day || day < first_day) first_day = day;
                   if (!any_day || day > last_day) last_day = day;
                   any_day = true;
                   days.insert(day);
                   return true;
                 });
  if (!s.ok()) return Fail(kCmd, s);

  auto positions = ReadSourcePositions(store);
  if (!positions.ok()) return Fail(kCmd, positions.status());

  auto events = EventsHeld(store);
  if (!events.ok()) return Fail(kCmd, events.status());
  std::string out =
      absl::StrCat("{\"events\": ", *events, ", \"dead_letters\": ", dead,
                   ", \"dead_letters_by_reason\": {");
  bool first = true;
  for (auto& [reason, n] : reasons) {
    if (!first) out.append(", ");
    first = false;
    AppendJsonString(&out, reason);
    absl::StrAppend(&out, ": ", n);
  }
  // Conflicting duplicates (docs/engine.md, "Duplicates"); listed by
  // `chatkpi dead-letters --conflicts`.
  auto conflicts = ReadMetaCounter(store, kMetaConflicts);
  if (!conflicts.ok()) return Fail(kCmd, conflicts.status());
  absl::StrAppend(&out, "}, \"conflicting_duplicates\": ", *conflicts,
                  ", \"agents\": ", agents.size(), ", \"days\": ");
  if (any_day) {
    absl::StrAppend(
        &out, "{\"first\": \"", absl::FormatCivilTime(DayFromNumber(first_day)),
        "\", \"last\": \"", absl::FormatCivilTime(DayFromNumber(last_day)),
        "\", \"count\": ", days.size(), "}");
  } else {
    out.append("null");
  }
  absl::StrAppend(&out, ", \"shards\": ", shards.size(), ", \"sources\": {");
  first = true;
  for (auto& [source, line] : *positions) {
    if (!first) out.append(", ");
    first = false;
    AppendJsonString(&out, source);
    out.append(": ");
    AppendJsonString(&out, line);
  }
  out.append("}");
  // The rules the figures are computed under (what `ingest` and `run` use
  // without --rules) and the earlier versions replays went through.
  auto rules = ReadStoredRulesRecord(store);
  if (!rules.ok()) return Fail(kCmd, rules.status());
  auto earlier = ReadEarlierRulesVersions(store);
  if (!earlier.ok()) return Fail(kCmd, earlier.status());
  absl::StrAppend(&out, ", \"rules\": ",
                  rules->has_value() ? (*rules)->json : std::string("null"),
                  ", \"earlier_rules_versions\": [");
  first = true;
  for (const std::string& version : *earlier) {
    if (!first) out.append(", ");
    first = false;
    AppendJsonString(&out, version);
  }
  out.append("]");
  // Kafka consumer figures (engine/kafka_ingest.h): owned partitions, the
  // latest throughput and lag per partition; null for file-fed stores.
  auto owned = ReadOwnedShards(store);
  if (!owned.ok()) return Fail(kCmd, owned.status());
  auto kafka = ReadKafkaStats(store);
  if (!kafka.ok()) return Fail(kCmd, kafka.status());
  out.append(", \"owned_shards\": ");
  out.append(owned->has_value()
                 ? absl::StrCat("[", absl::StrJoin(**owned, ", "), "]")
                 : "null");
  absl::StrAppend(&out, ", \"kafka\": ",
                  kafka->has_value() ? **kafka : std::string("null"));
  // Days over the distinct agent/buyer limits (docs/limits.md).
  CardinalityLimits limits;
  auto max_agents =
      args->GetInt("max-agents-per-day", limits.max_agents_per_day);
  if (!max_agents.ok()) return Fail(kCmd, max_agents.status());
  auto max_buyers =
      args->GetInt("max-buyers-per-day", limits.max_buyers_per_day);
  if (!max_buyers.ok()) return Fail(kCmd, max_buyers.status());
  limits.max_agents_per_day = *max_agents;
  limits.max_buyers_per_day = *max_buyers;
  size_t days_over = 0;
  auto limits_json = DaysOverLimitsJson(store, limits, &days_over);
  if (!limits_json.ok()) return Fail(kCmd, limits_json.status());
  absl::StrAppend(&out, ", \"limits\": ", *limits_json);
  if (days_over > 0) {
    std::cerr
        << "chatkpi stats: warning: " << days_over
        << " day(s) over the distinct agent/buyer limits (docs/limits.md)\n";
  }
  out.append("}\n");
  std::cout << out;
  return 0;
}

}  // namespace chatkpi

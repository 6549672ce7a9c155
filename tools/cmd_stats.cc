#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "query/json_text.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

int RunStats(int argc, char** argv) {
  const char* kCmd = "stats";
  auto args = Args::Parse(argc, argv, {"db"});
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
  absl::Status s = store.Scan(Family::kDead, "", "",
                              [&](std::string_view, std::string_view v) {
                                std::string_view reason = v.substr(0, v.find('\0'));
                                reason = reason.substr(0, reason.find('\''));
                                while (!reason.empty() && reason.back() == ' ')
                                  reason.remove_suffix(1);
                                ++reasons[std::string(reason)];
                                ++dead;
                                return true;
                              });
  if (!s.ok()) return Fail(kCmd, s);

  std::set<std::string> agents;
  std::set<uint32_t> shards;
  int32_t first_day = 0, last_day = 0;
  bool any_day = false;
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
                   return true;
                 });
  if (!s.ok()) return Fail(kCmd, s);

  std::map<std::string, std::string> positions;
  const std::string prefix = kMetaPositionPrefix;
  s = store.Scan(Family::kMeta, prefix, "",
                 [&](std::string_view k, std::string_view v) {
                   if (k.substr(0, prefix.size()) != prefix) return false;
                   positions[std::string(k.substr(prefix.size()))] =
                       std::string(v.substr(0, v.find('\t')));
                   return true;
                 });
  if (!s.ok()) return Fail(kCmd, s);

  std::string out = absl::StrCat("{\"events\": ", store.next_seq(),
                                 ", \"dead_letters\": ", dead,
                                 ", \"dead_letters_by_reason\": {");
  bool first = true;
  for (auto& [reason, n] : reasons) {
    if (!first) out.append(", ");
    first = false;
    AppendJsonString(&out, reason);
    absl::StrAppend(&out, ": ", n);
  }
  absl::StrAppend(&out, "}, \"agents\": ", agents.size(), ", \"days\": ");
  if (any_day) {
    absl::StrAppend(&out, "{\"first\": \"",
                    absl::FormatCivilTime(DayFromNumber(first_day)),
                    "\", \"last\": \"",
                    absl::FormatCivilTime(DayFromNumber(last_day)),
                    "\", \"count\": ", last_day - first_day + 1, "}");
  } else {
    out.append("null");
  }
  absl::StrAppend(&out, ", \"shards\": ", shards.size(), ", \"sources\": {");
  first = true;
  for (auto& [source, line] : positions) {
    if (!first) out.append(", ");
    first = false;
    AppendJsonString(&out, source);
    out.append(": ");
    AppendJsonString(&out, line);
  }
  out.append("}}\n");
  std::cout << out;
  return 0;
}

}  // namespace chatkpi

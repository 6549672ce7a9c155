#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/engine.h"
#include "engine/live_store.h"
#include "ingest/event_parser.h"
#include "query/json_text.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

// Appends one `assessment` event, exactly as if it had arrived in a file:
// it goes through the parser's checks and into the event log.
const CommandSpec& AssessCommand() {
  static const auto* spec =
      new CommandSpec{"assess",
                      "",
                      "append an assessment input (target, supervisor mark)",
                      {{"db", "DIR", "the store (required)"},
                       {"agent", "A", "the agent (required)"},
                       {"month", "YYYY-MM", "the month (required)"},
                       {"metric", "M", "the input's name (required)"},
                       {"value", "V", "the value (required)"},
                       {"id", "ID", "event id (derived from the fields)"},
                       {"ts", "MS", "event time in ms (now)"}},
                      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunAssess(int argc, char** argv) {
  const char* kCmd = "assess";
  auto args = Args::Parse(argc, argv, AssessCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  for (const char* f : {"db", "agent", "month", "metric", "value"}) {
    if (auto v = args->Require(f); !v.ok()) return Fail(kCmd, v.status());
  }
  auto ts = args->GetInt("ts", absl::ToUnixMillis(absl::Now()));
  if (!ts.ok()) return Fail(kCmd, ts.status());
  const std::string agent = *args->Get("agent");
  const std::string month = *args->Get("month");
  const std::string metric = *args->Get("metric");
  const std::string id = args->Get("id").value_or(
      absl::StrCat("assess:", agent, ":", month, ":", metric, ":", *ts));

  std::string json = "{\"type\": \"assessment\", \"id\": ";
  AppendJsonString(&json, id);
  absl::StrAppend(&json, ", \"ts\": ", *ts, ", \"agent\": ");
  AppendJsonString(&json, agent);
  json.append(", \"period\": ");
  AppendJsonString(&json, month);
  json.append(", \"metric\": ");
  AppendJsonString(&json, metric);
  // The value is inserted as written so that the parser judges the number
  // (and money stays exact).
  absl::StrAppend(&json, ", \"value\": ", *args->Get("value"), "}");

  EventParser parser;
  Event event;
  if (absl::Status s = parser.Parse(json, &event); !s.ok()) {
    return Fail(kCmd, absl::InvalidArgumentError(absl::StrCat(
                          "not a valid assessment: ", s.message())));
  }
  // One short commit: the generation lock is held throughout, so that a
  // concurrent `chatkpi replay` cannot switch --db under it.
  auto live = LiveStore::Open(*args->Get("db"));
  if (!live.ok()) return Fail(kCmd, live.status());
  auto switched = (*live)->LockForCommit();
  if (!switched.ok()) return Fail(kCmd, switched.status());
  if (*switched) {
    if (absl::Status s = (*live)->Reopen(); !s.ok()) return Fail(kCmd, s);
  }
  Store* store = &(*live)->store();
  auto stored = StoredRules(*store);
  if (!stored.ok()) return Fail(kCmd, stored.status());
  absl::StatusOr<Rules> rules =
      stored->has_value() ? absl::StatusOr<Rules>(**stored) : DefaultRules();
  if (!rules.ok()) return Fail(kCmd, rules.status());
  auto engine = Engine::Open(*rules, store);
  if (!engine.ok()) return Fail(kCmd, engine.status());
  auto applied = (*engine)->Apply(event, json);
  if (!applied.ok()) return Fail(kCmd, applied.status());
  if (absl::Status s = (*engine)->Commit(); !s.ok()) return Fail(kCmd, s);
  std::cout << json << "\n";
  if (!*applied)
    std::cerr << "chatkpi assess: id " << id << " was already taken in\n";
  return 0;
}

}  // namespace chatkpi

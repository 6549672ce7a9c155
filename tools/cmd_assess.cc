#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/live_store.h"
#include "ingest/event_parser.h"
#include "query/assessment_metrics.h"
#include "query/roster.h"
#include "store/coding.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {
namespace {

// Whether the stored input of the event's (period, agent, metric) is this
// very event: the same id and the same value. Records keep only the winning
// input per key, so a resend of a superseded input reads as different.
absl::StatusOr<bool> SameAssessmentStored(Store& store, const Event& e) {
  std::string key = e.period;
  key.push_back('\0');
  key.append(e.agent);
  key.push_back('\0');
  key.append(e.metric);
  auto stored = store.Get(Family::kAssessments, key);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return false;
  std::string_view v = **stored, order;
  if (!GetLengthPrefixed(&v, &order) || order.size() < 8) {
    return absl::DataLossError("assessment record is corrupt");
  }
  if (order.substr(8) != e.id) return false;  // after the 8-byte ts
  if (IsMoneyAssessment(e.metric)) {
    int64_t a = 0, b = 0;
    return ParseYuanToFen(v, &a).ok() &&
           ParseYuanToFen(e.value_text, &b).ok() && a == b;
  }
  double a = 0, b = 0;
  return absl::SimpleAtod(std::string(v), &a) &&
         absl::SimpleAtod(e.value_text, &b) && a == b;
}

}  // namespace

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
  // Typed by a person, as a roster's ids are: trimmed the same way, and
  // refused with a character that shows as nothing (query/roster.h).
  const std::string agent(absl::StripAsciiWhitespace(*args->Get("agent")));
  if (absl::Status typed = CheckTypedAgentId(agent); !typed.ok()) {
    return Fail(kCmd, typed);
  }
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

  // Known metric, value in range, money exact: checked before the store
  // is opened, so a refusal changes nothing (docs/scoring.md).
  if (absl::Status s = CheckAssessmentInput(metric, *args->Get("value"));
      !s.ok()) {
    return Fail(kCmd, absl::InvalidArgumentError(s.message()));
  }

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
  if (!*applied) {
    // A resend: harmless if it is the same input, an error otherwise (the
    // first one stays; a correction needs a new id).
    auto same = SameAssessmentStored(*store, event);
    if (!same.ok()) return Fail(kCmd, same.status());
    if (!*same) {
      return Fail(kCmd, absl::AlreadyExistsError(absl::StrCat(
                            "id ", id,
                            " is already recorded with a different agent, "
                            "month, metric or value (or was superseded); "
                            "nothing changed: use a new --id")));
    }
    std::cerr << "chatkpi assess: id " << id << " already recorded\n";
    return 0;
  }
  std::cout << json << "\n";
  // Recorded either way (the roster may be imported later), but a typo'd
  // or departed agent is worth a word now: scoring will list the input as
  // unrostered and pay nothing for it (docs/scoring.md, "Roster").
  auto roster = ReadCurrentRoster(*store);
  absl::CivilMonth m;
  if (roster.ok() && roster->has_value() && absl::ParseCivilTime(month, &m) &&
      !(*roster)->EmployedIn(agent, m)) {
    std::cerr << "chatkpi assess: warning: " << agent << " is not employed in "
              << month << " on roster version " << (*roster)->version
              << "; the input will be listed as "
              << "unrostered\n";
  }
  return 0;
}

}  // namespace chatkpi

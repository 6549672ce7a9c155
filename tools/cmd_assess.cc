#include <iostream>
#include <optional>
#include <string>

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

// The winning input stored for the event's (period, agent, metric): its
// AssessmentOrder bytes (an 8-byte big-endian ts, then the id) and its value
// as written. nullopt when there is none.
struct StoredInput {
  std::string order;
  std::string value;
};
absl::StatusOr<std::optional<StoredInput>> StoredAssessment(Store& store,
                                                            const Event& e) {
  auto stored = store.Get(Family::kAssessments, AssessmentKey(e));
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  std::string_view v = **stored, order;
  if (!GetLengthPrefixed(&v, &order) || order.size() < 8) {
    return absl::DataLossError("assessment record is corrupt");
  }
  return StoredInput{std::string(order), std::string(v)};
}

int64_t OrderTs(std::string_view order) {
  uint64_t ts = 0;
  GetFixed64BE(&order, &ts);
  return static_cast<int64_t>(ts);
}

// Whether `stored` is this very event: the same id and the same value.
// Records keep only the winning input per key, so a resend of a superseded
// input reads as different.
bool SameAssessment(const std::optional<StoredInput>& stored, const Event& e) {
  if (!stored.has_value() || stored->order.substr(8) != e.id) return false;
  if (IsMoneyAssessment(e.metric)) {
    int64_t a = 0, b = 0;
    return ParseYuanToFen(stored->value, &a).ok() &&
           ParseYuanToFen(e.value_text, &b).ok() && a == b;
  }
  double a = 0, b = 0;
  return absl::SimpleAtod(stored->value, &a) &&
         absl::SimpleAtod(e.value_text, &b) && a == b;
}

}  // namespace

// Appends one `assessment` event, exactly as if it had arrived in a file:
// it goes through the parser's checks and into the event log.
const CommandSpec& AssessCommand() {
  static const auto* spec = new CommandSpec{
      "assess",
      "",
      "append an assessment input (target, supervisor mark)",
      {{"db", "DIR", "a store that ingest or run made (required)"},
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
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  auto ts = args->GetInt("ts", now_ms);
  if (!ts.ok()) return Fail(kCmd, ts.status());
  // A time ahead of the clock would outrank every correction made before
  // it comes: a day covers clocks that disagree.
  if (*ts > now_ms + int64_t{86400000}) {
    return Fail(kCmd,
                absl::InvalidArgumentError(absl::StrCat(
                    "--ts ", *ts, " is more than a day ahead of now (", now_ms,
                    "): it would outrank every correction entered "
                    "before then")));
  }
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
  // Only a store ingest or run made: a mistyped --db would otherwise
  // become a new store that nobody scores (docs/scoring.md).
  StoreOptions existing;
  existing.create_if_missing = false;
  auto live = LiveStore::Open(*args->Get("db"), existing);
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
  // Of one (agent, month, input) the greatest (ts, id) counts: an input
  // that a later one outranks would be recorded and never scored, so it is
  // refused, saying which input stands (docs/scoring.md).
  auto before = StoredAssessment(*store, event);
  if (!before.ok()) return Fail(kCmd, before.status());
  if (before->has_value() && (*before)->order.substr(8) != event.id &&
      (*before)->order > AssessmentOrder(event)) {
    return Fail(
        kCmd,
        absl::FailedPreconditionError(absl::StrCat(
            agent, "'s ", metric, " for ", month, " is ", (*before)->value,
            " from input ", (*before)->order.substr(8), " at ts ",
            OrderTs((*before)->order), ", later than this one (", event.ts_ms,
            "), which would never count; nothing "
            "changed: give --ts after ",
            OrderTs((*before)->order), " to correct it")));
  }
  auto engine = Engine::Open(*rules, store);
  if (!engine.ok()) return Fail(kCmd, engine.status());
  auto applied = (*engine)->Apply(event, json);
  if (!applied.ok()) return Fail(kCmd, applied.status());
  if (absl::Status s = (*engine)->Commit(); !s.ok()) return Fail(kCmd, s);
  if (!*applied) {
    // A resend: harmless if it is the same input, an error otherwise (the
    // first one stays; a correction needs a new id).
    auto stored = StoredAssessment(*store, event);
    if (!stored.ok()) return Fail(kCmd, stored.status());
    if (!SameAssessment(*stored, event)) {
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

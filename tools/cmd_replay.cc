// `chatkpi replay --db DIR --rules FILE [--keep]`: recompute all history
// under new rules into a new generation and switch DIR to it while the live
// pipeline keeps running (engine/replay.h, docs/replay.md). Progress goes
// to stderr; a one-line JSON summary to stdout.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/json_text.h"
#include "engine/evicted_states.h"
#include "engine/replay.h"
#include "engine/rules.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {
namespace {

std::string Eta(const std::optional<absl::Duration>& eta) {
  if (!eta.has_value()) return "?";
  const int64_t s = absl::ToInt64Seconds(*eta);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrCat(s, "s");
}

}  // namespace

const CommandSpec& ReplayCommand() {
  static const auto* spec = new CommandSpec{
      "replay",
      "",
      "recompute history under new rules, switch live (docs/replay.md)",
      {{"db", "DIR", "the store (required)"},
       {"rules", "FILE", "the new rules (required)"},
       {"keep", "", "keep the old generation, queryable by its version"},
       {"commit-every", "N", "events per commit of each engine (300000)"},
       {"threads", "N",
        "threads that apply events (every core; 1 = one, as before)"},
       {"retire-wait-s", "S", "wait for writers to leave the old one (10)"},
       {"convert-wait-s", "S",
        "wait for the writer of a plain store to convert it (60)"},
       {"final-threshold", "N", "events left before writers are held (20000)"},
       {"quiet", "", "no progress lines"}},
      "exit codes: 0 switched, 2 usage error (bad rules file, a version "
      "that already names other rules), 1 other failure"};
  return *spec;
}

int RunReplay(int argc, char** argv) {
  const char* kCmd = "replay";
  auto args = Args::Parse(argc, argv, ReplayCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (absl::Status s = args->RequireNoPositional(); !s.ok()) {
    return Fail(kCmd, s);
  }
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto rules_path = args->Require("rules");
  if (!rules_path.ok()) return Fail(kCmd, rules_path.status());
  auto rules = LoadRulesFile(*rules_path);
  if (!rules.ok()) {
    // A bad rules file is the user's to fix, like a bad flag.
    return Fail(kCmd, absl::InvalidArgumentError(rules.status().message()));
  }
  ReplayOptions opts;
  opts.keep_old = args->Has("keep");
  auto every = args->GetInt("commit-every", opts.commit_every);
  auto wait = args->GetInt("retire-wait-s", 10);
  auto convert_wait = args->GetInt("convert-wait-s", 60);
  auto threshold = args->GetInt("final-threshold", opts.final_threshold);
  auto threads = args->GetInt(
      "threads", std::max(1u, std::thread::hardware_concurrency()));
  for (const auto* v : {&every, &wait, &convert_wait, &threshold, &threads}) {
    if (!v->ok()) return Fail(kCmd, v->status());
  }
  if (*every < 1 || *wait < 0 || *convert_wait < 0 || *threshold < 0) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--commit-every must be >= 1, --retire-wait-s, "
                          "--convert-wait-s and --final-threshold >= 0"));
  }
  if (*threads < 1 || *threads > 256) {
    return Fail(kCmd,
                absl::InvalidArgumentError("--threads must be in [1, 256]"));
  }
  opts.commit_every = *every;
  opts.threads = static_cast<int>(*threads);
  opts.retire_wait = absl::Seconds(*wait);
  opts.convert_wait = absl::Seconds(*convert_wait);
  opts.final_threshold = *threshold;

  const bool tty = isatty(STDERR_FILENO);
  const bool quiet = args->Has("quiet");
  bool progress_line_open = false;
  opts.log = [&](const std::string& line) {
    if (progress_line_open) std::cerr << "\n";
    progress_line_open = false;
    std::cerr << "chatkpi replay: " << line << "\n";
  };
  if (!quiet) {
    // A terminal gets one line rewritten in place; a log file gets a line
    // per report.
    if (!tty) opts.progress_interval = absl::Seconds(5);
    opts.progress = [&](const ReplayProgress& p) {
      const double pct =
          p.total > 0 ? 100.0 * static_cast<double>(p.done) / p.total : 100;
      std::string line = absl::StrFormat(
          "chatkpi replay: %s %d/%d events (%.1f%%), %.0f events/s, ETA %s",
          p.phase, p.done, p.total, pct, p.events_per_s, Eta(p.eta));
      if (tty) {
        std::cerr << "\r" << line << "\033[K" << std::flush;
        progress_line_open = true;
      } else {
        std::cerr << line << "\n";
      }
    };
  }
  // The new generation's pool of evicted states goes back to the system
  // with the process instead of being freed before the switch.
  opts.evicted_states = std::make_shared<EvictedStates>();
  KeepUntilExit(opts.evicted_states);
  auto report = Replay(*db, *rules, opts);
  if (progress_line_open) std::cerr << "\n";
  if (!report.ok()) return Fail(kCmd, report.status());

  const double secs = absl::ToDoubleSeconds(report->elapsed);
  const std::string old_state = report->old_kept      ? "kept"
                                : report->old_deleted ? "deleted"
                                                      : "retired";
  std::cerr << "chatkpi replay: switched " << *db << " from "
            << report->old_generation << " (rules " << report->old_version
            << ") to " << report->new_generation << " (rules "
            << report->new_version << "): " << report->events << " events, "
            << report->dead_letters << " dead letters copied, "
            << report->rounds << " passes, "
            << absl::StrFormat("%.2f s, %.0f events/s", secs,
                               secs > 0 ? report->events / secs : 0)
            << "; writers held "
            << absl::ToInt64Milliseconds(report->writers_held) << " ms; old "
            << "generation " << old_state << "\n";
  std::string json = "{\"old_generation\": ";
  AppendJsonString(&json, report->old_generation);
  json.append(", \"old_version\": ");
  AppendJsonString(&json, report->old_version);
  json.append(", \"new_generation\": ");
  AppendJsonString(&json, report->new_generation);
  json.append(", \"new_version\": ");
  AppendJsonString(&json, report->new_version);
  absl::StrAppend(&json, ", \"events\": ", report->events,
                  ", \"dead_letters\": ", report->dead_letters,
                  ", \"passes\": ", report->rounds, ", \"seconds\": ");
  AppendJsonDouble(&json, secs);
  json.append(", \"events_per_s\": ");
  AppendJsonDouble(&json, secs > 0 ? std::round(report->events / secs) : 0);
  absl::StrAppend(&json, ", \"writers_held_ms\": ",
                  absl::ToInt64Milliseconds(report->writers_held),
                  ", \"converted\": ", report->converted ? "true" : "false",
                  ", \"old\": \"", old_state, "\"}");
  std::cout << json << "\n";
  return 0;
}

}  // namespace chatkpi

#include <malloc.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/evicted_states.h"
#include "engine/file_ingest.h"
#include "engine/live_store.h"
#include "engine/rules.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/kafka_flags.h"

namespace chatkpi {

// No --rules: the store's live rules (the last replay's), so that a file
// pipeline goes on across rules changes (docs/replay.md).
absl::StatusOr<std::optional<Rules>> RulesFromArgs(const Args& args) {
  auto path = args.Get("rules");
  if (!path.has_value()) return std::optional<Rules>();
  auto rules = LoadRulesFile(*path);
  if (!rules.ok()) return rules.status();
  return std::optional<Rules>(std::move(*rules));
}

const CommandSpec& IngestCommand() {
  static const auto* spec = new CommandSpec{
      "ingest",
      "FILE...",
      "take in JSONL events (FILE - reads stdin)",
      {{"db", "DIR", "the store (created if missing; required)"},
       {"rules", "FILE",
        "rules for a new store; without it, the store's live rules "
        "(docs/replay.md)"},
       {"commit-every", "N", "events per commit (200000)"},
       {"threads", "N",
        "threads that apply events (every core; 1 keeps a new store in one "
        "shard, more give it 8 file shards); exact either way "
        "(docs/engine.md, \"Parallel ingest\")"},
       {"max-line-bytes", "N",
        "longest line taken in (1048576, docs/limits.md)"},
       {"max-agents-per-day", "N", "warn past N distinct agents a day"},
       {"max-buyers-per-day", "N", "warn past N distinct buyers a day"},
       {"state-cache-mib", "N",
        "evicted buyer and order states kept in memory, MiB (64, "
        "docs/engine.md \"Memory\")"},
       {"live-state-mib", "N",
        "buyer and order states held between commits, MiB: past it a commit "
        "comes early (64, docs/engine.md \"Memory\")"},
       {"follow", "",
        "keep reading files as they grow, through rotation like tail -F; "
        "SIGTERM commits and exits 0 (docs/engine.md)"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunIngest(int argc, char** argv) {
  const char* kCmd = "ingest";
  auto args = Args::Parse(argc, argv, IngestCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  if (args->positional().empty()) {
    return Fail(kCmd, absl::InvalidArgumentError("no input FILE given"));
  }
  // Before the store is opened: a missing or unreadable FILE creates none.
  const bool follow = args->Has("follow");
  if (absl::Status s = CheckInputs(args->positional(), follow); !s.ok()) {
    return Fail(kCmd, s);
  }
  auto rules = RulesFromArgs(*args);
  if (!rules.ok()) return Fail(kCmd, rules.status());
  FileIngestOptions opts;
  auto every = args->GetInt("commit-every", opts.commit_every);
  if (!every.ok()) return Fail(kCmd, every.status());
  if (*every < 1) {
    return Fail(kCmd,
                absl::InvalidArgumentError("--commit-every must be >= 1"));
  }
  opts.commit_every = *every;
  // Without --threads: every core (FileIngestOptions::threads = 0).
  auto threads = args->GetInt("threads", 0);
  if (!threads.ok()) return Fail(kCmd, threads.status());
  if (args->Has("threads") && (*threads < 1 || *threads > 256)) {
    return Fail(kCmd,
                absl::InvalidArgumentError("--threads must be in [1, 256]"));
  }
  opts.threads = static_cast<int>(*threads);
  // glibc gives threads that allocate at once arenas of their own, up to 8
  // per core, and memory one frees stays in its arena: the states a shard
  // evicts are not reused by the reader's allocations. As many arenas as
  // applying threads (2 at least) keep the peak down (docs/engine.md,
  // "Memory").
  mallopt(M_ARENA_MAX, std::max(2, opts.threads));
  // Limits against hostile input (docs/limits.md).
  auto max_line = args->GetInt("max-line-bytes", opts.max_line_bytes);
  if (!max_line.ok()) return Fail(kCmd, max_line.status());
  if (*max_line < 64 || *max_line > (int64_t{1} << 30)) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--max-line-bytes must be in [64, 1073741824]"));
  }
  opts.max_line_bytes = static_cast<size_t>(*max_line);
  EngineOptions engine_opts;
  auto agents =
      args->GetInt("max-agents-per-day", engine_opts.limits.max_agents_per_day);
  if (!agents.ok()) return Fail(kCmd, agents.status());
  auto buyers =
      args->GetInt("max-buyers-per-day", engine_opts.limits.max_buyers_per_day);
  if (!buyers.ok()) return Fail(kCmd, buyers.status());
  if (*agents < 1 || *buyers < 1) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--max-agents-per-day and --max-buyers-per-day "
                          "must be >= 1"));
  }
  engine_opts.limits.max_agents_per_day = *agents;
  engine_opts.limits.max_buyers_per_day = *buyers;
  auto cache_mib =
      args->GetInt("state-cache-mib", EvictedStates::kDefaultBudgetBytes >> 20);
  if (!cache_mib.ok()) return Fail(kCmd, cache_mib.status());
  if (*cache_mib < 0 || *cache_mib > (int64_t{1} << 20)) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--state-cache-mib must be in [0, 1048576]"));
  }
  engine_opts.evicted_states =
      std::make_shared<EvictedStates>(static_cast<size_t>(*cache_mib) << 20);
  auto live_mib =
      args->GetInt("live-state-mib", kDefaultLiveStateBudgetBytes >> 20);
  if (!live_mib.ok()) return Fail(kCmd, live_mib.status());
  if (*live_mib < 1 || *live_mib > (int64_t{1} << 20)) {
    return Fail(kCmd, absl::InvalidArgumentError(
                          "--live-state-mib must be in [1, 1048576]"));
  }
  engine_opts.live_state_budget_bytes = static_cast<size_t>(*live_mib) << 20;

  // Installed before the store opens: a stop from then on is a clean one.
  const std::atomic<bool>* stop = follow ? StopOnSignals() : nullptr;
  // Through the generation protocol, so that `chatkpi replay` can switch
  // --db to a new generation while this runs (engine/live_store.h).
  auto live = LiveEngine::Open(
      *db, *rules, engine_opts, StoreOptions(), [](const std::string& line) {
        std::cerr << "chatkpi ingest: " << line << "\n";
      });
  if (!live.ok()) return Fail(kCmd, live.status());
  opts.gate = live->get();
  // The store is closed as soon as the files are in: its close starts with
  // the last commit written (docs/engine.md, "The end of a run").
  opts.store_closes_after = true;
  opts.log = [](const std::string& line) {
    std::cerr << "chatkpi ingest: " << line << "\n";
  };
  FileIngestReport report;
  absl::Status s = follow ? FollowFiles((*live)->engine(), args->positional(),
                                        opts, *stop, &report)
                          : IngestFiles((*live)->engine(), args->positional(),
                                        opts, &report);
  if (!s.ok()) return Fail(kCmd, s);
  // Everything is written; the store closes below. The pool of evicted
  // states (up to --state-cache-mib of small blocks, tens of ms to free one
  // by one) goes back to the system with the process instead.
  KeepUntilExit(engine_opts.evicted_states);
  live->reset();
  std::cerr << "ingested " << report.lines << " lines: " << report.accepted
            << " new events, " << report.duplicates << " duplicates, "
            << report.dead_letters << " dead letters, " << report.skipped_lines
            << " lines already taken in\n";
  if (const int64_t n = report.conflicts; n > 0) {
    std::cerr << "chatkpi ingest: " << n
              << " conflicting duplicate(s) (an id seen with other content) "
                 "resolved by the rule of docs/engine.md; list them with "
                 "`chatkpi dead-letters --conflicts`\n";
  }
  return 0;
}

}  // namespace chatkpi

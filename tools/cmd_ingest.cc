#include <iostream>

#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/live_store.h"
#include "engine/rules.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

absl::StatusOr<Rules> RulesFromArgs(const Args& args) {
  auto path = args.Get("rules");
  return path.has_value() ? LoadRulesFile(*path) : DefaultRules();
}

int RunIngest(int argc, char** argv) {
  const char* kCmd = "ingest";
  auto args = Args::Parse(argc, argv,
                          {"db", "rules", "commit-every", "max-line-bytes",
                           "max-agents-per-day", "max-buyers-per-day"});
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  if (args->positional().empty()) {
    return Fail(kCmd, absl::InvalidArgumentError("no input FILE given"));
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

  // Through the generation protocol, so that `chatkpi replay` can switch
  // --db to a new generation while this runs (engine/live_store.h).
  auto live = LiveEngine::Open(
      *db, *rules, engine_opts, StoreOptions(), [](const std::string& line) {
        std::cerr << "chatkpi ingest: " << line << "\n";
      });
  if (!live.ok()) return Fail(kCmd, live.status());
  opts.gate = live->get();
  FileIngestReport report;
  absl::Status s =
      IngestFiles((*live)->engine(), args->positional(), opts, &report);
  if (!s.ok()) return Fail(kCmd, s);
  std::cerr << "ingested " << report.lines << " lines: " << report.accepted
            << " new events, " << report.duplicates << " duplicates, "
            << report.dead_letters << " dead letters, " << report.skipped_lines
            << " lines already taken in\n";
  if (const int64_t n = (*live)->engine().stats().conflicts; n > 0) {
    std::cerr << "chatkpi ingest: " << n
              << " conflicting duplicate(s) (an id seen with other content) "
                 "resolved by the rule of docs/engine.md; list them with "
                 "`chatkpi dead-letters --conflicts`\n";
  }
  return 0;
}

}  // namespace chatkpi

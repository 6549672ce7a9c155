#include <iostream>

#include "engine/engine.h"
#include "engine/file_ingest.h"
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
  auto args = Args::Parse(argc, argv, {"db", "rules", "commit-every"});
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
    return Fail(kCmd, absl::InvalidArgumentError("--commit-every must be >= 1"));
  }
  opts.commit_every = *every;

  auto store = Store::Open(*db, StoreOptions());
  if (!store.ok()) return Fail(kCmd, store.status());
  auto engine = Engine::Open(*rules, store->get());
  if (!engine.ok()) return Fail(kCmd, engine.status());
  FileIngestReport report;
  absl::Status s = IngestFiles(**engine, args->positional(), opts, &report);
  if (!s.ok()) return Fail(kCmd, s);
  std::cerr << "ingested " << report.lines << " lines: " << report.accepted
            << " new events, " << report.duplicates << " duplicates, "
            << report.dead_letters << " dead letters, " << report.skipped_lines
            << " lines already taken in\n";
  return 0;
}

}  // namespace chatkpi

// `chatkpi dead-letters --db DIR [--reason R] [--format json|csv]`: the
// lines the store refused, with where they came from and why; with
// `--conflicts`, the conflicting duplicates it recorded instead
// (query/dead_letters.h).
#include <iostream>

#include "query/dead_letters.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

const CommandSpec& DeadLettersCommand() {
  static const auto* spec = new CommandSpec{
      "dead-letters",
      "",
      "list the refused lines (or the conflicting duplicates) with position, "
      "reason and raw line",
      {{"db", "DIR", "the store (required)"},
       {"reason", "R", "only this reason or category (all)"},
       {"conflicts", "",
        "list the conflicting duplicates instead (docs/engine.md)"},
       {"format", "json|csv", "output format (json)"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunDeadLetters(int argc, char** argv) {
  const char* kCmd = "dead-letters";
  auto args = Args::Parse(argc, argv, DeadLettersCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (auto s = args->RequireNoPositional(); !s.ok()) return Fail(kCmd, s);
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto format = ParseOutputFormat(*args);
  if (!format.ok()) return Fail(kCmd, format.status());
  StoreOptions so;
  so.read_only = true;
  so.create_if_missing = false;
  auto store = Store::Open(*db, so);
  if (!store.ok()) return Fail(kCmd, store.status());
  if (args->Has("conflicts")) {
    if (args->Has("reason")) {
      return Fail(kCmd, absl::InvalidArgumentError(
                            "--reason lists dead letters, not --conflicts"));
    }
    auto conflicts = ReadConflicts(**store);
    if (!conflicts.ok()) return Fail(kCmd, conflicts.status());
    std::cout << (format->csv ? ConflictsToCsv(*conflicts)
                              : ConflictsToJson(*conflicts));
    std::cout.flush();
    return std::cout
               ? 0
               : Fail(kCmd, absl::UnavailableError("writing to stdout failed"));
  }
  DeadLetterFilter filter;
  filter.reason = args->Get("reason").value_or("");
  auto page = ReadDeadLetters(**store, filter);
  if (!page.ok()) return Fail(kCmd, page.status());
  std::cout << (format->csv ? DeadLettersToCsv(*page)
                            : DeadLettersToJson(*page));
  std::cout.flush();
  if (!std::cout) {
    return Fail(kCmd, absl::UnavailableError("writing to stdout failed"));
  }
  return 0;
}

}  // namespace chatkpi

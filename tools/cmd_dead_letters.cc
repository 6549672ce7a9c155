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

int RunDeadLetters(int argc, char** argv) {
  const char* kCmd = "dead-letters";
  auto args =
      Args::Parse(argc, argv, {"db", "reason", "format"}, {"conflicts"});
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

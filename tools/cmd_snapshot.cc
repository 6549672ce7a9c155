#include <iostream>

#include "engine/generation_select.h"
#include "query/snapshot.h"
#include "query/snapshot_compare.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

const CommandSpec& SnapshotCommand() {
  static const auto* spec = new CommandSpec{
      "snapshot",
      "",
      "KPIs per agent and day range",
      {{"db", "DIR", "the store (required)"},
       {"from", "YYYY-MM-DD", "first day (required)"},
       {"to", "YYYY-MM-DD", "last day, included (required)"},
       {"format", "json|csv", "output format (json)"},
       {"lang", "en|zh", "column names (en)"},
       {"rules-version", "V", "a kept generation's rules version (live)"},
       {"compare-from", "YYYY-MM-DD",
        "first day of an earlier period to print beside (docs/spec.md)"},
       {"compare-to", "YYYY-MM-DD", "its last day, included"}},
      "exit codes: 0 done, 2 usage error, 1 other failure"};
  return *spec;
}

int RunSnapshot(int argc, char** argv) {
  const char* kCmd = "snapshot";
  auto args = Args::Parse(argc, argv, SnapshotCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto from = args->RequireDay("from");
  if (!from.ok()) return Fail(kCmd, from.status());
  auto to = args->RequireDay("to");
  if (!to.ok()) return Fail(kCmd, to.status());
  if (*to < *from) {
    return Fail(kCmd, absl::InvalidArgumentError("--to is before --from"));
  }
  auto output = ParseOutputFormat(*args);
  if (!output.ok()) return Fail(kCmd, output.status());
  // --rules-version: a generation kept by `chatkpi replay --keep`.
  auto generation =
      OpenGeneration(*db, args->Get("rules-version").value_or(""));
  if (!generation.ok()) return Fail(kCmd, generation.status());
  Store* store = generation->store.get();
  auto snap = ReadSnapshot(*store, *from, *to);
  if (!snap.ok()) return Fail(kCmd, snap.status());
  const ColumnLanguage lang =
      output->chinese ? ColumnLanguage::kChinese : ColumnLanguage::kEnglish;
  // --compare-from/--compare-to: an earlier period beside this one.
  if (args->Has("compare-from") || args->Has("compare-to")) {
    auto cfrom = args->RequireDay("compare-from");
    if (!cfrom.ok()) return Fail(kCmd, cfrom.status());
    auto cto = args->RequireDay("compare-to");
    if (!cto.ok()) return Fail(kCmd, cto.status());
    if (*cto < *cfrom) {
      return Fail(kCmd, absl::InvalidArgumentError(
                            "--compare-to is before --compare-from"));
    }
    auto prev = ReadSnapshot(*store, *cfrom, *cto);
    if (!prev.ok()) return Fail(kCmd, prev.status());
    std::cout << (output->csv ? ComparedSnapshotToCsv(*snap, *prev, lang)
                              : ComparedSnapshotToJson(*snap, *prev));
    return 0;
  }
  std::cout << (output->csv ? SnapshotToCsv(*snap, lang)
                            : SnapshotToJson(*snap));
  return 0;
}

}  // namespace chatkpi

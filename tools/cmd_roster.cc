#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/generation_select.h"
#include "engine/live_store.h"
#include "query/roster.h"
#include "store/generations.h"
#include "store/store.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

// `chatkpi roster --db DIR --file staff.csv` imports a roster (all or
// nothing); `chatkpi roster --db DIR [--version N] [--format json|csv]`
// prints the current one, or an earlier version (docs/scoring.md, "Roster").
const CommandSpec& RosterCommand() {
  static const auto* spec = new CommandSpec{
      "roster",
      "",
      "import or print the staff roster: who is assessed and paid",
      {{"db", "DIR", "a store that ingest or run made (required)"},
       {"file", "staff.csv",
        "import this roster (header agent,name,hired,left), replacing the "
        "current one; earlier versions are kept"},
       {"version", "N", "print an earlier version (the current one)"},
       {"format", "json|csv", "output format when printing (json)"}},
      "docs/scoring.md, \"Roster\". exit codes: 0 done, 2 usage error, 1 "
      "other failure (a bad row: nothing is stored)"};
  return *spec;
}

int RunRoster(int argc, char** argv) {
  const char* kCmd = "roster";
  auto args = Args::Parse(argc, argv, RosterCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  if (auto s = args->RequireNoPositional(); !s.ok()) return Fail(kCmd, s);
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto output = ParseOutputFormat(*args);
  if (!output.ok()) return Fail(kCmd, output.status());

  if (auto file = args->Get("file"); file.has_value()) {
    if (args->Has("version")) {
      return Fail(kCmd, absl::InvalidArgumentError(
                            "--version is for printing, not with --file"));
    }
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      return Fail(kCmd,
                  absl::NotFoundError(absl::StrCat("cannot read ", *file)));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    // Parsed completely before the store is opened: a bad file changes
    // nothing.
    auto roster = ParseRosterCsv(buf.str());
    if (!roster.ok()) {
      return Fail(kCmd, absl::InvalidArgumentError(absl::StrCat(
                            *file, ": ", roster.status().message())));
    }
    roster->imported_ms = absl::ToUnixMillis(absl::Now());
    roster->source = *file;
    // Only a store ingest or run made: a mistyped --db would otherwise
    // become a new store that nobody scores (docs/scoring.md).
    StoreOptions existing;
    existing.create_if_missing = false;
    auto live = LiveStore::Open(*db, existing);
    if (!live.ok()) return Fail(kCmd, live.status());
    auto switched = (*live)->LockForCommit();
    if (!switched.ok()) return Fail(kCmd, switched.status());
    if (*switched) {
      if (absl::Status s = (*live)->Reopen(); !s.ok()) return Fail(kCmd, s);
    }
    // A replay copies the meta family (and so the roster) when it starts:
    // an import while one runs would be lost at its switch. Holding the
    // replay lock across the write keeps one from starting meanwhile.
    FileLock replay_lock;
    const GenerationPaths& paths = (*live)->paths();
    std::error_code ec;
    if (std::filesystem::exists(paths.generations, ec)) {
      auto held = FileLock::Acquire(paths.ReplayLock(), /*wait=*/false);
      if (!held.ok()) {
        return Fail(kCmd, absl::UnavailableError(
                              "a chatkpi replay is running on this store: "
                              "import the roster after it has switched"));
      }
      replay_lock = std::move(*held);
    }
    auto version = StoreRoster((*live)->store(), *roster);
    if (!version.ok()) return Fail(kCmd, version.status());
    std::cerr << "chatkpi roster: imported " << roster->entries.size()
              << " agents from " << *file << " as version " << *version << "\n";
    return 0;
  }

  auto generation = OpenGeneration(*db, "");
  if (!generation.ok()) return Fail(kCmd, generation.status());
  Store& store = *generation->store;
  auto versions = RosterVersions(store);
  if (!versions.ok()) return Fail(kCmd, versions.status());
  absl::StatusOr<Roster> roster;
  if (args->Has("version")) {
    auto v = args->GetInt("version", 0);
    if (!v.ok()) return Fail(kCmd, v.status());
    roster = ReadRosterVersion(store, *v);
  } else if (versions->empty()) {
    roster = absl::NotFoundError(
        "no roster yet: import one with --file staff.csv (header "
        "agent,name,hired,left)");
  } else {
    roster = ReadRosterVersion(store, versions->back());
  }
  if (!roster.ok()) return Fail(kCmd, roster.status());
  std::cout << (output->csv ? RosterToCsv(*roster)
                            : RosterToJson(*roster, *versions));
  return 0;
}

}  // namespace chatkpi

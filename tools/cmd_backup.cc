// `chatkpi backup` and `chatkpi restore` (docs/deploy.md, "Backups").
#include <iostream>

#include "store/backup.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

const CommandSpec& BackupCommand() {
  static const auto* spec = new CommandSpec{
      "backup",
      "",
      "a consistent copy of a store, safe while it is in use",
      {{"db", "DIR", "the store (required)"},
       {"to", "NEWDIR", "where the copy goes; must not exist (required)"}},
      "docs/deploy.md, \"Backups\". exit codes: 0 done, 2 usage error, 1 "
      "other failure"};
  return *spec;
}

const CommandSpec& RestoreCommand() {
  static const auto* spec = new CommandSpec{
      "restore",
      "",
      "make a store of a backup; never overwrites a store",
      {{"from", "BACKUP", "a directory `chatkpi backup` made (required)"},
       {"db", "NEWDIR",
        "the new store; must not exist or be empty "
        "(required)"}},
      "docs/deploy.md, \"Backups\". exit codes: 0 done, 2 usage error, 1 "
      "other failure"};
  return *spec;
}

int RunBackup(int argc, char** argv) {
  const char* kCmd = "backup";
  auto args = Args::Parse(argc, argv, BackupCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto to = args->Require("to");
  if (!to.ok()) return Fail(kCmd, to.status());
  auto report = BackupStore(*db, *to);
  if (!report.ok()) return Fail(kCmd, report.status());
  std::cout << "backed up " << *db << " to " << *to << ": " << report->commits
            << " commits, " << report->events << " events\n";
  return 0;
}

int RunRestore(int argc, char** argv) {
  const char* kCmd = "restore";
  auto args = Args::Parse(argc, argv, RestoreCommand());
  if (!args.ok()) return Fail(kCmd, args.status());
  auto from = args->Require("from");
  if (!from.ok()) return Fail(kCmd, from.status());
  auto db = args->Require("db");
  if (!db.ok()) return Fail(kCmd, db.status());
  auto report = RestoreStore(*from, *db);
  if (!report.ok()) return Fail(kCmd, report.status());
  std::cout << "restored " << *from << " to " << *db << ": " << report->commits
            << " commits, " << report->events << " events\n";
  return 0;
}

}  // namespace chatkpi

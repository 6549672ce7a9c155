// `chatkpi backup` and `chatkpi restore` (docs/deploy.md, "Backups").
#include <iostream>

#include "store/backup.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace chatkpi {

int RunBackup(int argc, char** argv) {
  const char* kCmd = "backup";
  auto args = Args::Parse(argc, argv, {"db", "to"});
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
  auto args = Args::Parse(argc, argv, {"from", "db"});
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

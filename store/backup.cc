#include "store/backup.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "store/generations.h"
#include "store/store.h"
#include "store/store_files.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;

// `to` may be created: it does not exist, or is an empty directory (which
// is removed, since a checkpoint makes its own).
absl::Status CheckTarget(const std::string& flag, const std::string& to) {
  std::error_code ec;
  // Generations beside a missing DIR are a store whose DIR was deleted
  // (docs/replay.md): a copy put there would be read with them, its
  // numbers beside another store's (`--rules-version`, `diff`).
  const std::string generations = GenerationPaths::For(to).generations;
  if (fs::exists(fs::symlink_status(generations, ec))) {
    return absl::FailedPreconditionError(absl::StrCat(
        flag, " ", to, ": ", generations,
        " exists, the generations of a store that was there: chatkpi never "
        "mixes two stores; delete it first, or name a new directory"));
  }
  const fs::file_status st = fs::symlink_status(to, ec);
  if (!fs::exists(st)) return absl::OkStatus();
  if (fs::is_directory(st) && fs::is_empty(to, ec) && !ec) {
    fs::remove(to, ec);
    if (!ec) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(flag, " ", to,
                   " exists and is not an empty directory: chatkpi never "
                   "overwrites it; name a new directory"));
}

// Checkpoints `source` into a temporary sibling of `to`, gives it chatkpi's
// files, opens it to check it and moves it into place. `whole`, if given,
// can still refuse the checkpoint once it is made.
absl::StatusOr<CopyReport> CopyInto(
    Store* source, const std::string& to,
    const std::function<absl::Status()>& whole = nullptr) {
  const std::string tmp = absl::StrCat(to, ".partial-", getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  absl::Status s = source->Checkpoint(tmp);
  if (s.ok() && whole) s = whole();
  CopyReport report;
  if (s.ok()) s = WriteStoreMarker(tmp);
  if (s.ok()) {
    // The copy's own count: what its files hold, read back from them.
    StoreOptions ro;
    ro.read_only = true;
    auto copy = Store::Open(tmp, ro);
    if (!copy.ok()) {
      s = copy.status();
    } else {
      s = (*copy)->VerifyChecksums();
      report = {(*copy)->commits(), (*copy)->next_seq()};
    }
  }
  if (s.ok()) {
    s = WriteCommitRecord(tmp, {report.commits, report.events, false, {}},
                          /*sync=*/true);
  }
  if (s.ok() && std::rename(tmp.c_str(), to.c_str()) != 0) {
    s = absl::UnavailableError(absl::StrCat("renaming ", tmp, " to ", to));
  }
  if (!s.ok()) {
    fs::remove_all(tmp, ec);
    return s;
  }
  return report;
}

// One attempt of BackupStore: follows the generation DIR names now.
absl::StatusOr<CopyReport> CopyLive(const std::string& db,
                                    const StoreOptions& follow,
                                    const std::string& to) {
  auto store = Store::Open(db, follow);
  if (!store.ok()) return store.status();
  // A writer may delete a file between the follower's look and its
  // copy (a flush or compaction finished): then look again. A table
  // file gone fails the copy. A WAL gone before the checkpoint listed
  // the WALs does not: RocksDB copies the WALs still there, and the
  // copy would lack the commits of the one the follower's view needed
  // (its writes are in tables of a MANIFEST newer than the view's). So
  // the WALs are listed before the catch-up and after the copy too.
  absl::StatusOr<CopyReport> report = absl::UnknownError("no attempt");
  const std::string& dir = (*store)->dir();
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::vector<uint64_t> wals = ListWals(dir);
    auto caught_up = (*store)->CatchUp();
    if (!caught_up.ok()) return caught_up.status();
    report = CopyInto(store->get(), to, [&]() -> absl::Status {
      if (!WalDeletedSince(dir, wals)) return absl::OkStatus();
      return absl::UnavailableError(absl::StrCat(
          "copying --db ", dir,
          ": the writer deleted a write-ahead log while the copy was "
          "made; try again"));
    });
    if (report.ok()) break;
  }
  return report;
}

}  // namespace

absl::StatusOr<CopyReport> BackupStore(
    const std::string& db, const std::string& to_flag,
    std::shared_ptr<FaultInjection> fault_injection) {
  const std::string to = WithoutTrailingSlash(to_flag);
  absl::Status s = CheckTarget("--to", to);
  if (!s.ok()) return s;
  // The follower's info log goes beside the backup, never into the store.
  const std::string secondary = absl::StrCat(to, ".secondary-", getpid());
  StoreOptions follow;
  follow.read_only = true;
  follow.secondary_dir = secondary;
  follow.fault_injection = std::move(fault_injection);
  const GenerationPaths paths = GenerationPaths::For(WithoutTrailingSlash(db));
  absl::StatusOr<CopyReport> report = absl::UnknownError("no attempt");
  // A replay may switch DIR to a new generation during the copy and delete
  // the one the copy follows (docs/replay.md): its files go, and the copy
  // fails as if the store were damaged. The new generation is then copied
  // instead (a few switches at most in a row).
  for (int switches = 0; switches < 5; ++switches) {
    auto before = ResolveForRead(paths);
    report = CopyLive(db, follow, to);
    std::error_code ec;
    fs::remove_all(secondary, ec);
    if (report.ok()) break;
    auto after = ResolveForRead(paths);
    if (!before.ok() || !after.ok() || before->SameAs(*after)) break;
  }
  return report;
}

absl::StatusOr<CopyReport> RestoreStore(const std::string& from,
                                        const std::string& db_flag) {
  const std::string db = WithoutTrailingSlash(db_flag);
  absl::Status s = CheckTarget("--db", db);
  if (!s.ok()) return s;
  StoreOptions ro;
  ro.read_only = true;
  auto backup = Store::Open(from, ro);
  if (!backup.ok()) {
    return absl::Status(backup.status().code(),
                        absl::StrCat("--from: ", backup.status().message()));
  }
  return CopyInto(backup->get(), db);
}

}  // namespace chatkpi

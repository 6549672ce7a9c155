// `chatkpi backup` and `chatkpi restore`: whole copies of a store, taken
// while writers and readers keep using it (docs/deploy.md, "Backups").
//
// A backup is a RocksDB checkpoint of the store taken through a follower (a
// secondary instance, which needs no lock, so `ingest`, `run` and `serve`
// keep running): a complete, consistent store as of one commit, with
// chatkpi's marker and a commit record of its own. The id filter is not
// copied; a writer rebuilds it from the store at its first open.
#ifndef CHATKPI_STORE_BACKUP_H_
#define CHATKPI_STORE_BACKUP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace chatkpi {

class FaultInjection;  // store/fault_injection.h

struct CopyReport {
  uint64_t commits = 0;  // commits the copy holds
  uint64_t events = 0;   // events in its log
};

// Copies the store `db` (a plain store or a generation symlink: the live
// generation) to `to`, which must not exist or be an empty directory. The
// copy is checked by opening it before it is moved into place: a failure
// leaves no `to`.
// Tests only: the follower reads the store through `fault_injection`.
absl::StatusOr<CopyReport> BackupStore(
    const std::string& db, const std::string& to,
    std::shared_ptr<FaultInjection> fault_injection = nullptr);

// Makes `db` a copy of the backup `from`, checked the same way. `db` must
// not exist or be an empty directory: a store is never overwritten.
absl::StatusOr<CopyReport> RestoreStore(const std::string& from,
                                        const std::string& db);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_BACKUP_H_

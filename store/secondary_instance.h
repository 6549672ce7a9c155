// Opening, and opening again, a RocksDB secondary instance of a store: what
// followers (`serve --follow`, `chatkpi replay`) read the writer's commits
// through.
//
// Why again. A secondary replays the writer's WAL into memtables of its
// own, and RocksDB 7.8 (Debian 12's) gets two things wrong around the
// writer's flushes:
// * When the writer flushes a family and deletes the WAL, the values the
//   secondary replayed from it keep shadowing the newer ones now in table
//   files, until the key is written again: for a finished day's row, never
//   (facebook/rocksdb#14444, #15051). Every such case starts with a flush,
//   which changes the table files; so when they changed, the secondary is
//   opened anew, which replays only the WALs still live.
// * A catch-up (or an open) reads the writer's MANIFEST, then its WALs. A
//   WAL deleted in between leaves out what it held that the MANIFEST read
//   did not yet cover: one family a commit behind another. So the WALs are
//   listed before and after each catch-up and each open, and if one went
//   away the view is taken again.
// * An open or a catch-up can also find a table file named by the MANIFEST
//   it read already deleted by the writer's compaction. RocksDB then keeps,
//   silently, the family's version from before that file was added (its
//   point-in-time recovery), which lacks the file's keys until a later
//   catch-up reads the compaction. So every table file found missing is
//   counted (WatchForMissingTables), and a count that grew during an open
//   or a catch-up makes it open anew.
#ifndef CHATKPI_STORE_SECONDARY_INSTANCE_H_
#define CHATKPI_STORE_SECONDARY_INSTANCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/db.h"

namespace chatkpi {

struct MissingTables;  // store/secondary_instance.cc

struct SecondaryParams {
  std::string dir;            // the writer's store
  std::string secondary_dir;  // the follower's own info log
  rocksdb::DBOptions options;
  // The default family first; then those followed.
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  // Set by WatchForMissingTables.
  std::shared_ptr<MissingTables> missing_tables;
};

// Routes the file access of `p->options` through a count of the table files
// found missing when opened. Call once, before the first OpenSecondary.
void WatchForMissingTables(SecondaryParams* p);

// Opens the secondary. `handles` gets those of families[1..], in order (the
// default family's is dropped). The RocksDB status, unmapped, so that each
// caller words its own message: Corruption when a table file stays missing
// through every attempt, an I/O error when a WAL went away during each.
rocksdb::Status OpenSecondary(
    const SecondaryParams& p, std::unique_ptr<rocksdb::DB>* db,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles);

// Drops `handles` (nulls skipped) and closes `db`.
void CloseSecondary(std::unique_ptr<rocksdb::DB>* db,
                    std::vector<rocksdb::ColumnFamilyHandle*>* handles);

// The live table files as one number: it changes when a flush or a
// compaction changed them.
uint64_t TableFilesFingerprint(rocksdb::DB* db);

// Brings the secondary `db` up to the writer as above: catches up, or opens
// a new instance, which `install` takes over (then `db` is gone; callers
// whose readers run on other threads exclude them inside `install`).
// `table_files` is the fingerprint of the instance in use, kept up to date.
rocksdb::Status CatchUpSecondary(
    const SecondaryParams& p, rocksdb::DB* db, uint64_t* table_files,
    const std::function<void(std::unique_ptr<rocksdb::DB>,
                             std::vector<rocksdb::ColumnFamilyHandle*>)>&
        install);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_SECONDARY_INSTANCE_H_

// The files chatkpi keeps in a store's directory beside RocksDB's, and the
// checks that tell a chatkpi store from any other directory and a whole
// store from a damaged one (docs/hardening.md, "Damaged and foreign
// stores").
//
//   CHATKPI-STORE    written before anything else when chatkpi creates a
//                    store: a directory without it is not created by
//                    chatkpi (stores of earlier builds are recognised by
//                    their format key instead, read through a read-only
//                    open, and get the marker at their next write).
//   CHATKPI-COMMITS  the commit record: how many commits the store holds,
//                    where its event log ends, and whether a writer has it
//                    open. Replaced (write + rename) after every commit, so
//                    it never runs ahead of what RocksDB made durable: a
//                    store that opens with fewer commits than its record
//                    says lost some (a MANIFEST cut short, damaged WAL).
//                    It carries the source positions too (meta keys under
//                    kPositionKeyPrefix), so that a loss names them.
#ifndef CHATKPI_STORE_STORE_FILES_H_
#define CHATKPI_STORE_STORE_FILES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/db.h"

namespace chatkpi {

inline constexpr char kStoreMarkerFile[] = "CHATKPI-STORE";
inline constexpr char kCommitRecordFile[] = "CHATKPI-COMMITS";
// Meta keys that hold source positions (the engine's kMetaPositionPrefix):
// file lines, Kafka offsets.
inline constexpr char kPositionKeyPrefix[] = "pos/";

bool HasStoreMarker(const std::string& dir);
// Creates the marker durably (file and directory entry synced).
absl::Status WriteStoreMarker(const std::string& dir);

struct CommitRecord {
  uint64_t commits = 0;      // commits written since the store was created
  uint64_t next_seq = 0;     // the event log's end after the last of them
  bool writer_open = false;  // false: the last writer closed it cleanly
  // Source position key (without the prefix) -> position, as of the last
  // commit (the value's first tab-separated field: a line, an offset).
  std::map<std::string, std::string> positions;
};

// The position part of a position value (see CommitRecord::positions).
std::string PositionOf(std::string_view value);

// nullopt when there is none (a store of an earlier build) or it cannot be
// parsed.
std::optional<CommitRecord> ReadCommitRecord(const std::string& dir);
// Replaces the record atomically; `sync` also makes it durable.
absl::Status WriteCommitRecord(const std::string& dir, const CommitRecord& r,
                               bool sync);

// Table files (*.sst) in `dir` that `db` (open on it) does not reference.
std::vector<std::string> UnreferencedTables(const std::string& dir,
                                            rocksdb::DB* db);

// True when the MANIFEST that CURRENT names ends inside a record: cut
// short. RocksDB reads such a MANIFEST as one that ends at the last whole
// record. A writer killed while appending one leaves the same, so only a
// store closed cleanly is held to it.
bool ManifestEndsMidRecord(const std::string& dir);

// The numbers of the write-ahead logs (NNNNNN.log) in `dir`, sorted: a
// writer beside a reader deletes one after each flush that empties it.
std::vector<uint64_t> ListWals(const std::string& dir);
// True when a WAL of `before` (ListWals of `dir`, taken earlier) is gone
// from `dir` now: a flush finished in between.
bool WalDeletedSince(const std::string& dir,
                     const std::vector<uint64_t>& before);

// The sentence every refusal of a damaged store ends with.
std::string DamageAdvice();

}  // namespace chatkpi

#endif  // CHATKPI_STORE_STORE_FILES_H_

// The reads a store and a store follower make the same way, on any family.
#ifndef CHATKPI_STORE_ROCKSDB_READS_H_
#define CHATKPI_STORE_ROCKSDB_READS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"

namespace chatkpi {

// Turns RocksDB's per-operation counters off on the calling thread. They are
// on by default in every thread (PerfLevel::kEnableCount), and each key
// comparison of a read or a memtable insert then updates a thread-local
// PerfContext, which a shared librocksdb reaches through __tls_get_addr:
// about 1.5% of a shuffled ingest's CPU (docs/engine.md, "Throughput").
// chatkpi never reads those counters. Cheap enough to call per operation.
void DisablePerfCounters();

// The value of `key`, nullopt when absent. `dir` names the store in errors.
// `fill_cache` false: the block read is not kept in the block cache (a
// caller that keeps what it decodes in a cache of its own).
// `snapshot`: read as of it (null: the latest).
absl::StatusOr<std::optional<std::string>> ReadValue(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view key,
    std::string_view dir, bool fill_cache = true,
    const rocksdb::Snapshot* snapshot = nullptr);

// Visits keys in [begin, end) in order ("" end = to the last key); the
// visitor returns false to stop.
absl::Status ScanRange(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                       std::string_view begin, std::string_view end,
                       std::string_view dir,
                       const std::function<bool(std::string_view key,
                                                std::string_view value)>& visit,
                       const rocksdb::Snapshot* snapshot = nullptr);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ROCKSDB_READS_H_

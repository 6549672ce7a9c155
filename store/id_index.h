// The index of event ids a store holds: the redelivery check every event
// makes (SPEC §5, idempotence).
//
// Written per event into the commit's WriteBatch, the index would cost a
// memtable skiplist insert per event, the largest single cost of ingest.
// Instead it is derived from the event log, which is committed atomically
// with the state: ids of recent events are kept in memory, exactly, and
// every `spill_threshold` of them are written out sorted as one table file
// ingested into the `ids` family, after which the meta key "ids.indexed_to"
// records up to which seq the family is complete. Opening a store reads the ids
// of the events after that seq back from the log, so a crash at any instant
// loses nothing: at worst some ids are indexed twice, which is harmless.
//
// A Bloom filter (IdFilter) of every id answers "certainly absent" without
// a read when the family held nothing at open (no spill before this open),
// so that every id in it went through the filter.
#ifndef CHATKPI_STORE_ID_INDEX_H_
#define CHATKPI_STORE_ID_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "store/id_filter.h"

namespace chatkpi {

class IdIndex {
 public:
  struct Families {
    rocksdb::ColumnFamilyHandle* ids;
    rocksdb::ColumnFamilyHandle* events;
    rocksdb::ColumnFamilyHandle* meta;
  };
  // Reads the ids logged after the last spill; `log_end` is the log's next
  // seq. `dir` is the store's directory (spill files are written there).
  static absl::StatusOr<std::unique_ptr<IdIndex>> Open(rocksdb::DB* db,
                                                       const Families& cf,
                                                       const std::string& dir,
                                                       uint64_t log_end,
                                                       size_t spill_threshold);

  absl::StatusOr<bool> Contains(std::string_view id);
  // Ids of events committed to the log, the last one numbered `log_end`-1.
  // Spills when enough have gathered; an error leaves the store consistent
  // (the ids are still in the log) but should stop the writer.
  void Add(std::string_view id) {
    if (filter_ != nullptr) filter_->Add(id);
    recent_.emplace(absl::string_view(id.data(), id.size()));
  }
  absl::Status MaybeSpill(uint64_t log_end);

 private:
  IdIndex(rocksdb::DB* db, const Families& cf, const std::string& dir,
          size_t spill_threshold)
      : db_(db), cf_(cf), dir_(dir), spill_threshold_(spill_threshold) {}
  absl::Status Spill(uint64_t log_end);

  rocksdb::DB* db_;
  Families cf_;
  std::string dir_;
  size_t spill_threshold_;
  absl::flat_hash_set<std::string> recent_;  // not yet in the family
  std::unique_ptr<IdFilter> filter_;  // null: the family held ids at open
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ID_INDEX_H_

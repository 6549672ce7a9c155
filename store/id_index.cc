#include "store/id_index.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/sst_file_writer.h"
#include "store/coding.h"
#include "store/event_log.h"
#include "store/rocksdb_reads.h"
#include "store/rocksdb_status.h"

namespace chatkpi {
namespace {

constexpr char kIndexedTo[] = "ids.indexed_to";
// Not "*.sst": RocksDB may delete table-named files it does not know.
constexpr char kSpillFile[] = "ids-spill.tmp";

}  // namespace

absl::StatusOr<std::unique_ptr<IdIndex>> IdIndex::Open(rocksdb::DB* db,
                                                       const Families& cf,
                                                       const std::string& dir,
                                                       uint64_t log_end,
                                                       size_t spill_threshold) {
  std::unique_ptr<IdIndex> index(
      new IdIndex(db, cf, dir, std::max<size_t>(1, spill_threshold)));
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(dir) / kSpillFile, ec);
  auto stored = ReadValue(db, cf.meta, kIndexedTo, dir);
  if (!stored.ok()) return stored.status();
  uint64_t indexed_to = 0;
  if (stored->has_value()) {
    std::string_view v = **stored;
    if (!GetFixed64BE(&v, &indexed_to) || indexed_to > log_end) {
      return absl::DataLossError(
          absl::StrCat("--db ", dir, " is corrupt: bad event id index mark"));
    }
  }
  if (indexed_to == 0) {
    // Nothing spilled yet: the family is empty, every id is read below.
    index->filter_ = std::make_unique<IdFilter>();
  }
  absl::Status scanned =
      ScanEventLog(db, cf.events, dir, indexed_to, log_end, /*one_pass=*/true,
                   [&](uint64_t, std::string_view id, std::string_view) {
                     index->Add(id);
                     return true;
                   });
  if (!scanned.ok()) return scanned;
  return index;
}

absl::StatusOr<bool> IdIndex::Contains(std::string_view id) {
  // Every id in recent_ went through the filter: it answers first.
  if (filter_ != nullptr && !filter_->MayContain(id)) return false;
  if (recent_.contains(absl::string_view(id.data(), id.size()))) return true;
  auto found = ReadValue(db_, cf_.ids, id, dir_);
  if (!found.ok()) return found.status();
  return found->has_value();
}

absl::Status IdIndex::MaybeSpill(uint64_t log_end) {
  return recent_.size() < spill_threshold_ ? absl::OkStatus() : Spill(log_end);
}

absl::Status IdIndex::Spill(uint64_t log_end) {
  // Sorted bytewise (the family's order), comparing the first 8 bytes as
  // one integer: most ids differ there, so few comparisons touch memory.
  struct Key {
    uint64_t head;
    std::string_view id;
    bool operator<(const Key& o) const {
      return head != o.head ? head < o.head : id < o.id;
    }
  };
  std::vector<Key> ids;
  ids.reserve(recent_.size());
  for (const std::string& id : recent_) {
    uint64_t head = 0;
    for (size_t i = 0; i < 8; ++i) {
      head = head << 8 | (i < id.size() ? static_cast<uint8_t>(id[i]) : 0);
    }
    ids.push_back({head, id});
  }
  std::sort(ids.begin(), ids.end());
  const std::string path = (std::filesystem::path(dir_) / kSpillFile).string();
  const std::string what =
      absl::StrCat("writing the event id index of --db ", dir_,
                   " (free disk space or fix the I/O error, then run again)");
  rocksdb::Options options(db_->GetDBOptions(), db_->GetOptions(cf_.ids));
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, cf_.ids);
  rocksdb::Status s = writer.Open(path);
  for (size_t i = 0; s.ok() && i < ids.size(); ++i) {
    s = writer.Put(rocksdb::Slice(ids[i].id.data(), ids[i].id.size()),
                   rocksdb::Slice());
  }
  if (s.ok()) s = writer.Finish();
  if (s.ok()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    s = db_->IngestExternalFile(cf_.ids, {path}, ingest);
  }
  if (s.ok()) {
    // Only now is the family complete up to log_end; a crash before this
    // reads these ids from the log again at the next open.
    std::string mark;
    PutFixed64BE(&mark, log_end);
    s = db_->Put(rocksdb::WriteOptions(), cf_.meta, kIndexedTo, mark);
  }
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return ToStatus(s, what);
  }
  recent_.clear();
  return absl::OkStatus();
}

}  // namespace chatkpi

#include "store/rocksdb_reads.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "rocksdb/perf_level.h"
#include "store/rocksdb_status.h"

namespace chatkpi {

void DisablePerfCounters() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

absl::StatusOr<std::optional<std::string>> ReadValue(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view key,
    std::string_view dir, bool fill_cache, const rocksdb::Snapshot* snapshot) {
  DisablePerfCounters();
  std::string value;
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  ro.snapshot = snapshot;
  rocksdb::Status s =
      db->Get(ro, cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    return ToStatus(s, absl::StrCat("reading --db ", std::string(dir)));
  }
  return value;
}

absl::Status ScanRange(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view begin,
    std::string_view end, std::string_view dir,
    const std::function<bool(std::string_view, std::string_view)>& visit,
    const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  ro.snapshot = snapshot;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid();
       it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return ToStatus(it->status(),
                  absl::StrCat("scanning --db ", std::string(dir)));
}

}  // namespace chatkpi

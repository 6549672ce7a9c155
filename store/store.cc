#include "store/store.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "store/coding.h"

namespace chatkpi {
namespace {

constexpr const char* kFamilyNames[] = {
    "events", "ids", "buyers", "orders", "aggregates", "assessments", "dead", "meta"};
static_assert(std::size(kFamilyNames) ==
              static_cast<size_t>(Family::kNumFamilies));

// Written once at creation; a RocksDB directory without it is someone else's.
constexpr char kFormatKey[] = "chatkpi.format";
constexpr char kFormatValue[] = "1";

absl::Status ToStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(std::string(what), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() || s.IsNoSpace()) return absl::UnavailableError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

rocksdb::ColumnFamilyOptions FamilyOptions(Family f) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  switch (f) {
    case Family::kIds:
    case Family::kBuyers:
    case Family::kOrders:
      // Point lookups of keys that are usually absent (new ids, new buyers):
      // bloom filters on disk and in the memtable keep misses off the disk.
      t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
      t.whole_key_filtering = true;
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
      break;
    case Family::kEvents:
      // Append-only with increasing keys and never point-read: an unsorted
      // vector memtable makes each append O(1) instead of a skiplist insert.
      o.memtable_factory.reset(new rocksdb::VectorRepFactory());
      o.compression = rocksdb::kLZ4Compression;
      break;
    default:
      break;
  }
  o.write_buffer_size = 64 << 20;
  return o;
}

}  // namespace

std::string AggregateKey(uint32_t shard, int32_t day, std::string_view agent) {
  std::string k;
  k.reserve(8 + agent.size());
  PutFixed32BE(&k, shard);
  // Offset so that negative day numbers (before 1970) still sort first.
  PutFixed32BE(&k, static_cast<uint32_t>(day) ^ 0x80000000u);
  k.append(agent);
  return k;
}

bool ParseAggregateKey(std::string_view key, uint32_t* shard, int32_t* day,
                       std::string* agent) {
  uint32_t d;
  if (!GetFixed32BE(&key, shard) || !GetFixed32BE(&key, &d)) return false;
  *day = static_cast<int32_t>(d ^ 0x80000000u);
  agent->assign(key);
  return true;
}

struct Commit::Impl {
  Store* store;
  rocksdb::WriteBatch batch;
  std::vector<std::pair<std::string, std::string>> events;
  size_t event_bytes = 0;
};

Commit::Commit(Store* store) : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
}
Commit::~Commit() = default;
Commit::Commit(Commit&&) noexcept = default;
Commit& Commit::operator=(Commit&&) noexcept = default;

void Commit::AppendEvent(std::string_view id, std::string_view raw) {
  impl_->events.emplace_back(std::string(id), std::string(raw));
  impl_->event_bytes += id.size() + raw.size();
}

size_t Commit::num_events() const { return impl_->events.size(); }
size_t Commit::ApproximateBytes() const {
  return impl_->batch.GetDataSize() + impl_->event_bytes;
}
bool Commit::empty() const {
  return impl_->events.empty() && impl_->batch.Count() == 0;
}

struct Store::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::WriteOptions write_options;
  bool read_only = false;

  rocksdb::ColumnFamilyHandle* cf(Family f) {
    return handles[static_cast<int>(f)];
  }
  ~Impl() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    if (db) db->Close();
  }
};

void Commit::Put(Family f, std::string_view key, std::string_view value) {
  impl_->batch.Put(impl_->store->impl_->cf(f),
                   rocksdb::Slice(key.data(), key.size()),
                   rocksdb::Slice(value.data(), value.size()));
}

void Commit::Delete(Family f, std::string_view key) {
  impl_->batch.Delete(impl_->store->impl_->cf(f),
                      rocksdb::Slice(key.data(), key.size()));
}

Store::Store(std::string dir, std::unique_ptr<Impl> impl, uint64_t next_seq)
    : dir_(std::move(dir)), impl_(std::move(impl)), next_seq_(next_seq) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const StoreOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  bool exists = fs::exists(dir, ec);
  bool is_rocksdb = exists && fs::exists(fs::path(dir) / "CURRENT", ec);
  if (exists && !fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--db ", dir, " is not a directory"));
  }
  if (exists && !is_rocksdb && !fs::is_empty(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", dir, " is a non-empty directory that is not a chatkpi store"));
  }
  if (!is_rocksdb && (opts.read_only || !opts.create_if_missing)) {
    return absl::NotFoundError(
        absl::StrCat("--db ", dir, ": no chatkpi store there"));
  }

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = !is_rocksdb;
  db_opts.create_missing_column_families = !is_rocksdb;
  db_opts.max_background_jobs = 2;
  // Required by the vector memtable of the event log; one writer per store
  // anyway.
  db_opts.allow_concurrent_memtable_write = false;
  db_opts.bytes_per_sync = 1 << 20;
  db_opts.info_log_level = rocksdb::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName,
                     rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < static_cast<int>(Family::kNumFamilies); ++i) {
    descs.emplace_back(kFamilyNames[i], FamilyOptions(static_cast<Family>(i)));
  }
  if (is_rocksdb) {
    std::vector<std::string> existing;
    rocksdb::Status s =
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &existing);
    if (!s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--db ", dir, " cannot be read as a chatkpi store: ", s.ToString()));
    }
    if (existing.size() != descs.size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--db ", dir, " is a RocksDB database but not a chatkpi store"));
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->read_only = opts.read_only;
  impl->write_options.sync = opts.sync;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      opts.read_only
          ? rocksdb::DB::OpenForReadOnly(db_opts, dir, descs, &handles, &raw)
          : rocksdb::DB::Open(db_opts, dir, descs, &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::UnavailableError(absl::StrCat(
          "--db ", dir, " is in use by another chatkpi process: ",
          s.ToString()));
    }
    return ToStatus(s, absl::StrCat("opening --db ", dir));
  }
  impl->db.reset(raw);
  // handles[0] is the default family; ours follow in Family order.
  impl->handles.assign(handles.begin() + 1, handles.end());
  impl->db->DestroyColumnFamilyHandle(handles[0]);

  std::string format;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->cf(Family::kMeta),
                    rocksdb::Slice(kFormatKey),
                    &format);
  if (s.IsNotFound()) {
    if (is_rocksdb) {
      return absl::FailedPreconditionError(
          absl::StrCat("--db ", dir, " is not a chatkpi store (no format marker)"));
    }
    s = impl->db->Put(impl->write_options, impl->cf(Family::kMeta),
                      rocksdb::Slice(kFormatKey),
                      rocksdb::Slice(kFormatValue));
    if (!s.ok()) return ToStatus(s, "writing format marker");
  } else if (!s.ok()) {
    return ToStatus(s, "reading format marker");
  } else if (format != kFormatValue) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", dir, " has chatkpi format ", format, ", this build reads ",
        kFormatValue));
  }

  uint64_t next_seq = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      impl->db->NewIterator(rocksdb::ReadOptions(), impl->cf(Family::kEvents)));
  it->SeekToLast();
  if (it->Valid()) {
    std::string_view k(it->key().data(), it->key().size());
    uint64_t last;
    if (!GetFixed64BE(&k, &last)) {
      return absl::DataLossError("event log key is corrupt");
    }
    next_seq = last + 1;
  }
  if (!it->status().ok()) return ToStatus(it->status(), "reading event log");
  return std::unique_ptr<Store>(new Store(dir, std::move(impl), next_seq));
}

absl::Status Store::Write(Commit* commit) {
  rocksdb::WriteBatch& batch = commit->impl_->batch;
  auto& events = commit->impl_->events;
  std::vector<std::pair<std::string_view, uint64_t>> ids;
  ids.reserve(events.size());
  uint64_t seq = next_seq_;
  std::string key;
  for (const auto& [id, raw] : events) {
    key.clear();
    PutFixed64BE(&key, seq);
    batch.Put(impl_->cf(Family::kEvents), key, raw);
    ids.emplace_back(id, seq++);
  }
  // Sorted keys let the memtable skiplist reuse its insert position from
  // one key to the next instead of searching from the top each time.
  std::sort(ids.begin(), ids.end());
  for (const auto& [id, s] : ids) {
    key.clear();
    PutFixed64BE(&key, s);
    batch.Put(impl_->cf(Family::kIds), rocksdb::Slice(id.data(), id.size()), key);
  }
  rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch);
  if (!s.ok()) return ToStatus(s, "commit to --db " + dir_);
  next_seq_ = seq;
  batch.Clear();
  commit->impl_->events.clear();
  commit->impl_->event_bytes = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Store::Get(Family f,
                                                      std::string_view key) {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(f),
                                     rocksdb::Slice(key.data(), key.size()),
                                     &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return ToStatus(s, "read");
  return value;
}

absl::Status Store::ContainsIds(const std::vector<std::string_view>& ids,
                                std::vector<bool>* found) {
  found->assign(ids.size(), false);
  if (ids.empty()) return absl::OkStatus();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(ids.size());
  for (auto id : ids) keys.emplace_back(id.data(), id.size());
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->cf(Family::kIds),
                      keys.size(), keys.data(), values.data(), statuses.data());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].ok()) {
      (*found)[i] = true;
    } else if (!statuses[i].IsNotFound()) {
      return ToStatus(statuses[i], "id lookup");
    }
  }
  return absl::OkStatus();
}

absl::Status Store::Scan(
    Family f, std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& visit) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(f)));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid();
       it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return ToStatus(it->status(), "scan");
}

}  // namespace chatkpi

#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"
#include "store/announced_write.h"
#include "store/batch_join.h"
#include "store/coding.h"
#include "store/concat_merge.h"
#include "store/event_log.h"
#include "store/fault_injection.h"
#include "store/generations.h"
#include "store/id_index.h"
#include "store/rocksdb_reads.h"
#include "store/rocksdb_status.h"
#include "store/secondary_instance.h"
#include "store/store_files.h"
#include "store/store_logger.h"

namespace chatkpi {
namespace {

constexpr const char* kFamilyNames[] = {"events", "ids",        "buyers",
                                        "orders", "aggregates", "assessments",
                                        "dead",   "meta",       "rollups"};
static_assert(std::size(kFamilyNames) ==
              static_cast<size_t>(Family::kNumFamilies));

// The Family whose column family is named `name` (one of kFamilyNames).
size_t FamilyIndex(std::string_view name) {
  return static_cast<size_t>(
      std::find(std::begin(kFamilyNames), std::end(kFamilyNames), name) -
      std::begin(kFamilyNames));
}

// Written once at creation; a RocksDB directory without it is someone else's.
constexpr char kFormatKey[] = "chatkpi.format";
// 3: the event log is stored in blocks (store/event_log.h), the id index
// derived from it (store/id_index.h). 4: blocks may be LZ4-compressed. 5: a
// buyer's value may be followed by records later commits appended
// (Commit::Append). This build reads all three and marks an older store 5
// when it opens it to write.
constexpr char kFormatValue[] = "5";
constexpr char kFormatBeforeAppendedRecords[] = "4";
constexpr char kFormatBeforeCompressedBlocks[] = "3";
// Commits written since creation, fixed64; part of every commit, so that a
// store that opens with fewer than its commit record names lost some
// (store/store_files.h).
constexpr char kCommitsKey[] = "chatkpi.commits";
// Events a ScanEvents reads beyond which it is a pass over much of the log
// (a replay's, a follower's first read), kept out of the block cache.
constexpr uint64_t kOnePassEvents = 1 << 16;

// True when every family of `db` is empty.
bool AllEmpty(rocksdb::DB* db,
              const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  for (auto* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), h));
    it->SeekToFirst();
    if (it->Valid() || !it->status().ok()) return false;
  }
  return true;
}

// A directory left by a store creation that failed before RocksDB wrote
// CURRENT (a full disk): only RocksDB's bookkeeping files, no data.
bool IsCreationDebris(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool bookkeeping =
        name == "LOCK" || name == "IDENTITY" || name.rfind("LOG", 0) == 0 ||
        name.rfind("MANIFEST-", 0) == 0 || name.rfind("OPTIONS-", 0) == 0 ||
        name.ends_with(".dbtmp") || name == kStoreMarkerFile ||
        name.rfind(kCommitRecordFile, 0) == 0;
    const bool empty_wal =
        name.ends_with(".log") && e.is_regular_file() && e.file_size(ec) == 0;
    if (!bookkeeping && !empty_wal) return false;
  }
  return !ec;
}

// True when `dir` holds nothing but chatkpi's marker being written (its
// temporary file): the first step of a creation, under way beside this open
// or cut short by a crash. Such a directory holds no store yet, and a writer
// creates one in it.
bool IsMarkerBeingWritten(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  bool any = false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string() !=
        absl::StrCat(kStoreMarkerFile, ".tmp")) {
      return false;
    }
    any = true;
  }
  return any && !ec;
}

// True when an OPTIONS file of `dir` describes chatkpi's column families:
// the directory was a chatkpi store even if its MANIFEST now says otherwise.
bool OptionsNameOurFamilies(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind("OPTIONS-", 0) != 0) continue;
    std::FILE* f = std::fopen(e.path().c_str(), "r");
    if (f == nullptr) continue;
    std::string text(1 << 16, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    if (text.find("[CFOptions \"aggregates\"]") != std::string::npos &&
        text.find("[CFOptions \"buyers\"]") != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Memory the stores of a process may use, whatever their size on disk
// (RSS stays flat as a store grows). Index and filter blocks live
// in the block cache instead of beside each open table, and all memtables
// share one budget. Process-wide: a query instance opens several stores.
constexpr size_t kBlockCacheBytes = 64 << 20;
constexpr size_t kMemtableBudgetBytes = 128 << 20;

struct MemoryBudget {
  std::shared_ptr<rocksdb::Cache> block_cache =
      rocksdb::NewLRUCache(kBlockCacheBytes);
  std::shared_ptr<rocksdb::WriteBufferManager> memtables =
      std::make_shared<rocksdb::WriteBufferManager>(kMemtableBudgetBytes);
};

rocksdb::ColumnFamilyOptions FamilyOptions(Family f,
                                           const MemoryBudget& budget) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = budget.block_cache;
  t.cache_index_and_filter_blocks = true;
  // The newest tables are read most (recent buyers); their index and filter
  // stay in the cache rather than being evicted by data blocks.
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  size_t write_buffer = 64 << 20;
  switch (f) {
    case Family::kIds:
      // Written in bulk by the id index (store/id_index.h); short keys that
      // prefix compression inside blocks already shrinks. No bloom filter:
      // the id index reads the family only for the ids its own filter of
      // every id (store/id_filter.h) says may be held, nearly all of them
      // present, so a bloom filter would turn few misses away, and each
      // spill's table spent 2% of a sorted ingest building one
      // (docs/engine.md, "Throughput").
      o.compression = rocksdb::kNoCompression;
      break;
    case Family::kBuyers:
    case Family::kOrders:
      // Point lookups of keys that are usually absent (new buyers): bloom
      // filters on disk and in the memtable keep misses off the disk.
      t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
      t.whole_key_filtering = true;
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
      // A commit writes its states sorted by key, all under one shard
      // prefix: the skiplist resumes each insert from the last one.
      o.memtable_insert_with_hint_prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(4));
      break;
    case Family::kEvents:
      // Append-only with increasing keys and never point-read: an unsorted
      // vector memtable makes each append O(1) instead of a skiplist insert.
      o.memtable_factory.reset(new rocksdb::VectorRepFactory());
      // Blocks come compressed already (store/event_log.h).
      o.compression = rocksdb::kNoCompression;
      // Flushed in the background as ingest goes, so that the WAL the next
      // open replays holds less of the log.
      write_buffer = size_t{16} << 20;
      break;
    case Family::kAggregates:
    case Family::kRollups:
      // Rows are rewritten at every commit that changes them, and a commit
      // writes them sorted by key under its shard's prefix, as it does its
      // states: each insert resumes from the last one.
      o.memtable_insert_with_hint_prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(4));
      write_buffer = 8 << 20;
      break;
    default:
      // Small families (meta, dead letters): small memtables.
      write_buffer = 8 << 20;
      break;
  }
  // A commit appends what it added to a buyer's state (Commit::Append).
  if (f == Family::kBuyers) o.merge_operator = NewConcatMerge();
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = write_buffer;
  return o;
}

// Opens `dir` read-only as RocksDB does, beside a writer that may be
// flushing. RocksDB reads the MANIFEST, then lists the WALs and replays
// those it names as holding unflushed writes. A writer that finishes a
// flush in between deletes a WAL whose writes that MANIFEST does not have
// in table files yet: listed and then gone, the open fails on the file;
// gone before the listing, the open succeeds without them, silently (a view
// behind the writer, or one family missing commits that the WALs after it
// write again). So the WALs are listed before and after each open, and it
// is taken again when one went away, or when a file it names was deleted.
rocksdb::Status OpenReadOnly(
    const rocksdb::DBOptions& db_opts, const std::string& dir,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& descs,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** raw) {
  // A writer deletes a WAL once per flush of all its families: a second
  // look nearly always finds none gone.
  constexpr int kAttempts = 20;
  rocksdb::Status s;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const std::vector<uint64_t> before = ListWals(dir);
    handles->clear();
    *raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(db_opts, dir, descs, handles, raw);
    if (IsFileGoneMidOpen(s)) continue;
    if (!s.ok()) return s;
    if (!WalDeletedSince(dir, before)) return s;
    for (auto* h : *handles) (*raw)->DestroyColumnFamilyHandle(h);
    handles->clear();
    delete *raw;
    *raw = nullptr;
  }
  if (!s.ok()) return s;
  return rocksdb::Status::IOError(
      "the writer beside it deleted a write-ahead log during each of " +
      std::to_string(kAttempts) + " read-only opens; try again");
}

// What the read-only look at an existing store found.
struct StoreProbe {
  // Only RocksDB's bookkeeping and empty families under chatkpi's marker:
  // a creation cut short, which a writer finishes.
  bool creation_interrupted = false;
  uint64_t commits = 0;   // the store's own count (kCommitsKey)
  uint64_t next_seq = 0;  // the event log's end
  std::map<std::string, std::string> positions;  // CommitRecord::positions
};

std::string Corrupt(const std::string& dir, absl::string_view what) {
  return absl::StrCat("--db ", dir, " is corrupt: ", what, "; ",
                      DamageAdvice());
}

absl::Status Foreign(const std::string& dir, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("--db ", dir, " is not a chatkpi store (", why,
                   "); chatkpi leaves it as it is"));
}

// Opens the RocksDB database in `dir` read-only (nothing in the directory
// is created or changed) and decides whether it is a whole chatkpi store,
// one whose creation was interrupted, a damaged one or someone else's.
// `record` is read before this, so that a writer's later commits only make
// the store hold more than it says.
// `behind_record` is set when it is refused for holding fewer commits than
// the record names.
absl::StatusOr<StoreProbe> ProbeStore(
    const std::string& dir, const rocksdb::DBOptions& db_opts,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& descs, bool marked,
    const std::optional<CommitRecord>& record, bool* behind_record) {
  *behind_record = false;
  std::vector<std::string> existing;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_opts, dir, &existing);
  if (!s.ok()) {
    if (s.ToString().find("ermission denied") != std::string::npos) {
      return absl::PermissionDeniedError(
          absl::StrCat("--db ", dir, " cannot be read: ", s.ToString()));
    }
    // CURRENT names the MANIFEST that lists the families: either garbage
    // or pointing at nothing.
    return absl::DataLossError(Corrupt(
        dir, absl::StrCat("its CURRENT or MANIFEST file cannot be read (",
                          s.ToString(), ")")));
  }
  const bool ours_by_files = marked || OptionsNameOurFamilies(dir);
  for (const std::string& name : existing) {
    if (std::none_of(descs.begin(), descs.end(),
                     [&](auto& d) { return d.name == name; })) {
      if (ours_by_files) {
        return absl::DataLossError(
            Corrupt(dir, absl::StrCat("its MANIFEST lists a column family `",
                                      name, "` that chatkpi does not have")));
      }
      return Foreign(dir, absl::StrCat("it is a RocksDB database with a "
                                       "column family `",
                                       name, "`"));
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> present;
  for (const auto& d : descs) {
    if (std::find(existing.begin(), existing.end(), d.name) != existing.end()) {
      present.push_back(d);
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = OpenReadOnly(db_opts, dir, present, &handles, &raw);
  if (!s.ok()) {
    if (s.ToString().find("ermission denied") != std::string::npos) {
      return absl::PermissionDeniedError(
          absl::StrCat("--db ", dir, " cannot be read: ", s.ToString()));
    }
    if (!ours_by_files) return Foreign(dir, s.ToString());
    return absl::DataLossError(Corrupt(dir, s.ToString()));
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  auto close = [&]() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    handles.clear();
    db->Close().PermitUncheckedError();
  };
  auto handle = [&](Family f) -> rocksdb::ColumnFamilyHandle* {
    for (size_t i = 0; i < present.size(); ++i) {
      if (present[i].name == kFamilyNames[static_cast<int>(f)]) {
        return handles[i];
      }
    }
    return nullptr;
  };
  StoreProbe probe;
  std::string format;
  rocksdb::ColumnFamilyHandle* meta = handle(Family::kMeta);
  const bool formatted =
      meta != nullptr &&
      db->Get(rocksdb::ReadOptions(), meta, kFormatKey, &format).ok();
  if (!formatted && !marked && present.size() == descs.size()) {
    close();
    return Foreign(dir, "it has no chatkpi format key");
  }
  if (!formatted || present.size() != descs.size()) {
    // The format key is the first write after the families are made.
    const bool empty = AllEmpty(db.get(), handles);
    close();
    if (marked && empty && (!record.has_value() || record->commits == 0)) {
      probe.creation_interrupted = true;
      return probe;
    }
    if (!ours_by_files) {
      return Foreign(dir, formatted ? "it lacks chatkpi's column families"
                                    : "no chatkpi format key");
    }
    return absl::DataLossError(Corrupt(
        dir, present.size() != descs.size()
                 ? absl::StrCat("its MANIFEST lists only ", present.size(),
                                " of its ", descs.size(),
                                " column families (a MANIFEST cut short)")
                 : std::string("its format key is missing")));
  }
  std::string commits;
  s = db->Get(rocksdb::ReadOptions(), meta, kCommitsKey, &commits);
  std::string_view view = commits;
  if (s.ok() && !GetFixed64BE(&view, &probe.commits)) {
    close();
    return absl::DataLossError(Corrupt(dir, "its commit count is unreadable"));
  }
  auto end = EventLogEnd(db.get(), handle(Family::kEvents), dir);
  if (!end.ok()) {
    close();
    return end.status();
  }
  probe.next_seq = *end;
  {
    const std::string_view prefix = kPositionKeyPrefix;
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), meta));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      probe.positions[it->key().ToString().substr(prefix.size())] =
          PositionOf(it->value().ToStringView());
    }
    if (!it->status().ok()) {
      const rocksdb::Status error = it->status();
      it.reset();
      close();
      return ToStatus(error, absl::StrCat("reading --db ", dir));
    }
  }
  std::vector<std::string> stray = UnreferencedTables(dir, db.get());
  close();
  if (record.has_value() && record->commits > probe.commits) {
    *behind_record = true;
    const uint64_t first = probe.commits + 1;
    const std::string lost =
        first == record->commits
            ? absl::StrCat("commit ", first, " is")
            : absl::StrCat("commits ", first, " to ", record->commits, " are");
    const std::string events =
        record->next_seq > probe.next_seq
            ? absl::StrCat("events ", probe.next_seq, " to ",
                           record->next_seq - 1, " of the log and ")
            : std::string();
    // Where the store resumes each source against where the lost commits
    // had reached.
    std::vector<std::string> sources;
    for (const auto& [key, reached] : record->positions) {
      auto held = probe.positions.find(key);
      const std::string resumes =
          held == probe.positions.end() ? "the start" : held->second;
      if (resumes != reached && sources.size() < 8) {
        sources.push_back(
            absl::StrCat(key, " at ", resumes, " instead of ", reached));
      }
    }
    const std::string resume = sources.empty()
                                   ? std::string()
                                   : absl::StrCat("; the store resumes ",
                                                  absl::StrJoin(sources, ", "));
    return absl::DataLossError(Corrupt(
        dir,
        absl::StrCat("it holds ", probe.commits, " of the ", record->commits,
                     " commits made to it: ", lost, " lost (", events,
                     "the counters and source positions stored with "
                     "them), by a MANIFEST cut short (e.g. by copying a "
                     "live store) or a damaged WAL",
                     resume)));
  }
  const bool cut = ManifestEndsMidRecord(dir);
  if ((cut || !stray.empty()) && record.has_value() && !record->writer_open) {
    // Closed cleanly, so no writer left a table or a MANIFEST record half
    // made; a writer that opened it since (record re-read) may be making
    // one now.
    const std::optional<CommitRecord> now = ReadCommitRecord(dir);
    if (now.has_value() && !now->writer_open) {
      return absl::DataLossError(Corrupt(
          dir, cut ? std::string("its MANIFEST ends inside a record: it was "
                                 "cut short (e.g. by copying a live store)")
                   : absl::StrCat("table files its MANIFEST does not list: ",
                                  absl::StrJoin(stray, ", "),
                                  " (a MANIFEST cut short, or files copied "
                                  "in)")));
    }
  }
  return probe;
}

}  // namespace

const char* FamilyName(Family f) { return kFamilyNames[static_cast<int>(f)]; }

std::string AggregateKey(uint32_t shard, int32_t day, std::string_view agent) {
  std::string k;
  k.reserve(8 + agent.size());
  PutFixed32BE(&k, shard);
  // Offset so that negative day numbers (before 1970) still sort first.
  PutFixed32BE(&k, static_cast<uint32_t>(day) ^ 0x80000000u);
  k.append(agent);
  return k;
}

std::string RollupKey(uint32_t shard, int32_t month, std::string_view agent) {
  return AggregateKey(shard, month, agent);
}

bool ParseRollupKey(std::string_view key, uint32_t* shard, int32_t* month,
                    std::string* agent) {
  return ParseAggregateKey(key, shard, month, agent);
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
  static constexpr uint32_t kNoOwner = ~uint32_t{0};
  Store* store;
  rocksdb::WriteBatch batch;
  EventBlockWriter log;
  uint32_t owner = kNoOwner;  // of the ids it claims (store/id_index.h)
  // Source positions it moves (CommitRecord::positions); nullopt: deleted.
  std::map<std::string, std::optional<std::string>> positions;
  // Not OK once a Put or Delete named a family only its own class writes:
  // Store::Write then refuses the whole commit.
  absl::Status refused;
  // SealLog: the log is in `batch` from `sealed_at` on, `sealed_events` of
  // them.
  std::optional<uint64_t> sealed_at;
  size_t sealed_events = 0;
  // AnnouncedWrite::KeyHash of each Put and Delete in `batch`, for the
  // reads that come while its write is announced (Store::ExpectWrite).
  std::vector<uint64_t> written_keys;

  ~Impl();
};

Commit::Commit(Store* store) : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
}
Commit::~Commit() = default;
Commit::Commit(Commit&&) noexcept = default;
Commit& Commit::operator=(Commit&&) noexcept = default;

size_t Commit::num_events() const {
  return impl_->sealed_at.has_value() ? impl_->sealed_events
                                      : impl_->log.num_events();
}
size_t Commit::ApproximateBytes() const {
  return impl_->batch.GetDataSize() + impl_->log.bytes();
}
bool Commit::empty() const {
  return num_events() == 0 && impl_->batch.Count() == 0;
}

namespace {

absl::Status SealedError(const Store& store) {
  return absl::FailedPreconditionError(
      absl::StrCat("commit to --db ", store.dir(),
                   ": an event was added after its log was sealed"));
}

}  // namespace

struct Store::Impl {
  // Declared first so that it outlives the database that writes through it.
  std::shared_ptr<FaultInjection> fault_injection;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::WriteOptions write_options;
  bool read_only = false;
  bool secondary = false;  // a follower: StoreOptions::secondary_dir
  // Engines of several Kafka partitions or file shards claim ids on their
  // own threads (engine/kafka_ingest.h, engine/file_shards.h): every use of
  // `ids` holds `ids_mu`. Commits are written one at a time (`writing`).
  // An absl::Mutex spins briefly before it sleeps: the shard threads claim
  // an id each per event and hold it for a hash lookup, where a mutex that
  // sleeps at once costs each contended claim two system calls.
  absl::Mutex ids_mu;
  std::mutex writing;
  std::unique_ptr<IdIndex> ids ABSL_PT_GUARDED_BY(ids_mu);  // null: read-only
  bool write_failed = false;  // RocksDB refuses writes after one fails
  bool closing = false;       // BeginClose: no more writes
  uint64_t commits = 0;       // kCommitsKey as of the last commit
  // Source positions as of the last commit (CommitRecord::positions).
  std::map<std::string, std::string> positions;
  // A follower opens itself again when the writer's table files change
  // (store/secondary_instance.h): with what, and what it saw last. Reads
  // hold `reopening` shared, the reopen holds it exclusively.
  SecondaryParams follow;
  uint64_t table_files = 0;
  std::shared_mutex reopening;
  // A follower's ReadHolds hold it shared, CatchUp exclusively. An
  // absl::Mutex: once a catch-up waits, new holds wait behind it, so a
  // steady stream of requests cannot keep the follower from catching up.
  absl::Mutex catching_up;

  // ExpectWrite: the write announced, until the WriteAll that makes it
  // returns.
  AnnouncedWrite announced;
  // The record every WriteAll adds (kCommitsKey), as AnnouncedWrite knows it.
  const std::vector<uint64_t> counter_key = {
      AnnouncedWrite::KeyHash(static_cast<int>(Family::kMeta), kCommitsKey)};

  // Before a scan: once no write is announced.
  std::shared_lock<std::shared_mutex> Reading() {
    announced.WaitForAll();
    return secondary ? std::shared_lock(reopening)
                     : std::shared_lock<std::shared_mutex>();
  }
  // Before a point read: once no announced write may change `key`.
  std::shared_lock<std::shared_mutex> Reading(Family f, std::string_view key) {
    announced.WaitFor(static_cast<int>(f), key);
    return secondary ? std::shared_lock(reopening)
                     : std::shared_lock<std::shared_mutex>();
  }
  rocksdb::ColumnFamilyHandle* cf(Family f) {
    return handles[static_cast<int>(f)];
  }
  // Fails for a family a follower does not follow (StoreOptions::followed).
  absl::Status Readable(Family f) {
    if (cf(f) != nullptr) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("family ", FamilyName(f), " is not followed"));
  }
  // A follower takes over a secondary whose handles are those of
  // follow.families[1..]; handles of families not followed stay null.
  void InstallFollower(std::unique_ptr<rocksdb::DB> fresh,
                       std::vector<rocksdb::ColumnFamilyHandle*> followed) {
    CloseSecondary(&db, &handles);
    db = std::move(fresh);
    handles.assign(static_cast<size_t>(Family::kNumFamilies), nullptr);
    for (size_t i = 0; i < followed.size(); ++i) {
      handles[FamilyIndex(follow.families[i + 1].name)] = followed[i];
    }
  }
  ~Impl() {
    for (auto* h : handles) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    handles.clear();
    if (db) db->Close();
    // Before `follow`, whose file system a follower's instance uses.
    db.reset();
  }
};

Commit::Impl::~Impl() {
  if (owner == kNoOwner) return;
  absl::MutexLock lock(&store->impl_->ids_mu);
  store->impl_->ids->Release(owner);
}

absl::StatusOr<bool> Commit::AppendEvent(std::string_view id,
                                         std::string_view raw) {
  HeldEvent held;
  auto claim = ClaimEvent(id, raw, &held);
  if (!claim.ok()) return claim.status();
  return *claim == Claim::kNew;
}

absl::StatusOr<Commit::Claim> Commit::ClaimEvent(std::string_view id,
                                                 std::string_view raw,
                                                 HeldEvent* held) {
  return ClaimEvent(id, IdFilter::Hash(id), raw, held);
}

absl::StatusOr<Commit::Claim> Commit::ClaimEvent(std::string_view id,
                                                 uint64_t id_hash,
                                                 std::string_view raw,
                                                 HeldEvent* held) {
  IdIndex* ids = impl_->store->impl_->ids.get();
  if (ids == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", impl_->store->dir(), " is open read-only: no events to add"));
  }
  if (impl_->sealed_at.has_value()) return SealedError(*impl_->store);
  // Hashed outside the lock every engine's claims take: the line is cold.
  const uint64_t raw_hash = IdIndex::RawHash(raw);
  absl::ReleasableMutexLock lock(&impl_->store->impl_->ids_mu);
  if (impl_->owner == Impl::kNoOwner) impl_->owner = ids->NewOwner();
  IdIndex::HeldCopy copy;
  auto claimed = ids->Claim(id, id_hash, raw_hash, impl_->owner, &copy);
  if (!claimed.ok()) return claimed.status();
  switch (*claimed) {
    case IdIndex::ClaimResult::kNew:
      // The log is this commit's own, and may compress a block: outside
      // the lock every engine's claims take.
      lock.Release();
      impl_->log.Append(id, raw);
      return Claim::kNew;
    case IdIndex::ClaimResult::kSame:
      return Claim::kRedelivery;
    case IdIndex::ClaimResult::kDiffers:
      break;
  }
  held->logged = copy.logged;
  held->seq = copy.seq;
  held->this_commit = !copy.logged && copy.owner == impl_->owner;
  return Claim::kOtherBytes;
}

absl::Status Commit::ReplaceEvent(std::string_view id, std::string_view raw) {
  IdIndex* ids = impl_->store->impl_->ids.get();
  if (ids == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", impl_->store->dir(), " is open read-only: no events to add"));
  }
  if (impl_->sealed_at.has_value()) return SealedError(*impl_->store);
  const uint64_t raw_hash = IdIndex::RawHash(raw);
  absl::ReleasableMutexLock lock(&impl_->store->impl_->ids_mu);
  if (impl_->owner == Impl::kNoOwner) impl_->owner = ids->NewOwner();
  ids->Replace(id, raw_hash, impl_->owner);
  lock.Release();
  impl_->log.Append(id, raw);
  return absl::OkStatus();
}

absl::Status Commit::SealLog(uint64_t first_seq) {
  if (impl_->sealed_at.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "commit to --db ", impl_->store->dir(), ": its log is sealed twice"));
  }
  impl_->sealed_at = first_seq;
  impl_->sealed_events = impl_->log.num_events();
  if (impl_->log.compress_at_write()) return absl::OkStatus();
  impl_->log.WriteTo(&impl_->batch, impl_->store->impl_->cf(Family::kEvents),
                     first_seq);
  // Its blocks are in the batch now: the uncompressed copy goes.
  impl_->log.Clear();
  return absl::OkStatus();
}

void Commit::CompressLogAtWrite() { impl_->log.set_compress_at_write(true); }

void Commit::PrefetchEvent(std::string_view id) const {
  PrefetchEventHash(IdFilter::Hash(id));
}

void Commit::PrefetchEventHash(uint64_t id_hash) const {
  const IdIndex* ids = impl_->store->impl_->ids.get();
  if (ids == nullptr) return;
  // A hint: not worth a wait when another engine claims at this moment.
  if (!impl_->store->impl_->ids_mu.TryLock()) return;
  ids->Prefetch(id_hash);
  impl_->store->impl_->ids_mu.Unlock();
}

namespace {

// The event log and the id index derive from each other (seq -> block,
// id -> seq): only their own classes write them, through AppendEvent and
// ReplaceEvent, and read them, through ScanEvents, ReadEvent and
// ContainsId.
bool IsOwnedFamily(Family f) {
  return f == Family::kEvents || f == Family::kIds;
}

absl::Status OwnedFamilyError(Family f, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(what), " of the ", FamilyName(f), " family refused: ",
      f == Family::kEvents ? "only the event log writes and reads it "
                             "(AppendEvent, ScanEvents)"
                           : "only the id index writes and reads it "
                             "(AppendEvent, ContainsId)"));
}

}  // namespace

void Commit::Put(Family f, std::string_view key, std::string_view value) {
  if (IsOwnedFamily(f)) {
    if (impl_->refused.ok()) impl_->refused = OwnedFamilyError(f, "a Put");
    return;
  }
  if (f == Family::kMeta && key.starts_with(kPositionKeyPrefix)) {
    impl_->positions[std::string(key.substr(
        std::string_view(kPositionKeyPrefix).size()))] = PositionOf(value);
  }
  impl_->written_keys.push_back(
      AnnouncedWrite::KeyHash(static_cast<int>(f), key));
  impl_->batch.Put(impl_->store->impl_->cf(f),
                   rocksdb::Slice(key.data(), key.size()),
                   rocksdb::Slice(value.data(), value.size()));
}

void Commit::Delete(Family f, std::string_view key) {
  if (IsOwnedFamily(f)) {
    if (impl_->refused.ok()) impl_->refused = OwnedFamilyError(f, "a Delete");
    return;
  }
  if (f == Family::kMeta && key.starts_with(kPositionKeyPrefix)) {
    impl_->positions[std::string(key.substr(
        std::string_view(kPositionKeyPrefix).size()))] = std::nullopt;
  }
  impl_->written_keys.push_back(
      AnnouncedWrite::KeyHash(static_cast<int>(f), key));
  impl_->batch.Delete(impl_->store->impl_->cf(f),
                      rocksdb::Slice(key.data(), key.size()));
}

void Commit::Append(Family f, std::string_view key, std::string_view value) {
  if (f != Family::kBuyers) {
    if (impl_->refused.ok()) {
      impl_->refused = absl::InvalidArgumentError(
          absl::StrCat("an append to family ", FamilyName(f),
                       ", which has no merge operator (only buyers has)"));
    }
    return;
  }
  impl_->written_keys.push_back(
      AnnouncedWrite::KeyHash(static_cast<int>(f), key));
  impl_->batch.Merge(impl_->store->impl_->cf(f),
                     rocksdb::Slice(key.data(), key.size()),
                     rocksdb::Slice(value.data(), value.size()));
}

namespace {

// `handles` (one per Family, in Family order) without meta's.
std::vector<rocksdb::ColumnFamilyHandle*> AllButMeta(
    const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  std::vector<rocksdb::ColumnFamilyHandle*> out;
  for (int i = 0; i < static_cast<int>(Family::kNumFamilies); ++i) {
    if (static_cast<Family>(i) != Family::kMeta) out.push_back(handles[i]);
  }
  return out;
}

// Flushes every family and waits. Meta goes last, after the others'
// flushes (a close's, begun earlier, included) are done: a flush that ends
// after another family's memtable switch keeps the WAL that switch left
// behind (RocksDB advances only idle families past it), so the mark the id
// index's last spill puts in meta would stay for the next open to replay.
rocksdb::Status FlushMetaLast(
    rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;
  rocksdb::Status s = db->Flush(flush, AllButMeta(handles));
  if (!s.ok()) return s;
  return db->Flush(flush, handles[static_cast<int>(Family::kMeta)]);
}

}  // namespace

Store::Store(std::string dir, std::unique_ptr<Impl> impl, uint64_t next_seq)
    : dir_(std::move(dir)), impl_(std::move(impl)), next_seq_(next_seq) {}
Store::~Store() {
  if (impl_->ids == nullptr || impl_->write_failed) return;
  // Best effort, for the next open's sake: whatever this does not write, it
  // reads back (the ids from the log, the memtables from the WAL: 0.5 s
  // for every open after a 1M-event ingest, read-only ones included). A
  // follower sees the flush as new table files and opens itself again
  // (store/secondary_instance.h), so it shows no value the flush made stale.
  impl_->ids->Flush(next_seq()).IgnoreError();
  FlushMetaLast(impl_->db.get(), impl_->handles).PermitUncheckedError();
  // Closed before the record says so: from then on a table file the
  // MANIFEST does not list is damage, not a writer's work in progress.
  for (auto* h : impl_->handles) impl_->db->DestroyColumnFamilyHandle(h);
  impl_->handles.clear();
  if (impl_->db->Close().ok()) {
    WriteCommitRecord(
        dir_,
        {impl_->commits, next_seq(), /*writer_open=*/false, impl_->positions},
        impl_->write_options.sync)
        .IgnoreError();
  }
}

namespace {

// Schedules a flush of `families` on RocksDB's flush threads and returns:
// a head start for the flushes of the store's close, which wait (its error
// is ignored, as before a close).
void FlushWithoutWaiting(
    rocksdb::DB* db,
    const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
  rocksdb::FlushOptions flush;
  flush.wait = false;
  flush.allow_write_stall = true;
  db->Flush(flush, families).PermitUncheckedError();
}

}  // namespace

void Store::BeginClose() {
  // After the write in progress, if any; none comes after this.
  std::lock_guard writing(impl_->writing);
  if (impl_->ids == nullptr || impl_->write_failed || impl_->closing) return;
  impl_->closing = true;
  // Every family but meta, which the id index's last spill still writes
  // (its "ids.indexed_to"): the destructor flushes meta, and waits for
  // these (a flush that waits also waits for those already under way).
  FlushWithoutWaiting(impl_->db.get(), AllButMeta(impl_->handles));
  {
    absl::MutexLock lock(&impl_->ids_mu);
    // Its error is the destructor's to ignore, as there.
    impl_->ids->StartFlush(next_seq()).IgnoreError();
  }
  // Nothing else runs now: the families are flushed two at a time. Last,
  // since RocksDB writes and syncs its OPTIONS file for this (tens of ms
  // on a busy disk) while the flush and the spill are already under way.
  impl_->db->SetDBOptions({{"max_background_flushes", "2"}})
      .PermitUncheckedError();
}

absl::Status Store::Persist() {
  std::lock_guard writing(impl_->writing);
  if (impl_->ids == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("--db ", dir_, " is open read-only: nothing to persist"));
  }
  if (impl_->write_failed) {
    return absl::DataLossError(absl::StrCat(
        "--db ", dir_, ": a write failed, so not every commit is stored"));
  }
  absl::Status s;
  {
    absl::MutexLock lock(&impl_->ids_mu);
    s = impl_->ids->Flush(next_seq());
  }
  if (!s.ok()) return s;
  return ToStatus(FlushMetaLast(impl_->db.get(), impl_->handles),
                  absl::StrCat("writing out --db ", dir_));
}

void Store::FlushInBackground() {
  if (impl_->ids == nullptr) return;
  FlushWithoutWaiting(impl_->db.get(), impl_->handles);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const StoreOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // A symlinked --db (the generation layout, docs/replay.md) is opened at
  // its target, so that RocksDB never creates files through a link that
  // `chatkpi replay` may repoint while this store is open.
  if (const std::string link = WithoutTrailingSlash(dir); !link.empty()) {
    if (fs::is_symlink(link, ec)) {
      fs::path real = fs::canonical(link, ec);
      if (!ec) return Open(real.string(), opts);
    }
  }
  // A generation that a replay is building (or that a crashed replay left)
  // holds commits that are not on disk yet, or never will be: only the
  // replay that builds it opens it (StoreOptions::unlogged).
  if (!opts.unlogged && IsBuildingGeneration(dir)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", dir,
        " is a generation that `chatkpi replay` is building, or that a "
        "replay cut short left behind (docs/replay.md); its numbers are not "
        "complete: give --db the store it belongs to instead; chatkpi "
        "changed nothing in it"));
  }
  if (!opts.secondary_dir.empty() && !opts.read_only) {
    StoreOptions follower = opts;  // a follower never writes
    follower.read_only = true;
    return Open(dir, follower);
  }
  // A file is no store, whatever its permissions: searched as a directory
  // (below) it would be reported as not entered.
  const bool exists = fs::exists(dir, ec);
  if (exists && !fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--db ", dir, " is not a directory"));
  }
  // A --db this process may not enter, read or (to write) change is
  // reported as such: what it holds cannot be seen, so it is not guessed at
  // (the checks below would call it "not a chatkpi store").
  if (::faccessat(AT_FDCWD, dir.c_str(),
                  opts.read_only ? R_OK | X_OK : R_OK | W_OK | X_OK,
                  AT_EACCESS) != 0 &&
      (errno == EACCES || errno == EPERM)) {
    return absl::PermissionDeniedError(
        absl::StrCat("--db ", dir, ": permission denied"));
  }
  bool is_rocksdb = exists && fs::exists(fs::path(dir) / "CURRENT", ec);
  const bool marked = exists && HasStoreMarker(dir);
  const std::optional<CommitRecord> record =
      exists ? ReadCommitRecord(dir) : std::nullopt;
  if (exists && !is_rocksdb && !fs::is_empty(dir, ec)) {
    // Without CURRENT, RocksDB would start a new, empty database here.
    const bool debris = marked && IsCreationDebris(dir) &&
                        (!record.has_value() || record->commits == 0);
    if (marked && !debris) {
      // A creation beside this open may have written CURRENT, and the files
      // that are no debris, since CURRENT was looked for.
      if (fs::exists(fs::path(dir) / "CURRENT", ec)) return Open(dir, opts);
      return absl::DataLossError(absl::StrCat(
          "--db ", dir, " is corrupt: its CURRENT file is missing; ",
          DamageAdvice()));
    }
    // A creation beside this open may have made the marker since it was
    // looked for (looked for again after the first step, which it follows).
    if (!marked && !IsMarkerBeingWritten(dir)) {
      if (HasStoreMarker(dir)) return Open(dir, opts);
      return absl::FailedPreconditionError(
          absl::StrCat("--db ", dir,
                       " is a non-empty directory that is not a chatkpi "
                       "store; chatkpi leaves it as it is"));
    }
  }
  if (!is_rocksdb && (opts.read_only || !opts.create_if_missing)) {
    return absl::NotFoundError(
        absl::StrCat("--db ", dir, ": no chatkpi store there"));
  }

  static const MemoryBudget& budget = *new MemoryBudget;
  rocksdb::DBOptions db_opts;
  db_opts.write_buffer_manager = budget.memtables;
  db_opts.create_if_missing = !is_rocksdb;
  db_opts.create_missing_column_families = !is_rocksdb;
  db_opts.max_background_jobs = 2;
  // Required by the vector memtable of the event log; one writer per store
  // anyway.
  db_opts.allow_concurrent_memtable_write = false;
  db_opts.bytes_per_sync = 1 << 20;
  db_opts.info_log_level = rocksdb::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;
  if (opts.fault_injection != nullptr) {
    db_opts.env = opts.fault_injection->env();
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName,
                     rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < static_cast<int>(Family::kNumFamilies); ++i) {
    descs.emplace_back(kFamilyNames[i],
                       FamilyOptions(static_cast<Family>(i), budget));
  }
  // What the store holds, checked through a read-only open that writes
  // nothing, before any open that may write (docs/hardening.md).
  StoreProbe probe;
  if (is_rocksdb) {
    std::optional<CommitRecord> seen = record;
    bool behind = false;
    auto probed = ProbeStore(dir, db_opts, descs, marked, seen, &behind);
    // Beside a running writer, a look that failed or that shows fewer
    // commits than the record is taken again (OpenReadOnly already looks
    // again when the writer deleted a file it needed during the open).
    for (int attempt = 0; (behind || !probed.ok()) && seen.has_value() &&
                          seen->writer_open && attempt < 5;
         ++attempt) {
      seen = ReadCommitRecord(dir);
      probed = ProbeStore(dir, db_opts, descs, marked, seen, &behind);
    }
    if (!probed.ok()) return probed.status();
    probe = *probed;
    if (probe.creation_interrupted) {
      if (opts.read_only) {
        return absl::NotFoundError(absl::StrCat(
            "--db ", dir,
            ": no chatkpi store there (its creation is under way, or was "
            "cut short, and nothing is stored yet)"));
      }
      db_opts.create_missing_column_families = true;
    }
  }
  if (!opts.read_only) {
    fs::create_directories(dir, ec);
    // First of all on a new store; an earlier build's store, recognised by
    // its format key above, gets it now.
    if (!marked) {
      absl::Status s = WriteStoreMarker(dir);
      if (!s.ok()) return s;
    }
    // Before RocksDB may write anything: files a crash leaves half made
    // from here on are a writer's, not damage.
    absl::Status s = WriteCommitRecord(
        dir,
        {probe.commits, probe.next_seq, /*writer_open=*/true, probe.positions},
        opts.sync);
    if (!s.ok()) return s;
    db_opts.info_log = std::make_shared<StoreLogger>(dir);
  }
  auto impl = std::make_unique<Impl>();
  impl->fault_injection = opts.fault_injection;
  impl->read_only = opts.read_only;
  impl->secondary = !opts.secondary_dir.empty();
  impl->write_options.sync = opts.sync;
  impl->write_options.disableWAL = opts.unlogged;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (impl->secondary) {
    fs::create_directories(opts.secondary_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("creating ", opts.secondary_dir, ": ", ec.message()));
    }
    // One LOG for all its reopens (store/store_logger.h).
    db_opts.info_log = std::make_shared<StoreLogger>(opts.secondary_dir);
    // Required of a secondary: it keeps every table file open, so files
    // the writer's compactions delete stay readable until it catches up.
    db_opts.max_open_files = -1;
    impl->follow = {dir, opts.secondary_dir, db_opts, {descs[0]}, nullptr};
    WatchForMissingTables(&impl->follow);
    for (int i = 0; i < static_cast<int>(Family::kNumFamilies); ++i) {
      const Family f = static_cast<Family>(i);
      if (opts.followed.empty() || f == Family::kEvents || f == Family::kMeta ||
          std::find(opts.followed.begin(), opts.followed.end(), f) !=
              opts.followed.end()) {
        impl->follow.families.push_back(descs[i + 1]);
      }
    }
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> followed;
    s = OpenSecondary(impl->follow, &db, &followed);
    if (s.ok()) {
      impl->InstallFollower(std::move(db), std::move(followed));
      // The default family's handle, which OpenSecondary dropped, is not
      // needed: a follower never finishes a creation (below).
      handles = {nullptr};
      handles.insert(handles.end(), impl->handles.begin(), impl->handles.end());
      raw = impl->db.release();
    }
  } else if (opts.read_only) {
    s = OpenReadOnly(db_opts, dir, descs, &handles, &raw);
  } else if (!is_rocksdb) {
    // A new store: RocksDB creates each missing family with an OPTIONS
    // file of its own, written, synced and parsed back (nine of them at the
    // head of a first ingest); created in one call they share one. A crash
    // between the two leaves the creation cut short that a writer
    // finishes (ProbeStore).
    s = rocksdb::DB::Open(db_opts, dir, {descs[0]}, &handles, &raw);
    if (s.ok()) {
      std::vector<rocksdb::ColumnFamilyHandle*> ours;
      s = raw->CreateColumnFamilies({descs.begin() + 1, descs.end()}, &ours);
      handles.insert(handles.end(), ours.begin(), ours.end());
      if (!s.ok()) {
        for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
        handles.clear();
        delete raw;
        raw = nullptr;
      }
    }
  } else {
    s = rocksdb::DB::Open(db_opts, dir, descs, &handles, &raw);
  }
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return absl::UnavailableError(absl::StrCat(
          "--db ", dir,
          " is in use by another chatkpi process: ", s.ToString()));
    }
    if (s.IsCorruption()) {
      return absl::DataLossError(absl::StrCat(
          "--db ", dir, " is corrupt: ", s.ToString(),
          "; restore it from a backup, or rebuild it by ingesting the "
          "sources into a new --db"));
    }
    return ToStatus(s, absl::StrCat("opening --db ", dir));
  }
  impl->db.reset(raw);
  // handles[0] is the default family; ours follow in Family order.
  impl->handles.assign(handles.begin() + 1, handles.end());
  // Kept until the format check below, which may need to look into it.
  std::unique_ptr<rocksdb::ColumnFamilyHandle,
                  std::function<void(rocksdb::ColumnFamilyHandle*)>>
      default_family(handles[0], [db = impl->db.get()](auto* h) {
        if (h != nullptr) db->DestroyColumnFamilyHandle(h);
      });

  std::string format;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->cf(Family::kMeta),
                    rocksdb::Slice(kFormatKey), &format);
  if (s.IsNotFound()) {
    // The marker is the first write after creation. A store without it that
    // holds nothing at all is one whose creation was cut short: finish it.
    if (is_rocksdb && (opts.read_only || !AllEmpty(impl->db.get(), handles))) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--db ", dir, " is not a chatkpi store (no format marker)"));
    }
    s = impl->db->Put(impl->write_options, impl->cf(Family::kMeta),
                      rocksdb::Slice(kFormatKey), rocksdb::Slice(kFormatValue));
    if (!s.ok()) return ToStatus(s, absl::StrCat("creating --db ", dir));
  } else if (!s.ok()) {
    return ToStatus(s, "reading format marker");
  } else if (format != kFormatValue && format != kFormatBeforeAppendedRecords &&
             format != kFormatBeforeCompressedBlocks) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", dir, " has chatkpi format ", format, ", this build reads ",
        kFormatBeforeCompressedBlocks, " to ", kFormatValue));
  } else if (format != kFormatValue && !opts.read_only) {
    // What it holds stays readable as it is; new blocks may be compressed
    // and new records appended, which builds that read only an older
    // format must not meet unwarned.
    s = impl->db->Put(impl->write_options, impl->cf(Family::kMeta),
                      rocksdb::Slice(kFormatKey), rocksdb::Slice(kFormatValue));
    if (!s.ok()) return ToStatus(s, absl::StrCat("upgrading --db ", dir));
  }

  auto next_seq = EventLogEnd(impl->db.get(), impl->cf(Family::kEvents), dir);
  if (!next_seq.ok()) return next_seq.status();
  impl->commits = probe.commits;
  impl->positions = std::move(probe.positions);
  if (impl->secondary) {
    impl->table_files = TableFilesFingerprint(impl->db.get());
  }
  if (!opts.read_only) {
    auto ids = IdIndex::Open(impl->db.get(),
                             {impl->cf(Family::kIds), impl->cf(Family::kEvents),
                              impl->cf(Family::kMeta)},
                             dir, *next_seq, opts.id_spill_threshold,
                             opts.id_filter_log2_bits);
    if (!ids.ok()) return ids.status();
    impl->ids = std::move(*ids);
  }
  return std::unique_ptr<Store>(new Store(dir, std::move(impl), *next_seq));
}

absl::Status Store::Write(Commit* commit) { return WriteAll({commit}); }

void Store::ExpectWrite(const std::vector<Commit*>& commits) {
  std::vector<const std::vector<uint64_t>*> written = {&impl_->counter_key};
  for (const Commit* c : commits) written.push_back(&c->impl_->written_keys);
  impl_->announced.Announce(std::move(written));
}

absl::Status Store::WriteAll(const std::vector<Commit*>& commits) {
  absl::Status s = WriteAllUnannounced(commits);
  // Landed first: the readers that wait may still look at the keys.
  impl_->announced.Landed();
  for (Commit* c : commits) c->impl_->written_keys.clear();
  return s;
}

absl::Status Store::WriteAllUnannounced(const std::vector<Commit*>& commits) {
  DisablePerfCounters();
  std::lock_guard writing(impl_->writing);
  if (impl_->closing) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit to --db ", dir_,
                     ": the store is being closed (a write after "
                     "Store::BeginClose)"));
  }
  for (Commit* commit : commits) {
    if (!commit->impl_->refused.ok()) return commit->impl_->refused;
  }
  {
    // A sealed log must start where the store's log will be by then.
    uint64_t at = next_seq_;
    for (Commit* commit : commits) {
      const Commit::Impl& c = *commit->impl_;
      if (c.sealed_at.has_value() && *c.sealed_at != at) {
        return absl::InternalError(absl::StrCat(
            "commit to --db ", dir_, ": its events were sealed at ",
            *c.sealed_at, " but the log is at ", at));
      }
      at += commit->num_events();
    }
  }
  // One commit is written as its batch, its log blocks and the commit
  // counter added to it. Several are joined (store/batch_join.h): each
  // batch's records appended as they are, then a batch of the log blocks
  // not in them yet (compressed here: Commit::CompressLogAtWrite) and the
  // counter, so that RocksDB applies them as one.
  Commit::Impl& first = *commits.front()->impl_;
  const bool joined = commits.size() > 1;
  rocksdb::WriteBatch tail;
  rocksdb::WriteBatch* extra = joined ? &tail : &first.batch;
  uint64_t seq = next_seq_;
  std::vector<uint64_t> ends;
  // What each commit put in, for the size of its next batch.
  std::vector<size_t> sizes;
  size_t total = 0;
  for (Commit* commit : commits) {
    Commit::Impl& c = *commit->impl_;
    sizes.push_back(c.batch.GetDataSize());
    total += c.batch.GetDataSize();
    // A sealed log was checked to start here; its blocks are in its batch
    // already unless they are compressed at the write.
    c.log.WriteTo(extra, impl_->cf(Family::kEvents), seq);
    seq += commit->num_events();
    ends.push_back(seq);
    // The blocks are in the batch: a sealed log (which keeps its count)
    // lets go of its copy now rather than after the write.
    if (c.sealed_at.has_value()) c.log.Clear();
  }
  std::string count;
  PutFixed64BE(&count, impl_->commits + 1);
  extra->Put(impl_->cf(Family::kMeta), kCommitsKey, count);
  if (!joined) sizes.front() = first.batch.GetDataSize();
  rocksdb::WriteBatch all;
  if (joined) {
    BatchJoin join(total + tail.GetDataSize());
    for (Commit* commit : commits) {
      Commit::Impl& c = *commit->impl_;
      if (!join.Append(c.batch)) {
        return absl::InternalError(absl::StrCat(
            "commit to --db ", dir_, ": a batch of an unknown format"));
      }
      // Copied: its memory goes now, not after the write, so that a
      // commit of several is held about once, not twice (docs/engine.md,
      // "Memory"). A failed write fails the engines whose commits these
      // are.
      c.batch = rocksdb::WriteBatch();
    }
    if (!join.Append(tail)) {
      return absl::InternalError(absl::StrCat(
          "commit to --db ", dir_, ": a batch of an unknown format"));
    }
    tail = rocksdb::WriteBatch();
    all = join.Take();
  }
  rocksdb::WriteBatch& batch = joined ? all : first.batch;
  rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch);
  if (!s.ok()) {
    impl_->write_failed = true;
    // RocksDB applies a batch whole or not at all: the store still holds
    // the previous commit and its source positions, so a re-run after the
    // cause is fixed resumes exactly there.
    return ToStatus(s, absl::StrCat("commit to --db ", dir_,
                                    " failed, nothing of it was stored (free "
                                    "disk space or fix the I/O error, then "
                                    "run again: it resumes at the last "
                                    "commit)"));
  }
  next_seq_.store(seq, std::memory_order_release);
  ++impl_->commits;
  for (Commit* commit : commits) {
    Commit::Impl& c = *commit->impl_;
    for (auto& [key, position] : c.positions) {
      if (position.has_value()) {
        impl_->positions[key] = std::move(*position);
      } else {
        impl_->positions.erase(key);
      }
    }
    c.positions.clear();
  }
  // After the commit, never before: the record may lag the store (a crash
  // here), never lead it. Not written, it only lags.
  WriteCommitRecord(
      dir_, {impl_->commits, seq, /*writer_open=*/true, impl_->positions},
      impl_->write_options.sync)
      .IgnoreError();
  absl::Status spilled = absl::OkStatus();
  {
    absl::MutexLock lock(&impl_->ids_mu);
    for (size_t i = 0; i < commits.size(); ++i) {
      Commit::Impl& c = *commits[i]->impl_;
      if (c.owner == Commit::Impl::kNoOwner) continue;
      absl::Status st = impl_->ids->Committed(c.owner, ends[i]);
      if (!st.ok()) {
        impl_->write_failed = true;
        if (spilled.ok()) spilled = st;
      }
    }
  }
  for (size_t i = 0; i < commits.size(); ++i) {
    // The next batch starts as large as what this commit put in plus a
    // quarter instead of growing by doubling, which copies the whole batch
    // while still holding the old copy: at the end of a commit full of
    // states that transient was the process's peak memory (docs/engine.md,
    // "Memory").
    rocksdb::WriteBatch& b = commits[i]->impl_->batch;
    b = rocksdb::WriteBatch(sizes[i] + sizes[i] / 4);
    commits[i]->impl_->log.Clear();
    commits[i]->impl_->sealed_at.reset();
    commits[i]->impl_->sealed_events = 0;
  }
  return spilled;
}

struct Store::ReadHold::State {
  Store::Impl* impl = nullptr;
  const rocksdb::Snapshot* snapshot = nullptr;  // the writer's process
  absl::Mutex* catching_up = nullptr;           // a follower's, held shared
};

namespace {
// The hold the thread's reads go through, if any (one at a time).
thread_local Store::ReadHold::State* tls_read_hold = nullptr;
}  // namespace

Store::ReadHold::ReadHold(std::unique_ptr<State> state)
    : state_(std::move(state)) {
  if (state_ != nullptr) tls_read_hold = state_.get();
}

Store::ReadHold::ReadHold(ReadHold&& other) noexcept
    : state_(std::move(other.state_)) {}

Store::ReadHold::~ReadHold() {
  if (state_ == nullptr) return;
  if (tls_read_hold == state_.get()) tls_read_hold = nullptr;
  if (state_->snapshot != nullptr) {
    state_->impl->db->ReleaseSnapshot(state_->snapshot);
  }
  if (state_->catching_up != nullptr) state_->catching_up->ReaderUnlock();
}

Store::ReadHold Store::HoldReads() {
  if (tls_read_hold != nullptr) return ReadHold(nullptr);
  auto state = std::make_unique<ReadHold::State>();
  state->impl = impl_.get();
  if (impl_->secondary) {
    impl_->catching_up.ReaderLock();
    state->catching_up = &impl_->catching_up;
  } else {
    state->snapshot = impl_->db->GetSnapshot();
  }
  return ReadHold(std::move(state));
}

namespace {
// The snapshot the calling thread's hold reads `impl` at, if any.
const rocksdb::Snapshot* HeldSnapshot(const void* impl) {
  return tls_read_hold != nullptr && tls_read_hold->impl == impl
             ? tls_read_hold->snapshot
             : nullptr;
}
}  // namespace

absl::StatusOr<bool> Store::CatchUp() {
  if (!impl_->secondary) {
    return absl::FailedPreconditionError(
        "CatchUp needs a store opened with StoreOptions::secondary_dir");
  }
  absl::WriterMutexLock catching(&impl_->catching_up);
  const rocksdb::SequenceNumber before = impl_->db->GetLatestSequenceNumber();
  bool changed = false;
  // The catch-up runs beside reads (RocksDB allows that); a new instance
  // is swapped in with them excluded.
  rocksdb::Status s = CatchUpSecondary(
      impl_->follow, impl_->db.get(), &impl_->table_files,
      [&](std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles) {
        std::unique_lock lock(impl_->reopening);
        impl_->InstallFollower(std::move(db), std::move(handles));
        changed = true;
      });
  if (!s.ok()) return ToStatus(s, absl::StrCat("following --db ", dir_));
  changed = changed || impl_->db->GetLatestSequenceNumber() != before;
  if (!changed) return false;
  auto end = EventLogEnd(impl_->db.get(), impl_->cf(Family::kEvents), dir_);
  if (!end.ok()) return end.status();
  next_seq_.store(*end, std::memory_order_release);
  return true;
}

absl::Status Store::ScanEvents(
    uint64_t from, uint64_t to,
    const std::function<bool(uint64_t, std::string_view)>& visit) {
  auto reading = impl_->Reading();
  const uint64_t end = std::min(to, next_seq());
  const bool one_pass = end > from && end - from > kOnePassEvents;
  return ScanEventLog(impl_->db.get(), impl_->cf(Family::kEvents), dir_, from,
                      to, one_pass,
                      [&](uint64_t seq, std::string_view,
                          std::string_view raw) { return visit(seq, raw); });
}

absl::StatusOr<std::string> Store::ReadEvent(uint64_t seq) {
  std::optional<std::string> raw;
  absl::Status s = ScanEvents(seq, seq + 1, [&](uint64_t, std::string_view r) {
    raw = std::string(r);
    return false;
  });
  if (!s.ok()) return s;
  if (!raw.has_value()) {
    return absl::DataLossError(absl::StrCat("--db ", dir_, ": event ", seq,
                                            " is missing from the event log"));
  }
  return *raw;
}

absl::StatusOr<std::optional<std::string>> Store::Get(Family f,
                                                      std::string_view key) {
  if (absl::Status s = impl_->Readable(f); !s.ok()) return s;
  auto reading = impl_->Reading(f, key);
  // Buyer and order states are read back by the engine, which keeps them
  // decoded among its evicted states (engine/evicted_states.h) under a
  // budget of their own: their blocks in the block cache as well would hold
  // the same states twice, and grow the cache with the store's history of
  // buyers rather than with what is open (docs/engine.md, "Memory").
  const bool fill_cache = f != Family::kBuyers && f != Family::kOrders;
  return ReadValue(impl_->db.get(), impl_->cf(f), key, dir_, fill_cache,
                   HeldSnapshot(impl_.get()));
}

absl::StatusOr<bool> Store::ContainsId(std::string_view id) {
  if (impl_->ids == nullptr) {
    return absl::FailedPreconditionError("the store is open read-only");
  }
  absl::MutexLock lock(&impl_->ids_mu);
  return impl_->ids->Contains(id);
}

uint64_t Store::id_family_reads() const {
  return impl_->ids == nullptr ? 0 : impl_->ids->family_reads();
}

absl::Status Store::Scan(
    Family f, std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& visit) {
  if (IsOwnedFamily(f)) return OwnedFamilyError(f, "a Scan");
  if (absl::Status s = impl_->Readable(f); !s.ok()) return s;
  auto reading = impl_->Reading();
  return ScanRange(impl_->db.get(), impl_->cf(f), begin, end, dir_, visit,
                   HeldSnapshot(impl_.get()));
}

uint64_t Store::commits() const { return impl_->commits; }

absl::Status Store::Checkpoint(const std::string& to) {
  for (int f = 0; f < static_cast<int>(Family::kNumFamilies); ++f) {
    if (absl::Status s = impl_->Readable(static_cast<Family>(f)); !s.ok()) {
      return s;  // a copy of some families is no store
    }
  }
  auto reading = impl_->Reading();
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(to);
  return ToStatus(s, absl::StrCat("copying --db ", dir_, " to ", to));
}

absl::Status Store::VerifyChecksums() {
  auto reading = impl_->Reading();
  return ToStatus(impl_->db->VerifyChecksum(),
                  absl::StrCat("--db ", dir_, " is corrupt"));
}

}  // namespace chatkpi

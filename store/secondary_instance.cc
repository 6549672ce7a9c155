#include "store/secondary_instance.h"

#include <atomic>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/metadata.h"
#include "store/rocksdb_status.h"
#include "store/stable_hash.h"
#include "store/store_files.h"

namespace chatkpi {
namespace {

// Attempts before a view taken while WALs keep going away is kept anyway:
// the writer deletes a WAL once per flush of all its families, so a second
// attempt nearly always finds none gone.
constexpr int kAttempts = 20;

// Counts the table files (.sst; RocksDB then tries the old .ldb name, not
// counted) that an open finds missing.
class MissingTableWatch : public rocksdb::FileSystemWrapper {
 public:
  MissingTableWatch(const std::shared_ptr<rocksdb::FileSystem>& base,
                    std::atomic<uint64_t>* count)
      : FileSystemWrapper(base), count_(count) {}

  static const char* kClassName() { return "ChatkpiMissingTableWatch"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewRandomAccessFile(
      const std::string& f, const rocksdb::FileOptions& fo,
      std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
      rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewRandomAccessFile(f, fo, r, dbg);
    if (s.IsPathNotFound() && f.ends_with(".sst")) ++*count_;
    return s;
  }

 private:
  std::atomic<uint64_t>* count_;
};

}  // namespace

struct MissingTables {
  std::atomic<uint64_t> count{0};
  std::unique_ptr<rocksdb::Env> env;  // what SecondaryParams::options use
};

void WatchForMissingTables(SecondaryParams* p) {
  auto tables = std::make_shared<MissingTables>();
  rocksdb::Env* base =
      p->options.env != nullptr ? p->options.env : rocksdb::Env::Default();
  tables->env = rocksdb::NewCompositeEnv(std::make_shared<MissingTableWatch>(
      base->GetFileSystem(), &tables->count));
  p->options.env = tables->env.get();
  p->missing_tables = std::move(tables);
}

namespace {

uint64_t MissingTableCount(const SecondaryParams& p) {
  return p.missing_tables == nullptr ? 0 : p.missing_tables->count.load();
}

}  // namespace

rocksdb::Status OpenSecondary(
    const SecondaryParams& p, std::unique_ptr<rocksdb::DB>* db,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  rocksdb::Status s;
  bool table_missing = false;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t missing = MissingTableCount(p);
    const std::vector<uint64_t> before = ListWals(p.dir);
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenAsSecondary(p.options, p.dir, p.secondary_dir,
                                     p.families, &all, &raw);
    if (IsFileGoneMidOpen(s)) continue;
    if (!s.ok()) return s;
    db->reset(raw);
    (*db)->DestroyColumnFamilyHandle(all[0]);
    handles->assign(all.begin() + 1, all.end());
    table_missing = MissingTableCount(p) != missing;
    if (!table_missing && !WalDeletedSince(p.dir, before)) return s;
    CloseSecondary(db, handles);
  }
  if (!s.ok()) return s;
  if (table_missing) {
    return rocksdb::Status::Corruption(
        "a table file that its MANIFEST names is missing, at each of ",
        std::to_string(kAttempts) + " opens");
  }
  return rocksdb::Status::IOError(
      "the writer deleted a write-ahead log during each of " +
      std::to_string(kAttempts) + " opens; try again");
}

void CloseSecondary(std::unique_ptr<rocksdb::DB>* db,
                    std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  for (auto* h : *handles) {
    if (h != nullptr) (*db)->DestroyColumnFamilyHandle(h);
  }
  handles->clear();
  if (*db) (*db)->Close().PermitUncheckedError();
  db->reset();
}

uint64_t TableFilesFingerprint(rocksdb::DB* db) {
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  // Order-free: the same files listed in another order are the same set.
  uint64_t sum = files.size();
  for (const auto& f : files) {
    sum += Mix64(StableHash(f.column_family_name) ^ f.file_number);
  }
  return sum;
}

rocksdb::Status CatchUpSecondary(
    const SecondaryParams& p, rocksdb::DB* db, uint64_t* table_files,
    const std::function<void(std::unique_ptr<rocksdb::DB>,
                             std::vector<rocksdb::ColumnFamilyHandle*>)>&
        install) {
  bool open_anew = false;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const std::vector<uint64_t> before = ListWals(p.dir);
    if (!open_anew) {
      const uint64_t missing = MissingTableCount(p);
      rocksdb::Status s = db->TryCatchUpWithPrimary();
      if (!s.ok()) return s;
      open_anew = TableFilesFingerprint(db) != *table_files ||
                  MissingTableCount(p) != missing;
    }
    if (open_anew) {
      std::unique_ptr<rocksdb::DB> fresh;
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::Status s = OpenSecondary(p, &fresh, &handles);
      if (!s.ok()) return s;
      db = fresh.get();
      *table_files = TableFilesFingerprint(db);
      install(std::move(fresh), std::move(handles));
    }
    if (!WalDeletedSince(p.dir, before)) return rocksdb::Status::OK();
    open_anew = true;
  }
  return rocksdb::Status::OK();
}

}  // namespace chatkpi

#include "store/secondary_instance.h"

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "absl/strings/numbers.h"
#include "rocksdb/metadata.h"
#include "store/stable_hash.h"

namespace chatkpi {
namespace {

// The writer's WAL files (NNNNNN.log in the store's directory), sorted.
std::vector<uint64_t> LiveWals(const std::string& dir) {
  std::vector<uint64_t> wals;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    uint64_t n = 0;
    if (name.size() > 4 && name.ends_with(".log") &&
        absl::SimpleAtoi(name.substr(0, name.size() - 4), &n)) {
      wals.push_back(n);
    }
  }
  std::sort(wals.begin(), wals.end());
  return wals;
}

// Attempts before a view taken while WALs keep going away is kept anyway:
// the writer deletes a WAL once per flush of all its families, so a second
// attempt nearly always finds none gone.
constexpr int kAttempts = 20;

}  // namespace

rocksdb::Status OpenSecondary(
    const SecondaryParams& p, std::unique_ptr<rocksdb::DB>* db,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(
      p.options, p.dir, p.secondary_dir, p.families, &all, &raw);
  if (!s.ok()) return s;
  db->reset(raw);
  (*db)->DestroyColumnFamilyHandle(all[0]);
  handles->assign(all.begin() + 1, all.end());
  return s;
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
    const std::vector<uint64_t> before = LiveWals(p.dir);
    if (!open_anew) {
      rocksdb::Status s = db->TryCatchUpWithPrimary();
      if (!s.ok()) return s;
      open_anew = TableFilesFingerprint(db) != *table_files;
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
    const std::vector<uint64_t> after = LiveWals(p.dir);
    if (std::includes(after.begin(), after.end(), before.begin(),
                      before.end())) {
      return rocksdb::Status::OK();
    }
    open_anew = true;
  }
  return rocksdb::Status::OK();
}

}  // namespace chatkpi

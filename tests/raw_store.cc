#include "tests/raw_store.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"

namespace chatkpi::testing {

absl::Status PutRawStoreValue(const std::string& dir, Family f,
                              std::string_view key, std::string_view value) {
  std::vector<std::string> names;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) return absl::InternalError(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  int target = -1;
  for (const std::string& name : names) {
    if (name == FamilyName(f)) target = static_cast<int>(families.size());
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  if (target < 0) {
    return absl::NotFoundError(absl::StrCat("no family ", FamilyName(f)));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &raw);
  if (!s.ok()) return absl::InternalError(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  s = db->Put(rocksdb::WriteOptions(), handles[target],
              rocksdb::Slice(key.data(), key.size()),
              rocksdb::Slice(value.data(), value.size()));
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    rocksdb::Status d = db->DestroyColumnFamilyHandle(h);
    if (s.ok()) s = d;
  }
  if (s.ok()) s = db->Close();
  if (!s.ok()) return absl::InternalError(s.ToString());
  return absl::OkStatus();
}

}  // namespace chatkpi::testing

#include "store/store_follower.h"

#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "store/coding.h"
#include "store/event_log.h"
#include "store/rocksdb_reads.h"
#include "store/rocksdb_status.h"

namespace chatkpi {
struct StoreFollower::Impl {
  std::string dir;
  std::unique_ptr<rocksdb::DB> db;
  // By Family; null for families not followed.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  rocksdb::ColumnFamilyHandle* cf(Family f) {
    return handles[static_cast<int>(f)];
  }
  absl::Status Check(Family f) {
    if (cf(f) != nullptr) return absl::OkStatus();
    return absl::InternalError(
        absl::StrCat("family ", FamilyName(f), " is not followed"));
  }
  ~Impl() {
    for (auto* h : handles) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    if (db) db->Close();
  }
};

StoreFollower::StoreFollower(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
StoreFollower::~StoreFollower() = default;

absl::StatusOr<std::unique_ptr<StoreFollower>> StoreFollower::Open(
    const std::string& dir, const std::string& secondary_dir,
    const std::vector<Family>& families) {
  std::error_code ec;
  std::filesystem::create_directories(secondary_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("creating ", secondary_dir, ": ", ec.message()));
  }
  rocksdb::DBOptions o;
  o.max_open_files = -1;  // required of a secondary instance
  o.info_log_level = rocksdb::WARN_LEVEL;
  o.keep_log_file_num = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName,
                     rocksdb::ColumnFamilyOptions());
  for (Family f : families) {
    rocksdb::ColumnFamilyOptions o;
    if (f == Family::kEvents) {
      // As in the store: the log is append-only, and replaying the writer's
      // log into a vector is much cheaper than into a skiplist.
      o.memtable_factory.reset(new rocksdb::VectorRepFactory());
    }
    descs.emplace_back(FamilyName(f), o);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(o, dir, secondary_dir, descs,
                                                   &handles, &raw);
  if (!s.ok()) {
    return ToStatus(s, absl::StrCat("following the store in ", dir));
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->db.reset(raw);
  impl->handles.assign(static_cast<size_t>(Family::kNumFamilies), nullptr);
  for (size_t i = 0; i < families.size(); ++i) {
    impl->handles[static_cast<int>(families[i])] = handles[i + 1];
  }
  impl->db->DestroyColumnFamilyHandle(handles[0]);
  return std::unique_ptr<StoreFollower>(new StoreFollower(std::move(impl)));
}

absl::Status StoreFollower::CatchUp() {
  return ToStatus(impl_->db->TryCatchUpWithPrimary(),
                  absl::StrCat("catching up with ", impl_->dir));
}

absl::StatusOr<uint64_t> StoreFollower::NextSeq() {
  if (absl::Status s = impl_->Check(Family::kEvents); !s.ok()) return s;
  return EventLogEnd(impl_->db.get(), impl_->cf(Family::kEvents), impl_->dir);
}

absl::Status StoreFollower::ScanEvents(
    uint64_t from, uint64_t to,
    const std::function<bool(uint64_t, std::string_view)>& visit) {
  if (absl::Status s = impl_->Check(Family::kEvents); !s.ok()) return s;
  // Replay reads the whole log once.
  return ScanEventLog(impl_->db.get(), impl_->cf(Family::kEvents), impl_->dir,
                      from, to,
                      /*one_pass=*/true,
                      [&](uint64_t seq, std::string_view,
                          std::string_view raw) { return visit(seq, raw); });
}

absl::Status StoreFollower::Scan(
    Family f, std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& visit) {
  if (absl::Status s = impl_->Check(f); !s.ok()) return s;
  return ScanRange(impl_->db.get(), impl_->cf(f), begin, end, impl_->dir,
                   visit);
}

absl::StatusOr<std::optional<std::string>> StoreFollower::Get(
    Family f, std::string_view key) {
  if (absl::Status s = impl_->Check(f); !s.ok()) return s;
  return ReadValue(impl_->db.get(), impl_->cf(f), key, impl_->dir);
}

}  // namespace chatkpi

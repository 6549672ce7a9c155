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
#include "store/secondary_instance.h"
#include "store/store_logger.h"

namespace chatkpi {
struct StoreFollower::Impl {
  SecondaryParams follow;
  std::vector<Family> families;  // followed, as in follow.families[1..]
  uint64_t table_files = 0;
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
  // Takes over a secondary whose handles are those of `families`.
  void Install(std::unique_ptr<rocksdb::DB> fresh,
               std::vector<rocksdb::ColumnFamilyHandle*> followed) {
    CloseSecondary(&db, &handles);
    db = std::move(fresh);
    handles.assign(static_cast<size_t>(Family::kNumFamilies), nullptr);
    for (size_t i = 0; i < families.size(); ++i) {
      handles[static_cast<int>(families[i])] = followed[i];
    }
  }
  ~Impl() { CloseSecondary(&db, &handles); }
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
  auto impl = std::make_unique<Impl>();
  impl->follow.dir = dir;
  impl->follow.secondary_dir = secondary_dir;
  rocksdb::DBOptions& o = impl->follow.options;
  o.max_open_files = -1;  // required of a secondary instance
  o.info_log_level = rocksdb::WARN_LEVEL;
  // One LOG for all its reopens (store/store_logger.h).
  o.info_log = std::make_shared<StoreLogger>(secondary_dir);
  o.keep_log_file_num = 2;
  impl->follow.families.emplace_back(rocksdb::kDefaultColumnFamilyName,
                                     rocksdb::ColumnFamilyOptions());
  for (Family f : families) {
    rocksdb::ColumnFamilyOptions o;
    if (f == Family::kEvents) {
      // As in the store: the log is append-only, and replaying the writer's
      // log into a vector is much cheaper than into a skiplist.
      o.memtable_factory.reset(new rocksdb::VectorRepFactory());
    }
    impl->follow.families.emplace_back(FamilyName(f), o);
  }
  impl->families = families;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = OpenSecondary(impl->follow, &db, &handles);
  if (!s.ok()) {
    return ToStatus(s, absl::StrCat("following the store in ", dir));
  }
  impl->table_files = TableFilesFingerprint(db.get());
  impl->Install(std::move(db), std::move(handles));
  return std::unique_ptr<StoreFollower>(new StoreFollower(std::move(impl)));
}

absl::Status StoreFollower::CatchUp() {
  Impl& impl = *impl_;
  return ToStatus(
      CatchUpSecondary(impl.follow, impl.db.get(), &impl.table_files,
                       [&](std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles) {
                         impl.Install(std::move(db), std::move(handles));
                       }),
      absl::StrCat("catching up with ", impl.follow.dir));
}

absl::StatusOr<uint64_t> StoreFollower::NextSeq() {
  if (absl::Status s = impl_->Check(Family::kEvents); !s.ok()) return s;
  return EventLogEnd(impl_->db.get(), impl_->cf(Family::kEvents),
                     impl_->follow.dir);
}

absl::Status StoreFollower::ScanEvents(
    uint64_t from, uint64_t to,
    const std::function<bool(uint64_t, std::string_view)>& visit) {
  if (absl::Status s = impl_->Check(Family::kEvents); !s.ok()) return s;
  // Replay reads the whole log once.
  return ScanEventLog(impl_->db.get(), impl_->cf(Family::kEvents),
                      impl_->follow.dir, from, to,
                      /*one_pass=*/true,
                      [&](uint64_t seq, std::string_view,
                          std::string_view raw) { return visit(seq, raw); });
}

absl::Status StoreFollower::Scan(
    Family f, std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& visit) {
  if (absl::Status s = impl_->Check(f); !s.ok()) return s;
  return ScanRange(impl_->db.get(), impl_->cf(f), begin, end, impl_->follow.dir,
                   visit);
}

absl::StatusOr<std::optional<std::string>> StoreFollower::Get(
    Family f, std::string_view key) {
  if (absl::Status s = impl_->Check(f); !s.ok()) return s;
  return ReadValue(impl_->db.get(), impl_->cf(f), key, impl_->follow.dir);
}

}  // namespace chatkpi

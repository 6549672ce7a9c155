#include "store/rocksdb_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace chatkpi {

absl::Status ToStatus(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(std::string(what), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(
        msg,
        " (the store is corrupt: restore it from a backup, or rebuild it "
        "by ingesting the sources into a new --db)"));
  }
  if (s.IsIOError() || s.IsNoSpace()) return absl::UnavailableError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

bool IsFileGoneMidOpen(const rocksdb::Status& s) {
  return (s.IsIOError() || s.IsCorruption()) &&
         s.ToString().find("No such file") != std::string::npos;
}

}  // namespace chatkpi

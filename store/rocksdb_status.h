// absl::Status from rocksdb::Status, for the store's implementation files.
#ifndef CHATKPI_STORE_ROCKSDB_STATUS_H_
#define CHATKPI_STORE_ROCKSDB_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace chatkpi {

// `what` says what was being done ("reading --db DIR"). Corruption becomes
// DataLoss with advice on what to do; I/O errors and a full disk become
// Unavailable (a retry after the cause is fixed can succeed).
absl::Status ToStatus(const rocksdb::Status& s, std::string_view what);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ROCKSDB_STATUS_H_

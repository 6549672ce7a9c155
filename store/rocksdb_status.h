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

// Whether `s` is an open's failure on a file its MANIFEST names that is not
// there. Beside a running writer that is no damage: the writer deleted the
// file (a WAL after a flush, a table file after a compaction) between the
// reader's reading of the MANIFEST and its opening the file, and a second
// open reads the MANIFEST that no longer names it. RocksDB reports a
// missing WAL as an I/O error, and a missing table file as corruption that
// quotes the I/O error.
bool IsFileGoneMidOpen(const rocksdb::Status& s);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_ROCKSDB_STATUS_H_

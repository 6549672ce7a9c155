// Writes straight into a closed store's RocksDB, past chatkpi's own
// interfaces: how tests make the damage (a broken event block, a stored
// value that does not decode) that those interfaces refuse to write.
#ifndef CHATKPI_TESTS_RAW_STORE_H_
#define CHATKPI_TESTS_RAW_STORE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "store/store.h"

namespace chatkpi::testing {

// Sets `key` of family `f` to `value` in the store at `dir`, which no
// process may have open.
absl::Status PutRawStoreValue(const std::string& dir, Family f,
                              std::string_view key, std::string_view value);

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_RAW_STORE_H_

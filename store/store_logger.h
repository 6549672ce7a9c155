// RocksDB's own diagnostic log (DIR/LOG), warnings and errors only, for
// every RocksDB instance chatkpi opens that logs at all.
//
// Not RocksDB's default logger, for two reasons. On a full disk that one's
// failed write trips an assertion in Debian's librocksdb (which keeps
// asserts) when the no-space recovery thread logs again, aborting the
// process instead of letting chatkpi report the error; this one ignores its
// own write errors. And each open of the default one starts a new LOG and
// keeps the last as LOG.old.<time>, which a follower that opens itself
// again after every flush of its writer (store/secondary_instance.h) would
// pile up by the thousand; this one appends to one LOG, shared by every
// instance given the same logger, and starts it anew past 4 MiB.
#ifndef CHATKPI_STORE_STORE_LOGGER_H_
#define CHATKPI_STORE_STORE_LOGGER_H_

#include <cstdarg>
#include <cstdio>
#include <string>

#include "rocksdb/env.h"

namespace chatkpi {

class StoreLogger : public rocksdb::Logger {
 public:
  // Logs to `dir`/LOG.
  explicit StoreLogger(const std::string& dir);
  ~StoreLogger() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace chatkpi

#endif  // CHATKPI_STORE_STORE_LOGGER_H_

#include "store/store_logger.h"

#include <filesystem>

namespace chatkpi {

StoreLogger::StoreLogger(const std::string& dir)
    : Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(dir) / "LOG";
  std::error_code ec;
  if (fs::file_size(path, ec) > (4u << 20) && !ec) {
    fs::rename(path, fs::path(dir) / "LOG.old", ec);
  }
  file_ = std::fopen(path.c_str(), "a");
}

StoreLogger::~StoreLogger() {
  if (file_ != nullptr) std::fclose(file_);
}

void StoreLogger::Logv(const char* format, va_list ap) {
  if (file_ == nullptr) return;
  std::vfprintf(file_, format, ap);
  std::fputc('\n', file_);
  std::fflush(file_);  // errors ignored: the log is best effort
}

}  // namespace chatkpi

#include "ingest/line_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace chatkpi {

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(
    const std::string& path, size_t max_line, size_t chunk) {
  if (max_line == 0 || chunk == 0) {
    return absl::InvalidArgumentError("line reader: zero max_line or chunk");
  }
  if (path == "-") {
    struct stat st;
    if (::fstat(STDIN_FILENO, &st) != 0) {
      return absl::ErrnoToStatus(errno, "stat stdin");
    }
    return std::unique_ptr<LineReader>(
        new LineReader(path, STDIN_FILENO, false, st, max_line, chunk));
  }
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return absl::ErrnoToStatus(errno, "open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return absl::ErrnoToStatus(err, "stat " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError("open " + path + ": is a directory");
  }
  if (S_ISREG(st.st_mode)) {
    // Only a hint for readahead; failure changes nothing.
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  return std::unique_ptr<LineReader>(
      new LineReader(path, fd, true, st, max_line, chunk));
}

LineReader::LineReader(std::string path, int fd, bool owns_fd,
                       const struct stat& st, size_t max_line, size_t chunk)
    : path_(std::move(path)),
      fd_(fd),
      owns_fd_(owns_fd),
      max_line_(max_line),
      // Room for the longest line we keep whole (plus "\r" and one byte to
      // prove it is longer) and a full chunk after it.
      capacity_(max_line + 2 + chunk) {
  // Not zeroed: only bytes read into it are ever looked at, and zeroing
  // 2 MiB up front faulted in pages a short input never needs.
  buf_ = std::make_unique_for_overwrite<char[]>(capacity_);
  stat_ = st;
}

absl::StatusOr<std::string> LineReader::ReadPrefix(size_t n) const {
  if (!regular()) {
    return absl::FailedPreconditionError(path_ + " is not a regular file");
  }
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, out.data() + got, n - got, got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::ErrnoToStatus(errno, "read " + path_);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

std::string_view LineReader::partial() const {
  if (skipping_) return {};
  return std::string_view(buf_.get() + begin_, end_ - begin_);
}

bool LineReader::TakePartial(Line* line) {
  std::string_view held = partial();
  if (held.empty()) return false;
  at_start_ = false;
  begin_ = end_;
  Emit(held.data(), held.size(), line);
  return true;
}

absl::Status LineReader::Rewind() {
  if (!regular()) {
    return absl::FailedPreconditionError(path_ + " is not a regular file");
  }
  if (::lseek(fd_, 0, SEEK_SET) != 0) {
    return absl::ErrnoToStatus(errno, "seek " + path_);
  }
  begin_ = 0;
  end_ = 0;
  offset_ = 0;
  eof_ = false;
  at_start_ = true;
  skipping_ = false;
  number_ = 0;
  status_ = absl::OkStatus();
  return absl::OkStatus();
}

LineReader::~LineReader() {
  if (owns_fd_) ::close(fd_);
}

bool LineReader::Fill() {
  if (eof_ || !status_.ok()) return false;
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    offset_ += static_cast<int64_t>(begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  ssize_t n;
  do {
    n = ::read(fd_, buf_.get() + end_, capacity_ - end_);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    status_ = absl::ErrnoToStatus(errno, "read " + path_);
    return false;
  }
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(n);
  return true;
}

void LineReader::Emit(const char* data, size_t len, Line* line) {
  if (len > 0 && data[len - 1] == '\r') --len;
  line->number = ++number_;
  line->too_long = len > max_line_;
  if (line->too_long) len = max_line_;
  line->text = std::string_view(data, len);
  // The unread tail of a too-long line may hold anything: not blank.
  line->blank = !line->too_long;
  for (char c : line->text) {
    if (c != ' ' && c != '\t' && c != '\r') {
      line->blank = false;
      break;
    }
  }
}

bool LineReader::Next(Line* line) {
  if (at_start_) {
    while (end_ - begin_ < 3 && Fill()) {
    }
    if (!status_.ok()) return false;
    if (hold_partial_ && end_ - begin_ < 3 &&
        std::memcmp(buf_.get() + begin_, "\xEF\xBB\xBF", end_ - begin_) == 0) {
      return false;  // a byte order mark may be on its way
    }
    if (end_ - begin_ >= 3 &&
        std::memcmp(buf_.get() + begin_, "\xEF\xBB\xBF", 3) == 0) {
      begin_ += 3;
    }
    at_start_ = false;
  }
  while (skipping_) {
    const void* nl = std::memchr(buf_.get() + begin_, '\n', end_ - begin_);
    if (nl != nullptr) {
      begin_ = static_cast<const char*>(nl) - buf_.get() + 1;
      skipping_ = false;
    } else {
      begin_ = end_;  // nothing here is worth keeping
      if (!Fill()) {
        if (!status_.ok() || hold_partial_) return false;
        skipping_ = false;  // the long line was the last one
      }
    }
  }
  for (;;) {
    char* start = buf_.get() + begin_;
    const size_t avail = end_ - begin_;
    const void* nl = std::memchr(start, '\n', avail);
    if (nl != nullptr) {
      const size_t len = static_cast<const char*>(nl) - start;
      begin_ += len + 1;
      Emit(start, len, line);
      return true;
    }
    if (avail > max_line_ + 1) {
      // Even without a "\r" this line is too long: hand out its head and
      // drop the rest as it arrives, so memory stays bounded.
      begin_ = end_;
      skipping_ = true;
      Emit(start, avail, line);
      return true;
    }
    if (eof_) {
      if (avail == 0 || hold_partial_) return false;
      begin_ = end_;
      Emit(start, avail, line);
      return true;
    }
    if (!Fill() && !status_.ok()) return false;
  }
}

}  // namespace chatkpi

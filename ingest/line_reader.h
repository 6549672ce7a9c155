// Reads a JSONL file (or stdin) line by line in large chunks, with bounded
// memory however long a line is. Each line comes with its 1-based number,
// which is what a dead letter's "file:line" position refers to, so every
// physical line -- blank or too long included -- is counted.
//
// Conventions (the caller decides what to do with each flag):
// * "\n" ends a line; one trailing "\r" is dropped, so CRLF files read the
//   same as LF ones. A last line without "\n" is still a line.
// * A UTF-8 byte order mark at the very start of the input is dropped:
//   editors on Windows add it, and it is no part of the first event.
// * `blank` marks lines that are empty or only spaces/tabs/CRs. They are
//   neither events nor dead letters: people leave empty lines in files.
// * `too_long` marks lines longer than `max_line` bytes. Only their first
//   `max_line` bytes are kept (in `text`); the rest is skipped unread into
//   memory. Such a line should become a dead letter "line too long"; it is
//   never `blank`.
//
// Example:
//   ASSIGN_OR_RETURN(auto reader, LineReader::Open(path));
//   LineReader::Line line;
//   while (reader->Next(&line)) { ... }
//   RETURN_IF_ERROR(reader->status());
//
// The input is opened once and read once, front to back, through one file
// descriptor: FIFOs, pipes and process substitutions (`<(zcat x.gz)`) can
// be read only once, so nothing else may open the path again. What else a
// caller needs of the file (is it regular, its identity, its first bytes)
// comes from the same descriptor: regular(), file_stat(), ReadPrefix().
//
// Growing files (docs/engine.md, Inputs): with set_hold_partial(true) an
// unterminated last line is not returned by Next() at the end of the
// input. It stays buffered; partial() shows it, TakePartial() returns it as
// a line, and after Retry() Next() reads on from where the input ended, so
// bytes appended since complete it.
#ifndef CHATKPI_INGEST_LINE_READER_H_
#define CHATKPI_INGEST_LINE_READER_H_

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatkpi {

class LineReader {
 public:
  struct Line {
    // Valid until the next call to Next() or the reader's destruction.
    std::string_view text;
    int64_t number = 0;  // 1-based
    bool blank = false;
    bool too_long = false;
  };

  static constexpr size_t kDefaultMaxLine = size_t{1} << 20;
  static constexpr size_t kDefaultChunk = size_t{1} << 20;

  // `path` "-" reads stdin (which is left open). A missing file is NotFound,
  // a directory InvalidArgument; the message names the path. `chunk` is the
  // read size; only tests have a reason to change it.
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(
      const std::string& path, size_t max_line = kDefaultMaxLine,
      size_t chunk = kDefaultChunk);

  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Fills `line` with the next line and returns true, or returns false at
  // the end of the input or on a read error (see status()).
  bool Next(Line* line);

  // OK unless reading failed; then the lines returned so far are all good.
  absl::Status status() const { return status_; }

  const std::string& path() const { return path_; }

  int fd() const { return fd_; }
  // fstat of the descriptor at open ("-" included).
  const struct stat& file_stat() const { return stat_; }
  bool regular() const { return S_ISREG(stat_.st_mode); }
  // Bytes read from the descriptor so far.
  int64_t bytes_read() const { return offset_ + static_cast<int64_t>(end_); }
  // Up to `n` bytes from the start of a regular file, read with pread so the
  // reading position is untouched. FailedPrecondition for other inputs.
  absl::StatusOr<std::string> ReadPrefix(size_t n) const;

  void set_hold_partial(bool hold) { hold_partial_ = hold; }
  // With hold_partial, after Next() returned false with an OK status: the
  // unterminated last line (empty if none), "\r" not yet dropped.
  std::string_view partial() const;
  // Returns the held line as the next line (false if there is none).
  bool TakePartial(Line* line);
  // Forgets the end of the input, so that Next() tries to read again.
  void Retry() { eof_ = false; }
  // Starts a regular file again from its first byte and line, as if just
  // opened (a resumed file found not to be the one read before).
  // FailedPrecondition for other inputs, which can be read only once.
  absl::Status Rewind();

 private:
  LineReader(std::string path, int fd, bool owns_fd, const struct stat& st,
             size_t max_line, size_t chunk);

  // Reads more bytes after end_, first moving unconsumed bytes to the front.
  // Returns false at EOF or on error.
  bool Fill();
  // Counts and classifies the line [data, data + len), newline excluded.
  void Emit(const char* data, size_t len, Line* line);

  std::string path_;
  int fd_;
  bool owns_fd_;
  size_t max_line_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_;
  size_t begin_ = 0;    // first unconsumed byte
  size_t end_ = 0;      // one past the last byte read
  int64_t offset_ = 0;  // input offset of buf_[0]
  struct stat stat_;
  bool hold_partial_ = false;
  bool eof_ = false;
  bool at_start_ = true;   // nothing consumed yet: a BOM may follow
  bool skipping_ = false;  // discarding the rest of a too-long line
  int64_t number_ = 0;
  absl::Status status_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_LINE_READER_H_

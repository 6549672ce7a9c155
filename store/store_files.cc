#include "store/store_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "rocksdb/metadata.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;

std::string PathIn(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

// Writes `text` to `path` through a temporary file and a rename, so that a
// reader sees the old contents or the new, never a part.
absl::Status ReplaceFile(const std::string& path, const std::string& text,
                         bool sync) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("writing ", tmp, ": ", std::strerror(errno)));
  }
  const bool written = write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       (!sync || fsync(fd) == 0);
  const int e = errno;
  close(fd);
  if (!written || rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = written ? errno : e;
    unlink(tmp.c_str());
    return absl::UnavailableError(
        absl::StrCat("writing ", path, ": ", std::strerror(err)));
  }
  if (sync) {
    int dfd = open(fs::path(path).parent_path().c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool HasStoreMarker(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(PathIn(dir, kStoreMarkerFile), ec);
}

absl::Status WriteStoreMarker(const std::string& dir) {
  return ReplaceFile(PathIn(dir, kStoreMarkerFile),
                     "chatkpi store: open it with chatkpi only "
                     "(docs/deploy.md)\n",
                     /*sync=*/true);
}

std::string PositionOf(std::string_view value) {
  return std::string(value.substr(0, value.find('\t')));
}

std::optional<CommitRecord> ReadCommitRecord(const std::string& dir) {
  std::ifstream in(PathIn(dir, kCommitRecordFile));
  if (!in) return std::nullopt;
  CommitRecord r;
  std::string line;
  int seen = 0;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string key = line.substr(0, space);
    const std::string value = line.substr(space + 1);
    uint64_t n = 0;
    if (key == "writer") {
      r.writer_open = value == "open";
      seen |= 1;
    } else if (key == "pos") {
      // Both escaped (absl::CEscape), so neither holds a space or newline.
      const size_t cut = value.find(' ');
      std::string k, v;
      if (cut != std::string::npos &&
          absl::CUnescape(value.substr(0, cut), &k) &&
          absl::CUnescape(value.substr(cut + 1), &v)) {
        r.positions[k] = v;
      }
    } else if (absl::SimpleAtoi(value, &n)) {
      if (key == "commits") r.commits = n, seen |= 2;
      if (key == "next_seq") r.next_seq = n, seen |= 4;
    }
  }
  if (seen != 7) return std::nullopt;
  return r;
}

absl::Status WriteCommitRecord(const std::string& dir, const CommitRecord& r,
                               bool sync) {
  std::string text =
      absl::StrCat("commits ", r.commits, "\nnext_seq ", r.next_seq,
                   "\nwriter ", r.writer_open ? "open" : "closed", "\n");
  for (const auto& [key, position] : r.positions) {
    // CEscape leaves spaces as they are: they become \x20 here.
    absl::StrAppend(
        &text, "pos ",
        absl::StrReplaceAll(absl::CEscape(key), {{" ", "\\x20"}}), " ",
        absl::StrReplaceAll(absl::CEscape(position), {{" ", "\\x20"}}), "\n");
  }
  return ReplaceFile(PathIn(dir, kCommitRecordFile), text, sync);
}

std::vector<std::string> UnreferencedTables(const std::string& dir,
                                            rocksdb::DB* db) {
  std::vector<rocksdb::LiveFileMetaData> live;
  db->GetLiveFilesMetaData(&live);
  std::set<std::string> referenced;
  for (const auto& f : live) {
    referenced.insert(fs::path(f.name).filename().string());
  }
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".sst") && !referenced.contains(name)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool ManifestEndsMidRecord(const std::string& dir) {
  std::ifstream current(PathIn(dir, "CURRENT"));
  std::string name;
  if (!std::getline(current, name) || name.empty()) return false;
  std::ifstream in(PathIn(dir, name.c_str()), std::ios::binary);
  if (!in) return false;
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  // RocksDB's log format (db/log_format.h): 32 KiB blocks of records, each
  // a 7-byte header (checksum, 2-byte little-endian length, type) and its
  // payload; a block's last 6 bytes or fewer are zero padding.
  constexpr size_t kBlock = 32768, kHeader = 7;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t left_in_block = kBlock - pos % kBlock;
    if (left_in_block < kHeader) {
      pos += left_in_block;
      continue;
    }
    if (bytes.size() - pos < kHeader) return true;
    const size_t length =
        static_cast<uint8_t>(bytes[pos + 4]) |
        static_cast<size_t>(static_cast<uint8_t>(bytes[pos + 5])) << 8;
    if (bytes.size() - pos - kHeader < length) return true;
    pos += kHeader + length;
  }
  return false;
}

std::vector<uint64_t> ListWals(const std::string& dir) {
  std::vector<uint64_t> wals;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    uint64_t n = 0;
    if (name.size() > 4 && name.ends_with(".log") &&
        absl::SimpleAtoi(name.substr(0, name.size() - 4), &n)) {
      wals.push_back(n);
    }
  }
  std::sort(wals.begin(), wals.end());
  return wals;
}

bool WalDeletedSince(const std::string& dir,
                     const std::vector<uint64_t>& before) {
  const std::vector<uint64_t> now = ListWals(dir);
  return !std::includes(now.begin(), now.end(), before.begin(), before.end());
}

std::string DamageAdvice() {
  return "chatkpi changed nothing in it; restore the store from a backup "
         "(`chatkpi restore --from BACKUP --db NEWDIR`, docs/deploy.md) or "
         "rebuild it by ingesting the sources into a new --db";
}

}  // namespace chatkpi

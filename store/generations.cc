#include "store/generations.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;

constexpr char kGenerationsSuffix[] = ".generations";
constexpr char kBuildingSuffix[] = ".building";
constexpr char kRetiredSuffix[] = ".retired";
constexpr char kSecondarySuffix[] = ".secondary";

absl::Status Errno(std::string_view what, const std::string& path) {
  const int e = errno;
  std::string msg =
      absl::StrCat(std::string(what), " ", path, ": ", std::strerror(e));
  if (e == ENOENT) return absl::NotFoundError(msg);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// Makes the directory entries in `dir` (renames, new links) durable.
absl::Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening directory", dir);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return Errno("syncing directory", dir);
  return absl::OkStatus();
}

std::string ParentOf(const std::string& path) {
  return fs::path(path).parent_path().string();
}

// The n of "<version>-<n>"; -1 if `name` has none.
int64_t GenerationNumber(std::string_view name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == name.size()) return -1;
  int64_t n;
  if (!absl::SimpleAtoi(std::string(name.substr(dash + 1)), &n) || n < 0) {
    return -1;
  }
  return n;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string WithoutTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

GenerationPaths GenerationPaths::For(const std::string& db) {
  std::error_code ec;
  std::string p = fs::absolute(db, ec).lexically_normal().string();
  if (ec) p = db;
  p = WithoutTrailingSlash(std::move(p));
  GenerationPaths g;
  g.db = p;
  g.generations = p + kGenerationsSuffix;
  g.lock = p + ".lock";
  return g;
}

std::string GenerationPaths::Generation(std::string_view name) const {
  return absl::StrCat(generations, "/", std::string(name));
}
std::string GenerationPaths::BuildingMarker(std::string_view name) const {
  return absl::StrCat(Generation(name), kBuildingSuffix);
}
std::string GenerationPaths::RetiredMarker(std::string_view name) const {
  return absl::StrCat(Generation(name), kRetiredSuffix);
}
std::string GenerationPaths::SecondaryDir() const {
  return absl::StrCat(generations, "/.replay", kSecondarySuffix);
}
std::string GenerationPaths::ReplayLock() const {
  return generations + "/.replay.lock";
}
std::string GenerationPaths::ConvertRequest() const {
  return generations + "/.convert-request";
}
std::string GenerationPaths::Converting() const {
  return generations + "/.converting";
}

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path, bool wait) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("opening lock file", path);
  int rc;
  do {
    rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const bool busy = errno == EWOULDBLOCK;
    absl::Status s = busy ? absl::UnavailableError(absl::StrCat(
                                path, " is locked by another process"))
                          : Errno("locking", path);
    close(fd);
    return s;
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    Release();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

void FileLock::Release() {
  if (fd_ < 0) return;
  // Closing the only descriptor of the open file drops the flock.
  close(fd_);
  fd_ = -1;
}

absl::StatusOr<FileLock> LockGenerations(const GenerationPaths& paths) {
  return FileLock::Acquire(paths.lock, /*wait=*/true);
}

absl::StatusOr<GenerationRef> ResolveLive(const GenerationPaths& paths) {
  struct stat st;
  if (lstat(paths.db.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("--db ", paths.db, ": no chatkpi store there"));
  }
  GenerationRef ref;
  ref.plain = !S_ISLNK(st.st_mode);
  if (ref.plain) {
    ref.path = paths.db;
  } else {
    char* real = realpath(paths.db.c_str(), nullptr);
    if (real == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "--db ", paths.db, " points at a generation that does not exist"));
    }
    ref.path = real;
    free(real);
    ref.name = fs::path(ref.path).filename().string();
  }
  if (stat(ref.path.c_str(), &st) != 0) return Errno("stat", ref.path);
  ref.dev = st.st_dev;
  ref.ino = st.st_ino;
  return ref;
}

absl::Status RepairLayout(const GenerationPaths& paths) {
  std::error_code ec;
  if (Exists(paths.db) || !fs::is_directory(paths.generations, ec)) {
    return absl::OkStatus();
  }
  auto gens = ListGenerations(paths);
  if (!gens.ok()) return gens.status();
  const GenerationEntry* newest = nullptr;
  for (const GenerationEntry& g : *gens) {
    if (!g.building && !g.retired) newest = &g;
  }
  if (newest == nullptr) return absl::OkStatus();
  if (!Exists(paths.Converting())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", paths.db, " is missing, but ", paths.generations,
        " holds the generations of the store that was there (its newest: ",
        newest->name,
        "): it was deleted, not moved by chatkpi. chatkpi changed nothing. "
        "To start a new store at --db ",
        paths.db, ", delete ", paths.generations,
        " too; to bring the store back: ln -s ",
        fs::path(paths.generations).filename().string(), "/", newest->name, " ",
        paths.db));
  }
  absl::Status s = SwitchLive(paths, newest->name);
  if (s.ok()) s = RemoveMarker(paths.Converting());
  return s;
}

absl::StatusOr<GenerationRef> ResolveForRead(const GenerationPaths& paths) {
  auto ref = ResolveLive(paths);
  std::error_code ec;
  if (!absl::IsNotFound(ref.status()) ||
      !fs::is_directory(paths.generations, ec)) {
    return ref;
  }
  auto lock = LockGenerations(paths);
  if (!lock.ok()) return lock.status();
  absl::Status s = RepairLayout(paths);
  if (!s.ok()) return s;
  return ResolveLive(paths);
}

bool IsBuildingGeneration(const std::string& dir) {
  const std::string path = WithoutTrailingSlash(dir);
  const std::string generations = ParentOf(path);
  absl::string_view db = generations;
  if (!absl::ConsumeSuffix(&db, kGenerationsSuffix) ||
      !Exists(absl::StrCat(path, kBuildingSuffix))) {
    return false;
  }
  // A replay never builds the live generation (the one ListGenerations
  // calls live): a marker on it is what a crash between SwitchLive's two
  // steps left, and the store is whole.
  auto live = ResolveLive(GenerationPaths::For(std::string(db)));
  return !live.ok() || live->name != fs::path(path).filename().string();
}

absl::StatusOr<bool> OpenForWriting(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return Errno("opening", path);
  }
  // RocksDB locks its LOCK file with a whole-file POSIX write lock.
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  int rc = fcntl(fd, F_GETLK, &fl);
  close(fd);
  if (rc != 0) return Errno("probing the lock of", path);
  return fl.l_type != F_UNLCK;
}

absl::StatusOr<std::string> ConvertLayout(const GenerationPaths& paths,
                                          std::string_view version) {
  struct stat st;
  if (lstat(paths.db.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("--db ", paths.db, ": no chatkpi store there"));
  }
  if (S_ISLNK(st.st_mode)) {
    auto live = ResolveLive(paths);
    if (!live.ok()) return live.status();
    return live->name;
  }
  if (!S_ISDIR(st.st_mode) || !Exists(paths.db + "/CURRENT")) {
    return absl::FailedPreconditionError(
        absl::StrCat("--db ", paths.db, " is not a chatkpi store"));
  }
  auto busy = OpenForWriting(paths.db);
  if (!busy.ok()) return busy.status();
  if (*busy) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--db ", paths.db, " is open for writing by another process"));
  }
  std::error_code ec;
  fs::create_directories(paths.generations, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("creating ", paths.generations, ": ", ec.message()));
  }
  auto name = NewGenerationName(paths, version);
  if (!name.ok()) return name.status();
  const std::string target = paths.Generation(*name);
  // A crash from the move to the switch leaves DIR missing: RepairLayout
  // points it at this (the newest complete) generation, as the marker
  // tells it to.
  absl::Status s = CreateMarker(paths.Converting());
  if (!s.ok()) return s;
  if (rename(paths.db.c_str(), target.c_str()) != 0) {
    absl::Status moved = Errno("moving the store to", target);
    RemoveMarker(paths.Converting()).IgnoreError();
    return moved;
  }
  s = SyncDir(paths.generations);
  if (s.ok()) s = SwitchLive(paths, *name);
  if (s.ok()) s = RemoveMarker(paths.Converting());
  if (s.ok()) s = RemoveMarker(paths.ConvertRequest());
  if (!s.ok()) return s;
  return *name;
}

absl::StatusOr<std::vector<GenerationEntry>> ListGenerations(
    const GenerationPaths& paths) {
  std::vector<GenerationEntry> out;
  std::error_code ec;
  if (!fs::is_directory(paths.generations, ec)) return out;
  std::string live_name;
  if (auto live = ResolveLive(paths); live.ok()) live_name = live->name;
  for (const fs::directory_entry& e :
       fs::directory_iterator(paths.generations, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory(ec) || EndsWith(name, kSecondarySuffix)) continue;
    GenerationEntry g;
    g.name = name;
    g.number = GenerationNumber(name);
    if (g.number < 0) continue;
    g.building = Exists(paths.BuildingMarker(name));
    g.retired = Exists(paths.RetiredMarker(name));
    g.live = name == live_name;
    out.push_back(std::move(g));
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("listing ", paths.generations, ": ", ec.message()));
  }
  std::sort(out.begin(), out.end(),
            [](const GenerationEntry& a, const GenerationEntry& b) {
              return a.number < b.number;
            });
  return out;
}

std::string VersionDirName(std::string_view version) {
  std::string out;
  for (char c : version.substr(0, 64)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-';
    out.push_back(keep ? c : '_');
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out;
}

absl::StatusOr<std::string> NewGenerationName(const GenerationPaths& paths,
                                              std::string_view version) {
  int64_t max = 0;
  std::error_code ec;
  if (fs::is_directory(paths.generations, ec)) {
    // Markers count too: a name is never reused, even after its directory
    // was deleted.
    for (const fs::directory_entry& e :
         fs::directory_iterator(paths.generations, ec)) {
      std::string name = e.path().filename().string();
      for (std::string_view suffix :
           {kBuildingSuffix, kRetiredSuffix, kSecondarySuffix}) {
        if (EndsWith(name, suffix)) name.resize(name.size() - suffix.size());
      }
      max = std::max(max, GenerationNumber(name));
    }
    if (ec) {
      return absl::InternalError(
          absl::StrCat("listing ", paths.generations, ": ", ec.message()));
    }
  }
  return absl::StrCat(VersionDirName(version), "-", max + 1);
}

absl::Status SwitchLive(const GenerationPaths& paths, std::string_view name) {
  const std::string target =
      absl::StrCat(fs::path(paths.db).filename().string(), ".generations/",
                   std::string(name));
  const std::string tmp = paths.db + ".switch";
  if (unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return Errno("removing", tmp);
  }
  if (symlink(target.c_str(), tmp.c_str()) != 0) {
    return Errno("creating symlink", tmp);
  }
  // rename(2) replaces DIR atomically: readers see the old or the new link.
  if (rename(tmp.c_str(), paths.db.c_str()) != 0) {
    absl::Status s = Errno("switching", paths.db);
    unlink(tmp.c_str());
    return s;
  }
  absl::Status s = SyncDir(ParentOf(paths.db));
  if (!s.ok()) return s;
  // Part of the switch, so that a caller holding the generation lock lets
  // writers in only once the live generation opens: Store::Open refuses a
  // generation still marked as being built.
  return RemoveMarker(paths.BuildingMarker(name));
}

absl::Status CreateMarker(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("creating", path);
  close(fd);
  return SyncDir(ParentOf(path));
}

bool MarkerExists(const std::string& path) { return Exists(path); }

absl::Status RemoveMarker(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Errno("removing", path);
  }
  return absl::OkStatus();
}

namespace {

// Deletes the generation `dir` and all it holds. A writer closing it writes
// its commit record just after RocksDB lets go of the LOCK that
// OpenForWriting probes (store/store.h), so the tree can change under the
// walk: a file gone before it is deleted, or one made after the walk passed.
// Either means walk again; the record is one small file, written once.
absl::Status RemoveGeneration(const std::string& dir) {
  std::error_code ec;
  for (int walk = 1;; ++walk) {
    fs::remove_all(dir, ec);
    if (!ec) return absl::OkStatus();
    const bool changed = ec == std::errc::no_such_file_or_directory ||
                         ec == std::errc::directory_not_empty;
    if (!changed || walk == 100) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::InternalError(
      absl::StrCat("deleting ", dir, ": ", ec.message()));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CollectGenerations(
    const GenerationPaths& paths) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(paths.generations, ec)) return removed;
  auto gens = ListGenerations(paths);
  if (!gens.ok()) return gens.status();
  for (const GenerationEntry& g : *gens) {
    if (!g.building && !g.retired) continue;
    if (!g.live) {
      auto busy = OpenForWriting(paths.Generation(g.name));
      if (!busy.ok()) return busy.status();
      if (*busy) continue;  // a writer has not moved on yet; next time
      absl::Status s = RemoveGeneration(paths.Generation(g.name));
      if (!s.ok()) return s;
      removed.push_back(g.name);
    }
    for (const std::string& m :
         {paths.BuildingMarker(g.name), paths.RetiredMarker(g.name)}) {
      absl::Status s = RemoveMarker(m);
      if (!s.ok()) return s;
    }
  }
  // Markers without a generation, and secondaries of finished replays.
  for (const fs::directory_entry& e :
       fs::directory_iterator(paths.generations, ec)) {
    const std::string name = e.path().filename().string();
    if (EndsWith(name, kSecondarySuffix)) {
      std::error_code rm;
      fs::remove_all(e.path(), rm);
      continue;
    }
    for (std::string_view suffix : {kBuildingSuffix, kRetiredSuffix}) {
      if (!EndsWith(name, suffix)) continue;
      const std::string gen = name.substr(0, name.size() - suffix.size());
      if (!Exists(paths.Generation(gen))) unlink(e.path().c_str());
    }
  }
  return removed;
}

}  // namespace chatkpi

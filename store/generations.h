// Generations: how `chatkpi replay` puts a store rebuilt under other rules in
// place of the live one while writers and readers keep running.
//
// Layout for `--db DIR` (see docs/replay.md):
//
//   DIR                         a plain store (never replayed), or a symlink
//                               to DIR.generations/<name>: the live generation
//   DIR.generations/<name>/     one complete chatkpi store per generation,
//                               <name> = <version>-<n>, n increasing
//   DIR.generations/<name>.building   marker file: <name> is being built
//   DIR.generations/<name>.retired    marker file: delete <name> once no
//                                     writer has it open
//   DIR.generations/.replay.secondary/ the replay's RocksDB secondary instance
//   DIR.generations/.replay.lock      held by the one replay that may run
//   DIR.generations/.convert-request  a replay asks the writer of a plain DIR
//                                     to move it into this layout
//   DIR.lock                    the generation lock (flock): writers hold it
//                               around each commit, replay around its final
//                               catch-up and the switch
//
// The switch is one rename(2) of a new symlink over DIR, so every open of DIR
// sees either the old generation or the new one. Everything here is plain
// file-system work; nothing opens a store.
#ifndef CHATKPI_STORE_GENERATIONS_H_
#define CHATKPI_STORE_GENERATIONS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace chatkpi {

struct GenerationPaths {
  // DIR made absolute, without trailing slashes; never resolved: it is the
  // name that is repointed.
  std::string db;
  std::string generations;  // DIR.generations
  std::string lock;         // DIR.lock

  static GenerationPaths For(const std::string& db);
  std::string Generation(std::string_view name) const;
  // The marker files of generation `name`.
  std::string BuildingMarker(std::string_view name) const;
  std::string RetiredMarker(std::string_view name) const;
  // Where the replay's follower (a RocksDB secondary) keeps its files.
  std::string SecondaryDir() const;
  std::string ReplayLock() const;
  std::string ConvertRequest() const;
  // Present from just before ConvertLayout moves DIR until DIR points at
  // the generation it became: DIR missing beside it is that move cut short.
  std::string Converting() const;
};

// An advisory flock(2), released on destruction (and by the kernel when the
// process dies, so a SIGKILLed holder never blocks anyone).
class FileLock {
 public:
  // Creates `path` if needed. `wait` false: Unavailable when it is held.
  static absl::StatusOr<FileLock> Acquire(const std::string& path, bool wait);
  FileLock() = default;
  FileLock(FileLock&& o) noexcept;
  FileLock& operator=(FileLock&& o) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  bool held() const { return fd_ >= 0; }
  void Release();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// The generation lock of `paths` (exclusive, waiting).
absl::StatusOr<FileLock> LockGenerations(const GenerationPaths& paths);

// What DIR stands for at one instant: the directory it resolves to, named
// canonically and by inode, so that a writer can tell whether DIR still
// means the store it has open.
struct GenerationRef {
  std::string path;    // canonical; DIR as given when DIR is plain
  std::string name;    // generation name; empty when DIR is plain
  bool plain = false;  // DIR is a directory, not a symlink
  dev_t dev = 0;
  ino_t ino = 0;

  bool SameAs(const GenerationRef& o) const {
    return dev == o.dev && ino == o.ino && path == o.path;
  }
};

// Resolves DIR. NotFound when DIR does not exist (or its symlink dangles).
absl::StatusOr<GenerationRef> ResolveLive(const GenerationPaths& paths);

// Repairs a layout left by a crash between the two steps of ConvertLayout
// (DIR missing, DIR.generations present with its `Converting` marker): DIR
// is pointed at the newest complete generation. DIR missing without the
// marker is a store whose DIR was deleted by hand: FailedPrecondition,
// nothing changed (brought back, its old numbers would pass for a new
// store's). A no-op otherwise. Call with the generation lock held.
absl::Status RepairLayout(const GenerationPaths& paths);

// Resolves DIR for reading: like ResolveLive, but when DIR is missing and
// DIR.generations exists (a conversion in progress or interrupted), waits
// for the generation lock and repairs first.
absl::StatusOr<GenerationRef> ResolveForRead(const GenerationPaths& paths);

// `path` without the slashes it ends with ("/" stays "/"): "db/" and "db"
// name the same store.
std::string WithoutTrailingSlash(std::string path);

// True when `dir` (a path under DIR.generations) is marked as being built
// by a replay: its `.building` marker is beside it, and DIR does not point
// at it (a marker on the live generation is stale).
bool IsBuildingGeneration(const std::string& dir);

// True when another process holds the RocksDB lock of the store in `dir`
// (i.e. has it open for writing). Never call it on a store this process has
// open: closing the probe's descriptor would drop this process's own POSIX
// lock on the file.
absl::StatusOr<bool> OpenForWriting(const std::string& dir);

// Turns a plain DIR into the generation layout: DIR moves to
// DIR.generations/<version>-<n> and DIR becomes a symlink to it; a pending
// convert request is removed. Refused while another process has DIR open
// for writing (a writer that opened DIR by that name would go on creating
// files through it after later switches). Returns the live generation's
// name (unchanged when DIR already is a symlink). Call with the generation
// lock held.
absl::StatusOr<std::string> ConvertLayout(const GenerationPaths& paths,
                                          std::string_view version);

// A generation directory under DIR.generations.
struct GenerationEntry {
  std::string name;
  int64_t number = 0;  // the n of <version>-<n>
  bool building = false;
  bool retired = false;
  bool live = false;
};

// Every generation, by increasing number.
absl::StatusOr<std::vector<GenerationEntry>> ListGenerations(
    const GenerationPaths& paths);

// Directory-name form of a rules version: [A-Za-z0-9._-] kept, other bytes
// become '_', at most 64 bytes.
std::string VersionDirName(std::string_view version);

// A name for a new generation of `version`, numbered after every existing
// one.
absl::StatusOr<std::string> NewGenerationName(const GenerationPaths& paths,
                                              std::string_view version);

// Atomically points DIR at DIR.generations/<name> (symlink + rename over
// DIR, then the parent directory is synced), then removes <name>'s
// `.building` marker. DIR must not be a plain store. A crash between the
// two leaves a stale marker on the live generation, which
// IsBuildingGeneration disregards and CollectGenerations removes.
absl::Status SwitchLive(const GenerationPaths& paths, std::string_view name);

// Marker files (created empty, synced; removal is idempotent).
absl::Status CreateMarker(const std::string& path);
absl::Status RemoveMarker(const std::string& path);
bool MarkerExists(const std::string& path);

// Deletes what crashed or finished replays left behind: generations marked
// building or retired that no process has open for writing, and secondary
// directories. Never the live generation (a stale marker on it is removed).
// Call with the replay lock held (no replay is building). Returns the
// deleted names.
absl::StatusOr<std::vector<std::string>> CollectGenerations(
    const GenerationPaths& paths);

}  // namespace chatkpi

#endif  // CHATKPI_STORE_GENERATIONS_H_

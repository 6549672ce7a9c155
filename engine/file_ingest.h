// `chatkpi ingest`: JSONL files -> parser -> engine -> store. Each file's
// position (lines consumed) is committed with the state it produced, so a
// re-run or a restart after a crash resumes after the last commit; ids and
// dead-letter positions make reading a line twice harmless anyway.
//
// Inputs (docs/engine.md, Inputs):
// * Every input is opened once and read once through one descriptor.
// * Only regular files (not "-") are resumed by position. FIFOs, pipes,
//   process substitutions and stdin cannot be re-read: they are read from
//   their first line each time, their events deduplicated by id, and their
//   dead letters named by content ("NAME:#HASH-K", the K-th line with that
//   content in the input) so that feeding the same stream again adds none.
// * A regular file's unterminated last line is taken if it parses; if it
//   does not, it is left for the next run (not consumed, no dead letter):
//   the file may still be being written.
#ifndef CHATKPI_ENGINE_FILE_INGEST_H_
#define CHATKPI_ENGINE_FILE_INGEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/engine.h"

namespace chatkpi {

// Brackets each commit of a writer whose --db `chatkpi replay` may switch to
// another generation meanwhile (engine/live_store.h, docs/replay.md).
class CommitGate {
 public:
  virtual ~CommitGate() = default;
  // Called before each commit; may block (it takes the generation lock).
  // Returns the engine to commit to. `*replaced` says whether it is a new
  // engine on a new generation: the previous one is then gone, and the
  // lines read since the last commit are applied again to the new one.
  virtual absl::StatusOr<Engine*> Enter(bool* replaced) = 0;
  // Called after the commit, whether it succeeded or not.
  virtual void Leave() = 0;
  // Enter calls `f`, when it replaces the engine, before the old store
  // closes: what the caller built on that store beside the engine (the
  // engines of file shards) is dropped there. Null: nothing to drop.
  void set_before_replace(std::function<void()> f) {
    before_replace_ = std::move(f);
  }

 protected:
  std::function<void()> before_replace_;
};

struct FileIngestOptions {
  size_t commit_every = 200'000;  // events (or dead letters) per commit
  size_t max_line_bytes = 1 << 20;
  // Null: commit directly. Otherwise the lines since the last commit are
  // kept in memory so that they can be applied again after a switch.
  CommitGate* gate = nullptr;
  // Notes for the operator (an incomplete last line left, a rotation
  // followed); null: dropped.
  std::function<void(const std::string&)> log;
  // FollowFiles: how long to wait between looks at a file that has no new
  // bytes.
  int poll_ms = 200;
  // Threads that apply events (docs/engine.md, "Parallel ingest"); 0: one
  // per core (`chatkpi ingest` without --threads). Above 1, a store without
  // events gets kFileShardsOfParallelStore file shards
  // (engine/file_shards.h); a store with several is run by this many
  // threads, 1 included; a store of one shard is run as before, on the
  // calling thread (with a note on `log` when more were asked for).
  int threads = 1;
  // The caller closes the store as soon as this returns (`chatkpi ingest`):
  // once the last commit is written, the store's close begins in the
  // background (Store::BeginClose), beside the teardown of the engines
  // (docs/engine.md, "The end of a run"). Nothing can be committed to the
  // store after that.
  bool store_closes_after = false;
};

struct FileIngestReport {
  int64_t lines = 0;
  int64_t skipped_lines = 0;  // already consumed by an earlier run
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t dead_letters = 0;
  int64_t incomplete_lines = 0;  // unterminated last lines left for later
  int64_t conflicts = 0;         // conflicting duplicates recorded
  uint32_t shards = 1;           // the store's file shards
  int threads = 1;               // threads that applied events
};

// Checks, without reading a byte, that every path exists and can be read
// (NotFound / PermissionDenied / InvalidArgument for a directory, each
// naming the path), so that a typo fails before a store is created.
// `regular_only`: anything but a regular file is InvalidArgument.
absl::Status CheckInputs(const std::vector<std::string>& paths,
                         bool regular_only = false);

// Reads each path ("-" = stdin) to its end.
// With a gate, `engine` may be replaced by the gate's; do not use it after.
absl::Status IngestFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         FileIngestReport* report);

// Reads each regular file to its end and then keeps reading what is
// appended, committing as lines arrive, until `stop` becomes true; then
// takes what is complete, commits and returns. A path that comes to name
// another file (rotation by rename or re-creation, as `tail -F` follows
// it) is read to its end and then left for the new file, read from its
// first line; a file cut shorter than what was read is read again from its
// first line.
absl::Status FollowFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         const std::atomic<bool>& stop,
                         FileIngestReport* report);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_FILE_INGEST_H_

// `chatkpi ingest`: JSONL files -> parser -> engine -> store. Each file's
// position (lines consumed) is committed with the state it produced, so a
// re-run or a restart after a crash resumes after the last commit; ids and
// dead-letter positions make reading a line twice harmless anyway.
#ifndef CHATKPI_ENGINE_FILE_INGEST_H_
#define CHATKPI_ENGINE_FILE_INGEST_H_

#include <cstdint>
#include <string>
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
};

struct FileIngestOptions {
  size_t commit_every = 100'000;  // events (or dead letters) per commit
  size_t max_line_bytes = 1 << 20;
  // Null: commit directly. Otherwise the lines since the last commit are
  // kept in memory so that they can be applied again after a switch.
  CommitGate* gate = nullptr;
};

struct FileIngestReport {
  int64_t lines = 0;
  int64_t skipped_lines = 0;  // already consumed by an earlier run
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t dead_letters = 0;
};

// Reads each path ("-" = stdin) to its end. Stdin cannot be re-read, so it
// is never resumed by position; its events are still deduplicated by id.
// With a gate, `engine` may be replaced by the gate's; do not use it after.
absl::Status IngestFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         FileIngestReport* report);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_FILE_INGEST_H_

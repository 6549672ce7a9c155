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
#include "engine/engine.h"

namespace chatkpi {

struct FileIngestOptions {
  size_t commit_every = 100'000;  // events (or dead letters) per commit
  size_t max_line_bytes = 1 << 20;
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
absl::Status IngestFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         FileIngestReport* report);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_FILE_INGEST_H_

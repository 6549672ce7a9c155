#include "engine/file_ingest.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ingest/event_parser.h"
#include "ingest/line_reader.h"

namespace chatkpi {
namespace {

// FNV-1a of a file's first 4 KiB: a file rewritten with other content is
// read from its start instead of resumed at a line that means nothing now.
std::string Fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[4096];
  in.read(buf, sizeof buf);
  uint64_t h = 1469598103934665603ull;
  for (std::streamsize i = 0; i < in.gcount(); ++i) {
    h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ull;
  }
  return absl::StrCat(h);
}

absl::Status IngestOne(Engine& engine, const std::string& path,
                       const FileIngestOptions& opts, EventParser& parser,
                       FileIngestReport* report) {
  const bool is_stdin = path == "-";
  std::string source = "stdin";
  std::string fingerprint;
  int64_t resume_after = 0;
  if (!is_stdin) {
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
    source = ec ? path : canonical.string();
    fingerprint = Fingerprint(path);
    auto pos = engine.GetPosition(source);
    if (!pos.ok()) return pos.status();
    if (pos->has_value()) {
      std::vector<std::string> parts = absl::StrSplit(**pos, '\t');
      int64_t line;
      if (parts.size() == 2 && parts[1] == fingerprint &&
          absl::SimpleAtoi(parts[0], &line)) {
        resume_after = line;
      }
    }
  }
  auto reader = LineReader::Open(path, opts.max_line_bytes);
  if (!reader.ok()) return reader.status();

  Event event;
  LineReader::Line line;
  int64_t last_line = 0;
  auto commit = [&]() -> absl::Status {
    if (!is_stdin) {
      engine.SetPosition(source, absl::StrCat(last_line, "\t", fingerprint));
    }
    return engine.Commit();
  };
  while ((*reader)->Next(&line)) {
    last_line = line.number;
    ++report->lines;
    if (line.number <= resume_after) {
      ++report->skipped_lines;
      continue;
    }
    if (!line.blank) {
      absl::Status parsed =
          line.too_long ? absl::InvalidArgumentError("line too long")
                        : parser.Parse(line.text, &event);
      if (parsed.ok()) {
        auto applied = engine.Apply(event, line.text);
        if (!applied.ok()) return applied.status();
        ++(*applied ? report->accepted : report->duplicates);
      } else {
        DeadLetter d;
        d.position = absl::StrCat(source, ":", line.number);
        d.reason = std::string(parsed.message());
        d.raw = std::string(line.text);
        absl::Status s = engine.AddDeadLetter(d);
        if (!s.ok()) return s;
        ++report->dead_letters;
      }
    }
    if (engine.pending() >= opts.commit_every) {
      absl::Status s = commit();
      if (!s.ok()) return s;
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  return commit();
}

}  // namespace

absl::Status IngestFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         FileIngestReport* report) {
  EventParser parser;
  for (const std::string& path : paths) {
    absl::Status s = IngestOne(engine, path, opts, parser, report);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace chatkpi

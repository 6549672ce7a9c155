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

constexpr size_t kMaxUncommittedBytes = 64 << 20;

absl::Status IngestOne(Engine*& engine, const std::string& path,
                       const FileIngestOptions& opts, EventParser& parser,
                       FileIngestReport* report) {
  const bool is_stdin = path == "-";
  std::string source = "stdin";
  std::string fingerprint;
  int64_t resume_after = 0;
  if (!is_stdin) {
    std::error_code ec;
    std::filesystem::path canonical =
        std::filesystem::weakly_canonical(path, ec);
    source = ec ? path : canonical.string();
    fingerprint = Fingerprint(path);
    auto pos = engine->GetPosition(source);
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

  const std::string source_prefix = absl::StrCat(source, ":");
  Event event;
  LineReader::Line line;
  int64_t last_line = 0;
  auto apply = [&](const Event& e, std::string_view text, int64_t number,
                   FileIngestReport* r) -> absl::Status {
    auto applied = engine->Apply(e, text, {source_prefix, number});
    if (!applied.ok()) return applied.status();
    ++(*applied ? r->accepted : r->duplicates);
    return absl::OkStatus();
  };
  auto dead_letter = [&](const absl::Status& parsed, std::string_view text,
                         int64_t number, FileIngestReport* r) {
    DeadLetter d;
    d.position = absl::StrCat(source, ":", number);
    d.reason = std::string(parsed.message());
    d.raw = std::string(text);
    absl::Status s = engine->AddDeadLetter(d);
    if (!s.ok()) return s;
    ++r->dead_letters;
    return absl::OkStatus();
  };
  auto parse = [&](std::string_view text, bool too_long, Event* e) {
    return too_long ? absl::InvalidArgumentError("line too long")
                    : parser.Parse(text, e);
  };
  auto process = [&](std::string_view text, int64_t number, bool too_long,
                     FileIngestReport* r) -> absl::Status {
    absl::Status parsed = parse(text, too_long, &event);
    return parsed.ok() ? apply(event, text, number, r)
                       : dead_letter(parsed, text, number, r);
  };
  // The main loop holds each parsed event back by one line: the engine
  // prefetches what it will touch (Engine::Prefetch), and the misses
  // overlap the parsing of the next line instead of stalling the apply.
  // Events and dead letters still reach the engine in line order, and a
  // held event is applied before every commit.
  Event ahead[2];
  int next = 0;
  bool held = false;
  std::string held_text;
  int64_t held_number = 0;
  auto apply_held = [&]() -> absl::Status {
    if (!held) return absl::OkStatus();
    held = false;
    return apply(ahead[next ^ 1], held_text, held_number, report);
  };
  // With a gate: the lines since the last commit, to apply again should
  // the gate hand over an engine on a new generation. Their text is kept
  // back to back in one buffer: a string per line was a malloc and a free
  // per event.
  struct PendingLine {
    int64_t number;
    size_t end;  // of its text in uncommitted_text
    bool too_long;
  };
  std::vector<PendingLine> uncommitted;
  std::string uncommitted_text;
  auto commit_to = [&](Engine* e) -> absl::Status {
    if (!is_stdin) {
      e->SetPosition(source, absl::StrCat(last_line, "\t", fingerprint));
    }
    return e->Commit();
  };
  auto commit = [&]() -> absl::Status {
    if (opts.gate == nullptr) return commit_to(engine);
    bool replaced = false;
    auto gated = opts.gate->Enter(&replaced);
    if (!gated.ok()) return gated.status();
    engine = *gated;
    absl::Status s;
    if (replaced) {
      FileIngestReport again;  // these lines were counted when first read
      size_t begin = 0;
      for (const PendingLine& p : uncommitted) {
        s = process(
            std::string_view(uncommitted_text).substr(begin, p.end - begin),
            p.number, p.too_long, &again);
        if (!s.ok()) break;
        begin = p.end;
      }
    }
    if (s.ok()) s = commit_to(engine);
    opts.gate->Leave();
    uncommitted.clear();
    uncommitted_text.clear();
    return s;
  };
  while ((*reader)->Next(&line)) {
    last_line = line.number;
    ++report->lines;
    if (line.number <= resume_after) {
      ++report->skipped_lines;
      continue;
    }
    if (!line.blank) {
      Event& e = ahead[next];
      absl::Status parsed = parse(line.text, line.too_long, &e);
      if (parsed.ok()) engine->Prefetch(e);
      absl::Status s = apply_held();
      if (s.ok() && parsed.ok()) {
        held_text.assign(line.text);
        held_number = line.number;
        held = true;
        next ^= 1;
      } else if (s.ok()) {
        s = dead_letter(parsed, line.text, line.number, report);
      }
      if (!s.ok()) return s;
      if (opts.gate != nullptr) {
        uncommitted_text.append(line.text);
        uncommitted.push_back(
            {line.number, uncommitted_text.size(), line.too_long});
      }
    }
    // The kept lines also bound the commit size (long lines, few events).
    if (engine->pending() + (held ? 1 : 0) >= opts.commit_every ||
        uncommitted_text.size() >= kMaxUncommittedBytes) {
      absl::Status s = apply_held();
      if (s.ok()) s = commit();
      if (!s.ok()) return s;
    }
  }
  absl::Status s = apply_held();
  if (!s.ok()) return s;
  if (!(*reader)->status().ok()) return (*reader)->status();
  return commit();
}

}  // namespace

absl::Status IngestFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         FileIngestReport* report) {
  EventParser parser;
  Engine* current = &engine;
  for (const std::string& path : paths) {
    absl::Status s = IngestOne(current, path, opts, parser, report);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace chatkpi

#include "engine/file_ingest.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <unordered_map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/file_shards.h"
#include "engine/line_arena.h"
#include "ingest/event_parser.h"
#include "ingest/line_reader.h"
#include "store/stable_hash.h"

namespace chatkpi {
namespace {

// A file rewritten with other content is read from its start instead of
// resumed at a line that means nothing now. Its position carries an FNV-1a
// of the file's first bytes (up to 4 KiB) and how many bytes that was, so
// that a file that was shorter then and has grown since still matches; and
// a hash of every line it covers (LinesHash), checked as a resumed run
// skips those lines, so that a file rewritten with the same first bytes
// (shorter, or with lines inserted or changed further on) is read again
// from its first line too.
constexpr size_t kFingerprintBytes = 4096;
constexpr uint64_t kLinesHashSeed = 0x6a09e667f3bcc908ull;

// The hash of a file's lines 1..n from that of lines 1..n-1 and the text
// of line n as LineReader gives it. Only a line's first 64 bytes count (the
// least --max-line-bytes keeps): a run with another limit must find the
// same hash for the same file. Lines inserted, removed or cut shift what
// every later line number holds; what is not seen is a line changed in
// place past its first 64 bytes (docs/engine.md, "Inputs").
constexpr size_t kHashedLineBytes = 64;
uint64_t LinesHash(uint64_t before, std::string_view text) {
  return Mix64(before ^ StableBytesHash(text.substr(0, kHashedLineBytes)));
}
constexpr size_t kMaxUncommittedBytes = 64 << 20;
// Events queued for the file shards before they run: enough that each
// thread's share outweighs starting it, few enough to stay in cache.
constexpr size_t kShardBatch = 16384;

std::string Fnv(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return absl::StrCat(h);
}

absl::Status ErrnoStatus(int err, const std::string& path) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(
          absl::StrCat("input ", path, ": no such file"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(
          absl::StrCat("input ", path, ": permission denied"));
    default:
      return absl::ErrnoToStatus(err, absl::StrCat("input ", path));
  }
}

// One input being read: a path opened once.
struct Input {
  std::string path;  // as given
  // The position key of a re-readable file (its canonical path); the
  // dead-letter prefix of a stream ("stdin" for "-").
  std::string name;
  bool rereadable = false;  // a regular file, not "-": resumed by position
  std::unique_ptr<LineReader> reader;
  int64_t resume_after = 0;  // lines consumed by earlier runs
  int64_t consumed = 0;      // lines consumed: the position to store
  std::string prefix;        // the file's first bytes, for the fingerprint
  uint64_t lines_hash = kLinesHashSeed;  // LinesHash of lines 1..consumed
  // Resumed at a stored position whose lines are still to be checked: what
  // their hash must be, the position as stored (stored again until then)
  // and its epoch.
  bool verifying = false;
  uint64_t verify_hash = 0;
  std::string stored_position;
  int64_t stored_epoch = 0;
  // How many other files had this path before (by fingerprint): part of
  // the dead-letter names from the second one on ("PATH;EPOCH:LINE").
  int64_t epoch = 0;
  // Streams: how many dead letters each content has had in this input, now
  // and at the last commit (lines applied again after a generation switch
  // must get the same names).
  std::unordered_map<uint64_t, int64_t> seen;
  std::unordered_map<uint64_t, int64_t> seen_at_commit;
  // "NAME:" or "NAME;EPOCH:": with a line number, where a conflicting
  // duplicate was read (docs/engine.md, "Duplicates").
  std::string position_prefix;
};

class Ingestor {
 public:
  Ingestor(Engine* engine, const FileIngestOptions& opts,
           FileIngestReport* report)
      : engine_(engine), opts_(opts), report_(report) {}
  ~Ingestor() {
    // A batch in flight uses the gate's store.
    if (shards_ != nullptr) WaitShards(/*written=*/true).IgnoreError();
    if (opts_.gate != nullptr) opts_.gate->set_before_replace(nullptr);
  }

  // Opens `path` once and, for a re-readable file, finds where an earlier
  // run stopped.
  absl::StatusOr<std::unique_ptr<Input>> Open(const std::string& path);

  // Reads `in` up to its current end, taking every complete line.
  absl::Status Pump(Input& in);
  // The input is over (its end, a rotation, a stop): decides on its
  // unterminated last line (docs/engine.md, Inputs).
  absl::Status Finish(Input& in);
  // Applies the held event and commits, with the positions of every input
  // still tracked; returns when the commit is written.
  absl::Status Commit() { return Commit(/*wait=*/true); }
  // Stops storing `in`'s position (after the commit that ended it).
  void Drop(const Input* in) { std::erase(inputs_, in); }
  // Decides, before the first line, whether the store's file shards run
  // beside each other (engine/file_shards.h).
  absl::Status OpenShards();
  // The input has ended and the store is closed next: what the memtables
  // hold is flushed beside the last commits' writes.
  void FlushStoreEarly() {
    if (opts_.store_closes_after) engine_->store()->FlushInBackground();
  }
  // The last commit is written and the store is closed next.
  void BeginStoreClose() {
    if (opts_.store_closes_after) engine_->store()->BeginClose();
  }
  int64_t conflicts() const {
    return shards_ != nullptr ? shards_->stats().conflicts
                              : engine_->stats().conflicts;
  }

 private:
  absl::Status Parse(std::string_view text, bool too_long, Event* e) {
    return too_long ? absl::InvalidArgumentError("line too long")
                    : parser_.Parse(text, e);
  }
  absl::Status Apply(const Event& e, std::string_view text,
                     EventPosition position, FileIngestReport* r);
  absl::Status AddDeadLetter(Input& in, const absl::Status& parsed,
                             std::string_view text, int64_t number,
                             FileIngestReport* r);
  absl::Status Process(Input& in, std::string_view text, int64_t number,
                       bool too_long, FileIngestReport* r);
  absl::Status ApplyHeld();
  absl::Status Take(Input& in, const LineReader::Line& line);
  // Whether what `in` holds now ends before the lines of its stored
  // position, or its last (unterminated) line differs from theirs.
  bool EndsBeforeStoredLines(const Input& in) const;
  // `in` is not the file its stored position was read from: every line
  // read so far was skipped; it is read again from its first line, under
  // the next epoch.
  absl::Status ReadAgain(Input& in);
  // The source positions of the inputs that are resumed by position.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Positions();
  absl::Status CommitTo(Engine* e);
  // `wait` false: the file shards apply what is queued and commit it while
  // the caller reads on (FileShards::Submit).
  absl::Status Commit(bool wait);
  absl::Status CommitShards(bool wait);
  // Hands the queued batch to the file shards without waiting for it.
  absl::Status SubmitShards();
  // Waits for the batches in flight and counts them.
  // `written`: the last commit written too.
  absl::Status WaitShards(bool written = false);
  // Adds what became of the batches done so far to the report.
  void CountShards();

  // The text of the lines read since the last commit (with a gate, to
  // apply again should the gate hand over an engine on a new generation)
  // and, with file shards, of those in a batch not yet applied: the
  // batches point into it instead of holding copies. Declared before
  // shards_, so that it outlives a batch in flight.
  LineArena lines_;
  // Non-null when the store has several file shards: events are queued to
  // them instead of applied to engine_ (which then only opens the gate).
  std::unique_ptr<FileShards> shards_;
  size_t shard_pending_ = 0;  // lines queued since the last commit
  // Of uncommitted_, how many were submitted to the shards (and counted).
  size_t submitted_ = 0;
  // Whether the gate is entered and not yet handed to the batch that
  // commits (which leaves it).
  bool gate_held_ = false;

  Engine* engine_;
  const FileIngestOptions& opts_;
  FileIngestReport* report_;
  EventParser parser_;
  std::vector<Input*> inputs_;  // whose positions each commit stores

  // The main loop holds each parsed event back by one line: the engine
  // prefetches what it will touch (Engine::Prefetch), and the misses
  // overlap the parsing of the next line instead of stalling the apply.
  // Events and dead letters still reach the engine in line order, and a
  // held event is applied before every commit.
  Event ahead_[2];
  int next_ = 0;
  bool held_ = false;
  std::string held_text_;
  EventPosition held_position_;

  // With a gate: the lines since the last commit, to apply again should
  // the gate hand over an engine on a new generation. Their text is in
  // lines_: a string per line was a malloc and a free per event.
  struct PendingLine {
    Input* in;
    int64_t number;
    std::string_view text;  // in lines_
    bool too_long;
  };
  std::vector<PendingLine> uncommitted_;
};

absl::StatusOr<std::unique_ptr<Input>> Ingestor::Open(const std::string& path) {
  auto in = std::make_unique<Input>();
  in->path = path;
  auto reader = LineReader::Open(path, opts_.max_line_bytes);
  if (!reader.ok()) {
    if (absl::IsNotFound(reader.status())) return ErrnoStatus(ENOENT, path);
    if (absl::IsPermissionDenied(reader.status())) {
      return ErrnoStatus(EACCES, path);
    }
    return reader.status();
  }
  in->reader = std::move(*reader);
  in->reader->set_hold_partial(true);
  in->rereadable = path != "-" && in->reader->regular();
  inputs_.push_back(in.get());
  if (!in->rereadable) {
    in->name = path == "-" ? "stdin" : path;
    in->position_prefix = in->name + ":";
    return in;
  }
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  in->name = ec ? path : canonical.string();
  auto prefix = in->reader->ReadPrefix(kFingerprintBytes);
  if (!prefix.ok()) return prefix.status();
  in->prefix = std::move(*prefix);
  auto pos = engine_->GetPosition(in->name);
  if (!pos.ok()) return pos.status();
  if (pos->has_value()) {
    // LINES \t FINGERPRINT [\t BYTES \t EPOCH [\t LINES_HASH]]; two
    // fields were written before the byte count was: they covered 4 KiB or
    // the whole (then shorter) file. Without the lines' hash (an earlier
    // build) the fingerprint alone decides.
    std::vector<std::string> parts = absl::StrSplit(**pos, '\t');
    int64_t line = 0;
    int64_t epoch = 0;
    uint64_t lines_hash = 0;
    size_t covered = in->prefix.size();
    const bool well_formed =
        (parts.size() == 2 ||
         ((parts.size() == 4 || parts.size() == 5) &&
          absl::SimpleAtoi(parts[2], &covered) &&
          absl::SimpleAtoi(parts[3], &epoch) &&
          (parts.size() == 4 || absl::SimpleAtoi(parts[4], &lines_hash)))) &&
        absl::SimpleAtoi(parts[0], &line);
    if (well_formed && covered <= in->prefix.size() &&
        Fnv(std::string_view(in->prefix).substr(0, covered)) == parts[1]) {
      in->resume_after = line;
      in->epoch = epoch;
      if (parts.size() == 5 && line > 0) {
        in->verifying = true;
        in->verify_hash = lines_hash;
        in->stored_position = **pos;
        in->stored_epoch = epoch;
      }
    } else {
      // Another file now has this path (rotated, rewritten): its line
      // numbers must not name the dead letters of the one before.
      in->epoch = epoch + 1;
    }
  }
  in->position_prefix = in->epoch == 0
                            ? absl::StrCat(in->name, ":")
                            : absl::StrCat(in->name, ";", in->epoch, ":");
  return in;
}

absl::Status Ingestor::Apply(const Event& e, std::string_view text,
                             EventPosition position, FileIngestReport* r) {
  auto outcome = engine_->ApplyWithOutcome(e, text, position);
  if (!outcome.ok()) return outcome.status();
  ++(*outcome == Engine::Outcome::kNewId ? r->accepted : r->duplicates);
  return absl::OkStatus();
}

absl::Status Ingestor::AddDeadLetter(Input& in, const absl::Status& parsed,
                                     std::string_view text, int64_t number,
                                     FileIngestReport* r) {
  DeadLetter d;
  if (in.rereadable) {
    d.position = in.epoch == 0
                     ? absl::StrCat(in.name, ":", number)
                     : absl::StrCat(in.name, ";", in.epoch, ":", number);
  } else {
    // A stream's line numbers start again with every run: name the line by
    // its content and how often that content came before in this input.
    const uint64_t h = StableHash(text);
    d.position = absl::StrFormat("%s:#%016x-%d", in.name, h, ++in.seen[h]);
  }
  d.reason = std::string(parsed.message());
  d.raw = std::string(text);
  if (shards_ != nullptr) {
    // Counted when the queue runs.
    shards_->PushDeadLetter(std::move(d));
    ++shard_pending_;
    return absl::OkStatus();
  }
  absl::Status s = engine_->AddDeadLetter(d);
  if (!s.ok()) return s;
  ++r->dead_letters;
  return absl::OkStatus();
}

absl::Status Ingestor::Process(Input& in, std::string_view text, int64_t number,
                               bool too_long, FileIngestReport* r) {
  if (shards_ != nullptr) {
    absl::Status parsed = Parse(text, too_long, &shards_->Slot());
    if (!parsed.ok()) return AddDeadLetter(in, parsed, text, number, r);
    // `text` is in lines_, kept until the batch is applied.
    shards_->PushView(text, {in.position_prefix, number});
    ++shard_pending_;
    return absl::OkStatus();
  }
  Event event;
  absl::Status parsed = Parse(text, too_long, &event);
  return parsed.ok() ? Apply(event, text, {in.position_prefix, number}, r)
                     : AddDeadLetter(in, parsed, text, number, r);
}

absl::Status Ingestor::ApplyHeld() {
  if (!held_) return absl::OkStatus();
  held_ = false;
  return Apply(ahead_[next_ ^ 1], held_text_, held_position_, report_);
}

absl::Status Ingestor::Take(Input& in, const LineReader::Line& line) {
  ++report_->lines;
  in.consumed = line.number;
  if (in.rereadable) in.lines_hash = LinesHash(in.lines_hash, line.text);
  if (line.number <= in.resume_after) {
    ++report_->skipped_lines;
    if (in.verifying && line.number == in.resume_after) {
      if (in.lines_hash != in.verify_hash) return ReadAgain(in);
      in.verifying = false;
    }
    return absl::OkStatus();
  }
  if (!line.blank && shards_ != nullptr) {
    // One copy of the line, which the batch and (with a gate) the lines
    // since the last commit share.
    const std::string_view text = lines_.Append(line.text);
    absl::Status s = Process(in, text, line.number, line.too_long, report_);
    if (!s.ok()) return s;
    if (opts_.gate != nullptr) {
      uncommitted_.push_back({&in, line.number, text, line.too_long});
    }
    if (shard_pending_ >= opts_.commit_every ||
        lines_.bytes() >= kMaxUncommittedBytes || shards_->OverStateBudget()) {
      return Commit(/*wait=*/false);
    }
    if (shards_->queued() >= kShardBatch) return SubmitShards();
    return absl::OkStatus();
  }
  if (!line.blank) {
    Event& e = ahead_[next_];
    absl::Status parsed = Parse(line.text, line.too_long, &e);
    if (parsed.ok()) engine_->Prefetch(e);
    absl::Status s = ApplyHeld();
    if (s.ok() && parsed.ok()) {
      held_text_.assign(line.text);
      held_position_ = {in.position_prefix, line.number};
      held_ = true;
      next_ ^= 1;
    } else if (s.ok()) {
      s = AddDeadLetter(in, parsed, line.text, line.number, report_);
    }
    if (!s.ok()) return s;
    if (opts_.gate != nullptr) {
      uncommitted_.push_back(
          {&in, line.number, lines_.Append(line.text), line.too_long});
    }
  }
  // The kept lines also bound the commit size (long lines, few events).
  if (engine_->pending() + (held_ ? 1 : 0) >= opts_.commit_every ||
      lines_.bytes() >= kMaxUncommittedBytes || engine_->OverStateBudget()) {
    return Commit();
  }
  return absl::OkStatus();
}

bool Ingestor::EndsBeforeStoredLines(const Input& in) const {
  std::string_view partial = in.reader->partial();
  if (in.consumed + (partial.empty() ? 0 : 1) < in.resume_after) return true;
  if (partial.empty() || in.consumed + 1 != in.resume_after) return false;
  // The stored position took this line as the file's last (Finish); its
  // text as LineReader gives it once complete.
  if (partial.back() == '\r') partial.remove_suffix(1);
  return LinesHash(in.lines_hash, partial) != in.verify_hash;
}

absl::Status Ingestor::ReadAgain(Input& in) {
  report_->lines -= in.consumed;
  report_->skipped_lines -= in.consumed;
  absl::Status s = in.reader->Rewind();
  if (!s.ok()) return s;
  in.consumed = 0;
  in.resume_after = 0;
  in.lines_hash = kLinesHashSeed;
  in.verifying = false;
  in.epoch = in.stored_epoch + 1;
  in.position_prefix = absl::StrCat(in.name, ";", in.epoch, ":");
  if (opts_.log) {
    opts_.log(absl::StrCat(in.path,
                           ": its lines are not those an earlier run read "
                           "(rewritten with the same first bytes); reading "
                           "it from its first line"));
  }
  return absl::OkStatus();
}

absl::Status Ingestor::Pump(Input& in) {
  LineReader& reader = *in.reader;
  reader.Retry();
  LineReader::Line line;
  for (;;) {
    while (reader.Next(&line)) {
      absl::Status s = Take(in, line);
      if (!s.ok()) return s;
    }
    // The input ends before the lines its stored position covers: another
    // file. (A file only grows while it is the one read before.)
    if (!reader.status().ok() || !in.verifying || !EndsBeforeStoredLines(in)) {
      break;
    }
    absl::Status s = ReadAgain(in);
    if (!s.ok()) return s;
  }
  absl::Status s = ApplyHeld();
  if (!s.ok()) return s;
  return reader.status();
}

absl::Status Ingestor::Finish(Input& in) {
  LineReader& reader = *in.reader;
  const std::string_view partial = reader.partial();
  if (partial.empty()) return absl::OkStatus();
  LineReader::Line line;
  const int64_t number = in.consumed + 1;
  // A stream has ended: its last line is complete, whatever it holds. So
  // is a line an earlier run took.
  bool take = !in.rereadable || number <= in.resume_after;
  if (!take) {
    Event e;
    size_t len = partial.size();
    if (partial.back() == '\r') --len;
    // Too long now is too long once complete: a dead letter either way.
    take = len > opts_.max_line_bytes ||
           Parse(partial.substr(0, len), false, &e).ok();
  }
  if (take) {
    reader.TakePartial(&line);
    absl::Status s = Take(in, line);
    if (s.ok()) s = ApplyHeld();
    return s;
  }
  bool blank = true;
  for (char c : partial) blank = blank && (c == ' ' || c == '\t' || c == '\r');
  if (blank) return absl::OkStatus();
  ++report_->incomplete_lines;
  if (opts_.log) {
    opts_.log(absl::StrCat(in.path,
                           ": incomplete last line left for the "
                           "next run (line ",
                           number, ", ", partial.size(), " bytes)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
Ingestor::Positions() {
  std::vector<std::pair<std::string, std::string>> positions;
  for (Input* in : inputs_) {
    if (!in->rereadable) continue;  // streams are never resumed
    // A file shorter than 4 KiB when opened has grown into what was read.
    const int64_t read = in->reader->bytes_read();
    if (in->prefix.size() < kFingerprintBytes &&
        read > static_cast<int64_t>(in->prefix.size())) {
      auto prefix = in->reader->ReadPrefix(
          std::min<size_t>(kFingerprintBytes, static_cast<size_t>(read)));
      if (!prefix.ok()) return prefix.status();
      in->prefix = std::move(*prefix);
    }
    if (in->verifying) {
      // Its stored lines are not all read again yet: the position stays.
      positions.emplace_back(in->name, in->stored_position);
      continue;
    }
    positions.emplace_back(
        in->name,
        absl::StrCat(in->consumed, "\t", Fnv(in->prefix), "\t",
                     in->prefix.size(), "\t", in->epoch, "\t", in->lines_hash));
  }
  return positions;
}

absl::Status Ingestor::CommitTo(Engine* e) {
  auto positions = Positions();
  if (!positions.ok()) return positions.status();
  for (const auto& [source, value] : *positions) e->SetPosition(source, value);
  return e->Commit();
}

absl::Status Ingestor::OpenShards() {
  // 0: every core (docs/engine.md, "Parallel ingest").
  const int threads =
      opts_.threads > 0
          ? opts_.threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto shards = FileShardsOf(*engine_->store(),
                             threads > 1 ? kFileShardsOfParallelStore : 1);
  if (!shards.ok()) return shards.status();
  report_->shards = *shards;
  report_->threads = 1;
  shards_.reset();
  if (*shards == 1) {
    if (opts_.threads > 1 && opts_.log) {
      opts_.log(absl::StrCat(
          "--db ", engine_->store()->dir(),
          " has one file shard (it was created with --threads 1 or by an "
          "earlier build): its events are applied on one thread "
          "(docs/engine.md, \"Parallel ingest\")"));
    }
    return absl::OkStatus();
  }
  EngineOptions eo = engine_->options();
  eo.siblings = nullptr;
  auto opened = FileShards::Open(engine_->rules(), engine_->store(), eo,
                                 *shards, threads);
  if (!opened.ok()) return opened.status();
  shards_ = std::move(*opened);
  report_->threads = shards_->threads();
  if (opts_.gate != nullptr) {
    // The shards' engines use the store the gate may close.
    opts_.gate->set_before_replace([this] { shards_.reset(); });
  }
  return absl::OkStatus();
}

absl::Status Ingestor::WaitShards(bool written) {
  absl::Status s = written ? shards_->WaitWritten() : shards_->Wait();
  // No batch is in flight: the lines retired at a hand-over are free.
  lines_.Recycle();
  CountShards();
  return s;
}

void Ingestor::CountShards() {
  const FileShards::Counts c = shards_->TakeCounts();
  report_->accepted += c.accepted;
  report_->duplicates += c.duplicates;
  report_->dead_letters += c.dead_letters;
}

absl::Status Ingestor::SubmitShards() {
  // Behind the batches in flight (FileShards::Submit waits only for room).
  absl::Status s = shards_->Submit(nullptr);
  submitted_ = uncommitted_.size();
  // Without a gate nothing needs the lines once this batch is applied: they
  // are reused once it is done, as those of the batches before it are.
  if (opts_.gate == nullptr) {
    lines_.Retire(shards_->submitted());
    lines_.Recycle(shards_->completed());
  }
  CountShards();
  return s;
}

absl::Status Ingestor::CommitShards(bool wait) {
  absl::Status s;
  if (opts_.gate != nullptr) {
    // The batches in flight first, and their commit written: a generation
    // switch drops the shards, and the gate the last commit holds is left
    // by the shards' writer thread once it is written (before this one
    // enters it). Without a gate the commit's batch queues behind them.
    s = WaitShards(/*written=*/true);
    if (!s.ok()) return s;
    bool replaced = false;
    auto gated = opts_.gate->Enter(&replaced);
    if (!gated.ok()) return gated.status();
    engine_ = *gated;
    gate_held_ = true;
    if (replaced) {
      // The shards of the new generation, and the lines since the last
      // commit applied to them again. Those submitted before were counted
      // then; the rest are counted now.
      s = OpenShards();
      if (s.ok() && shards_ == nullptr) {
        s = absl::FailedPreconditionError(absl::StrCat(
            "--db ", engine_->store()->dir(),
            " was switched to a generation of one file shard; run ingest "
            "again"));
      }
      for (Input* in : inputs_) in->seen = in->seen_at_commit;
      FileIngestReport ignored;
      for (size_t i = 0; i < uncommitted_.size() && s.ok(); ++i) {
        if (i == submitted_) {
          FileShards::Counts counted_before;
          s = shards_->Run(&counted_before);
          if (!s.ok()) break;
        }
        const PendingLine& p = uncommitted_[i];
        s = Process(*p.in, p.text, p.number, p.too_long, &ignored);
      }
      if (s.ok() && submitted_ >= uncommitted_.size()) {
        FileShards::Counts counted_before;
        s = shards_->Run(&counted_before);
      }
      // The rest, counted by the commit below.
      wait = true;
    }
  }
  if (s.ok()) {
    auto positions = Positions();
    if (positions.ok()) {
      // The batch leaves the gate as soon as its commit is written.
      std::function<void()> leave;
      if (gate_held_) leave = [gate = opts_.gate] { gate->Leave(); };
      s = shards_->Submit(&*positions, std::move(leave));
      if (s.ok()) gate_held_ = false;
    } else {
      s = positions.status();
    }
  }
  uncommitted_.clear();
  // The batch just handed over still reads them: reused once it is done.
  lines_.Retire(shards_->submitted());
  submitted_ = 0;
  if (s.ok() && wait) s = WaitShards(/*written=*/true);
  if (!s.ok()) {
    if (gate_held_) {
      opts_.gate->Leave();
      gate_held_ = false;
    }
    return s;
  }
  shard_pending_ = 0;
  for (Input* in : inputs_) in->seen_at_commit = in->seen;
  return absl::OkStatus();
}

absl::Status Ingestor::Commit(bool wait) {
  if (shards_ != nullptr) return CommitShards(wait);
  absl::Status s = ApplyHeld();
  if (!s.ok()) return s;
  if (opts_.gate == nullptr) {
    s = CommitTo(engine_);
  } else {
    bool replaced = false;
    auto gated = opts_.gate->Enter(&replaced);
    if (!gated.ok()) return gated.status();
    engine_ = *gated;
    if (replaced) {
      FileIngestReport again;  // these lines were counted when first read
      for (Input* in : inputs_) in->seen = in->seen_at_commit;
      for (const PendingLine& p : uncommitted_) {
        s = Process(*p.in, p.text, p.number, p.too_long, &again);
        if (!s.ok()) break;
      }
    }
    if (s.ok()) s = CommitTo(engine_);
    opts_.gate->Leave();
    uncommitted_.clear();
    lines_.Reset();
  }
  if (!s.ok()) return s;
  for (Input* in : inputs_) in->seen_at_commit = in->seen;
  return absl::OkStatus();
}

// Whether the file open as `in` was cut shorter than what was read, or
// rewritten from its start (copytruncate and a longer new content: the
// size alone may not tell).
bool Rewritten(const Input& in) {
  struct stat now;
  if (::fstat(in.reader->fd(), &now) == 0 &&
      now.st_size < in.reader->bytes_read()) {
    return true;
  }
  auto prefix = in.reader->ReadPrefix(in.prefix.size());
  return prefix.ok() && *prefix != in.prefix;
}

// Sleeps up to `ms`, in short steps so that a stop is seen promptly.
void Nap(int ms, const std::atomic<bool>& stop) {
  for (int slept = 0; slept < ms && !stop.load(); slept += 20) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

absl::Status CheckInputs(const std::vector<std::string>& paths,
                         bool regular_only) {
  for (const std::string& path : paths) {
    struct stat st;
    int rc =
        path == "-" ? ::fstat(STDIN_FILENO, &st) : ::stat(path.c_str(), &st);
    if (rc != 0) return ErrnoStatus(errno, path);
    if (S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", path, ": is a directory"));
    }
    if (regular_only && (path == "-" || !S_ISREG(st.st_mode))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", path,
          ": not a regular file (--follow reads files that grow)"));
    }
    if (path != "-" && ::access(path.c_str(), R_OK) != 0) {
      return ErrnoStatus(errno, path);
    }
  }
  return absl::OkStatus();
}

absl::Status IngestFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         FileIngestReport* report) {
  Ingestor ingestor(&engine, opts, report);
  absl::Status opened = ingestor.OpenShards();
  if (!opened.ok()) return opened;
  for (const std::string& path : paths) {
    auto in = ingestor.Open(path);
    if (!in.ok()) return in.status();
    absl::Status s = ingestor.Pump(**in);
    if (s.ok()) s = ingestor.Finish(**in);
    if (s.ok() && &path == &paths.back()) ingestor.FlushStoreEarly();
    if (s.ok()) s = ingestor.Commit();
    if (!s.ok()) return s;
    ingestor.Drop(in->get());
  }
  report->conflicts = ingestor.conflicts();
  ingestor.BeginStoreClose();
  return absl::OkStatus();
}

absl::Status FollowFiles(Engine& engine, const std::vector<std::string>& paths,
                         const FileIngestOptions& opts,
                         const std::atomic<bool>& stop,
                         FileIngestReport* report) {
  Ingestor ingestor(&engine, opts, report);
  absl::Status opened = ingestor.OpenShards();
  if (!opened.ok()) return opened;
  std::vector<std::unique_ptr<Input>> inputs;
  for (const std::string& path : paths) {
    auto in = ingestor.Open(path);
    if (!in.ok()) return in.status();
    if (!(*in)->rereadable) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", path,
          ": not a regular file (--follow reads files that grow)"));
    }
    // One file named twice (a symlink, another path, a hard link) is
    // followed once: two readers of it would both start at its stored
    // position, and its dead letters would be counted twice.
    const struct stat& st = (*in)->reader->file_stat();
    auto same = std::find_if(inputs.begin(), inputs.end(), [&](auto& other) {
      const struct stat& o = other->reader->file_stat();
      return o.st_dev == st.st_dev && o.st_ino == st.st_ino;
    });
    if (same != inputs.end()) {
      if (opts.log) {
        opts.log(absl::StrCat(path, ": the same file as ", (*same)->path,
                              "; followed once"));
      }
      ingestor.Drop(in->get());
      continue;
    }
    inputs.push_back(std::move(*in));
  }
  auto log = [&](const std::string& line) {
    if (opts.log) opts.log(line);
  };
  // Replaces `in` by a new open of its path. A file renamed away is intact:
  // it is read to its end first. A file cut or rewritten in place holds
  // other bytes past what was read, which are not its lines.
  auto reopen = [&](std::unique_ptr<Input>& in, bool read_rest,
                    const std::string& why) -> absl::Status {
    absl::Status s = read_rest ? ingestor.Pump(*in) : absl::OkStatus();
    if (s.ok()) s = ingestor.Finish(*in);
    if (s.ok()) s = ingestor.Commit();
    if (!s.ok()) return s;
    auto fresh = ingestor.Open(in->path);
    if (!fresh.ok()) return fresh.status();
    ingestor.Drop(in.get());
    in = std::move(*fresh);
    log(absl::StrCat(in->path, ": ", why, "; reading it from its first line"));
    return absl::OkStatus();
  };
  while (!stop.load()) {
    int64_t before = report->lines;
    for (std::unique_ptr<Input>& in : inputs) {
      // Before reading on: has the path come to name another file, or the
      // file been cut or rewritten?
      const struct stat& open = in->reader->file_stat();
      struct stat now;
      absl::Status s;
      if (::stat(in->path.c_str(), &now) == 0 &&
          (now.st_dev != open.st_dev || now.st_ino != open.st_ino)) {
        s = reopen(in, true, "now another file (rotated)");
      } else if (Rewritten(*in)) {
        s = reopen(in, false, "cut or rewritten in place (truncated)");
      }
      if (s.ok()) s = ingestor.Pump(*in);
      if (!s.ok()) return s;
    }
    if (report->lines != before) {
      absl::Status s = ingestor.Commit();
      if (!s.ok()) return s;
    } else {
      Nap(opts.poll_ms, stop);
    }
  }
  for (std::unique_ptr<Input>& in : inputs) {
    absl::Status s = ingestor.Pump(*in);
    if (s.ok()) s = ingestor.Finish(*in);
    if (!s.ok()) return s;
  }
  absl::Status s = ingestor.Commit();
  report->conflicts = ingestor.conflicts();
  if (s.ok()) ingestor.BeginStoreClose();
  return s;
}

}  // namespace chatkpi

#include "engine/replay.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string_view>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/event_count.h"
#include "engine/file_shards.h"
#include "engine/generation_select.h"
#include "engine/live_store.h"
#include "engine/owned_shards.h"
#include "engine/replay_workers.h"
#include "engine/shard_runs.h"
#include "ingest/event_parser.h"
#include "store/generations.h"
#include "store/store.h"

namespace chatkpi {
namespace {

// The first key after every shard run record.
std::string ShardRunsEnd() {
  std::string end = kMetaShardRunPrefix;
  ++end.back();
  return end;
}

// Events queued for the file shards before they run: enough that each
// thread's share outweighs starting it (as file ingest queues them).
constexpr size_t kFileShardBatch = 16384;

// Applies the live log, read through a follower, to engines on the new
// generation (docs/replay.md, "Threads"):
// * a store of several file shards (`ingest --threads`): through
//   FileShards, as ingest applies files, its routing and cross-shard
//   resolution included;
// * otherwise each event in the engine of the shard that applied it (shard
//   runs: Kafka partitions, or shard 0 alone), on worker threads when
//   there are several (engine/replay_workers.h), else on this thread.
class Rebuilder {
 public:
  Rebuilder(Store* live, Store* target, const Rules& rules,
            const ReplayOptions& opts)
      : live_(live), target_(target), rules_(rules), opts_(opts) {}

  absl::Status Init() {
    start_ = absl::Now();
    absl::Status s = LoadShardRuns();
    if (!s.ok()) return s;
    // Stores fed by several shards before shard runs were recorded cannot
    // be replayed exactly: their events' shards are unknown.
    auto owned = live_->Get(Family::kMeta, kMetaOwnedShards);
    if (!owned.ok()) return owned.status();
    const bool other_shards =
        owned->has_value() && !(*owned)->empty() && **owned != "0";
    if (other_shards && runs_.empty()) {
      return absl::FailedPreconditionError(
          "the live store was fed by several shards (Kafka partitions) by a "
          "build that did not record which shard applied which event; it "
          "cannot be replayed exactly. Rebuild it from the topics instead.");
    }
    auto file_shards = live_->Get(Family::kMeta, kMetaFileShards);
    if (!file_shards.ok()) return file_shards.status();
    if (file_shards->has_value() &&
        (!absl::SimpleAtoi(**file_shards, &file_shards_) || file_shards_ < 1 ||
         file_shards_ > 4096)) {
      return absl::DataLossError("the file shard count is corrupt");
    }
    if (file_shards_ > 1 && owned->has_value() && !(*owned)->empty()) {
      // Kafka engines number their shards by partition, file shards by
      // buyer: in one store the two cannot both be told apart.
      return absl::FailedPreconditionError(absl::StrCat(
          "the live store has ", file_shards_,
          " file shards and was also fed by Kafka partitions (", **owned,
          "); which shard applied which event cannot be told, so it cannot "
          "be replayed exactly. Rebuild it from its inputs instead."));
    }
    const int threads = std::max(1, opts_.threads);
    if (file_shards_ > 1) {
      // The shards' engines record the rules even if the log is empty.
      EngineOptions eo = EngineOptionsFor(0);
      auto opened =
          FileShards::Open(rules_, target_, eo, file_shards_, threads);
      if (!opened.ok()) return opened.status();
      file_ = std::move(*opened);
      return absl::OkStatus();
    }
    // Shard 0's engine records the rules even if the log is empty.
    auto engine = EngineFor(0);
    if (!engine.ok()) return engine.status();
    if (threads > 1) {
      // The shards' engines on workers. With one shard so far (no runs)
      // its worker has the engine's work alone: this thread parses too.
      workers_ = std::make_unique<ReplayWorkers>(
          threads, opts_.commit_every, /*parse_here=*/runs_.empty(),
          [this](uint32_t shard) { return EngineFor(shard); });
    }
    return absl::OkStatus();
  }

  // Reads what the live writer committed since the last call.
  absl::StatusOr<int64_t> CatchUp() {
    auto caught_up = live_->CatchUp();
    if (!caught_up.ok()) return caught_up.status();
    total_ = static_cast<int64_t>(live_->next_seq());
    absl::Status s = LoadShardRuns();
    if (!s.ok()) return s;
    return total_ - done_;
  }

  // Applies every event up to the last CatchUp.
  absl::Status ApplyAll(const char* phase) {
    phase_ = phase;
    const bool bulk = done_ == 0;  // the pass that reads the whole log
    absl::Status failed;
    Event event;
    absl::Status s = live_->ScanEvents(
        done_, total_, [&](uint64_t seq, std::string_view raw) {
          if (static_cast<int64_t>(seq) != done_) {
            failed = absl::DataLossError(
                absl::StrCat("the live event log has no event ", done_));
            return false;
          }
          failed = file_ != nullptr ? QueueFile(seq, raw)
                   : workers_ != nullptr
                       ? workers_->Add(seq, runs_.ShardOf(seq), raw)
                       : ApplyOne(seq, raw, &event);
          if (!failed.ok()) return false;
          ++done_;
          if ((done_ & 4095) == 0) MaybeReport(false);
          return true;
        });
    if (!s.ok()) return s;
    if (!failed.ok()) return failed;
    // The bulk pass has read the log: the new generation's memtables flush
    // beside its last batches instead of at its close (docs/engine.md, "The
    // end of a run").
    if (bulk) target_->FlushInBackground();
    // Everything read is applied before the round ends.
    if (file_ != nullptr) {
      FileShards::Counts counts;
      s = file_->Run(&counts);
      duplicates_ += counts.duplicates;
    } else if (workers_ != nullptr) {
      s = workers_->Drain();
    }
    if (!s.ok()) return s;
    if (done_ != total_) {
      return absl::DataLossError(absl::StrCat("the live event log ends at seq ",
                                              done_, ", expected ", total_));
    }
    MaybeReport(true);
    return absl::OkStatus();
  }

  // Copies what is not derived from events: dead letters (they never
  // parsed, under any rules) and meta (source positions, dead-letter count,
  // owned shards, file shards) — except the rules and the shard runs, which
  // the new engines write themselves.
  absl::Status CopyUnderived(int64_t* dead_letters) {
    Commit c(target_);
    absl::Status flush;
    auto maybe_flush = [&]() {
      if (c.ApproximateBytes() < (8 << 20)) return true;
      flush = target_->Write(&c);
      return flush.ok();
    };
    absl::Status s = live_->Scan(Family::kDead, "", "",
                                 [&](std::string_view k, std::string_view v) {
                                   c.Put(Family::kDead, k, v);
                                   ++*dead_letters;
                                   return maybe_flush();
                                 });
    if (s.ok()) s = flush;
    if (!s.ok()) return s;
    const std::string_view runs = kMetaShardRunPrefix;
    const std::string_view candidates = kMetaAssessmentCandidatesPrefix;
    s = live_->Scan(Family::kMeta, "", "",
                    [&](std::string_view k, std::string_view v) {
                      // The count of superseded log entries is the new
                      // log's own: its engines kept it.
                      if (k == kMetaRules || k == kMetaSuperseded ||
                          k.substr(0, runs.size()) == runs ||
                          k.substr(0, candidates.size()) == candidates) {
                        return true;
                      }
                      c.Put(Family::kMeta, k, v);
                      return maybe_flush();
                    });
    if (s.ok()) s = flush;
    if (s.ok()) s = target_->Write(&c);
    return s;
  }

  absl::Status CommitAll() {
    if (file_ != nullptr) {
      FileShards::Counts counts;
      absl::Status s = file_->Commit({}, &counts);
      duplicates_ += counts.duplicates;
      return s;
    }
    if (workers_ != nullptr) {
      absl::Status s = workers_->Drain();
      if (!s.ok()) return s;
    }
    for (auto& [shard, engine] : engines_) {
      absl::Status s = engine->Commit();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  int64_t done() const { return done_; }
  int64_t total() const { return total_; }
  int64_t duplicates() const {
    return duplicates_ + (workers_ != nullptr ? workers_->duplicates() : 0);
  }

 private:
  absl::Status LoadShardRuns() {
    absl::Status bad;
    absl::Status s = live_->Scan(
        Family::kMeta, ShardRunKey(runs_loaded_to_), ShardRunsEnd(),
        [&](std::string_view k, std::string_view v) {
          uint64_t first, count;
          uint32_t shard;
          if (!ParseShardRun(k, v, &first, &shard, &count)) {
            bad = absl::DataLossError("a shard run record is corrupt");
            return false;
          }
          runs_.Add(first, shard, count);
          runs_loaded_to_ = first + 1;
          return true;
        });
    return s.ok() ? bad : s;
  }

  EngineOptions EngineOptionsFor(uint32_t shard) const {
    EngineOptions eo;
    eo.shard = shard;
    eo.evicted_states = evicted_states_;
    eo.live_state_budget_bytes = opts_.live_state_budget_bytes;
    // Conflicts are resolved again, in log order, as ingest resolved them;
    // their records (which name source positions) are copied.
    eo.record_conflicts = false;
    return eo;
  }

  absl::StatusOr<Engine*> EngineFor(uint32_t shard) {
    auto it = engines_.find(shard);
    if (it != engines_.end()) return it->second.get();
    auto engine = Engine::Open(rules_, target_, EngineOptionsFor(shard));
    if (!engine.ok()) return engine.status();
    return engines_.emplace(shard, std::move(*engine)).first->second.get();
  }

  static absl::Status Unparsable(uint64_t seq, const absl::Status& parsed) {
    // Every logged event parsed when it was taken in; the parser of this
    // build disagrees. Better stop than silently drop history.
    return absl::DataLossError(absl::StrCat(
        "event ", seq, " of the live log does not parse with this build (",
        parsed.message(), "); nothing was switched"));
  }

  absl::Status ApplyOne(uint64_t seq, std::string_view raw, Event* event) {
    auto engine = EngineFor(runs_.ShardOf(seq));
    if (!engine.ok()) return engine.status();
    absl::Status parsed = parser_.Parse(raw, event);
    if (!parsed.ok()) return Unparsable(seq, parsed);
    auto outcome = (*engine)->ApplyWithOutcome(*event, raw);
    if (!outcome.ok()) return outcome.status();
    if (*outcome != Engine::Outcome::kNewId) ++duplicates_;
    if ((*engine)->pending() >= opts_.commit_every ||
        (*engine)->OverStateBudget()) {
      return (*engine)->Commit();
    }
    return absl::OkStatus();
  }

  // File shards: parsed here, applied by the shards' threads a batch at a
  // time, all shards committed together every `commit_every` events or once
  // their states pass the budget (the positions are copied at the switch,
  // with the rest of meta).
  absl::Status QueueFile(uint64_t seq, std::string_view raw) {
    absl::Status parsed = parser_.Parse(raw, &file_->Slot());
    if (!parsed.ok()) return Unparsable(seq, parsed);
    file_->Push(raw, EventPosition{});
    // Handed over without waiting (FileShards::Submit), so that the next
    // batch is read and parsed here while the shards apply this one; the
    // counts are taken when a round ends (CommitAll).
    if (++file_pending_ >= opts_.commit_every || file_->OverStateBudget()) {
      file_pending_ = 0;
      static const std::vector<std::pair<std::string, std::string>>
          kNoPositions;
      return file_->Submit(&kNoPositions);
    }
    if (file_->queued() >= kFileShardBatch) return file_->Submit(nullptr);
    return absl::OkStatus();
  }

  void MaybeReport(bool force) {
    if (!opts_.progress) return;
    const absl::Time now = absl::Now();
    if (!force && now - last_report_ < opts_.progress_interval) return;
    last_report_ = now;
    ReplayProgress p;
    p.phase = phase_;
    p.done = done_;
    p.total = total_;
    const double secs = absl::ToDoubleSeconds(now - start_);
    p.events_per_s = secs > 0 ? static_cast<double>(done_) / secs : 0;
    if (p.events_per_s > 0) {
      p.eta =
          absl::Seconds(static_cast<double>(total_ - done_) / p.events_per_s);
    }
    opts_.progress(p);
  }

  Store* live_;  // a follower (StoreOptions::secondary_dir)
  Store* target_;
  const Rules& rules_;
  const ReplayOptions& opts_;
  EventParser parser_;
  ShardRuns runs_;
  uint64_t runs_loaded_to_ = 0;
  uint32_t file_shards_ = 1;
  // One budget for the evicted buyer and order states of all shards'
  // engines.
  std::shared_ptr<EvictedStates> evicted_states_ =
      opts_.evicted_states != nullptr ? opts_.evicted_states
                                      : std::make_shared<EvictedStates>();
  // Shard runs: the engines by shard, and the threads that run them
  // (declared after the engines: stopped before they go).
  std::map<uint32_t, std::unique_ptr<Engine>> engines_;
  std::unique_ptr<ReplayWorkers> workers_;
  // File shards.
  std::unique_ptr<FileShards> file_;
  size_t file_pending_ = 0;  // events queued since the last commit
  int64_t done_ = 0;
  int64_t total_ = 0;
  int64_t duplicates_ = 0;
  const char* phase_ = "rebuild";
  absl::Time start_;
  absl::Time last_report_ = absl::InfinitePast();
};

void Log(const ReplayOptions& opts, const std::string& line) {
  if (opts.log) opts.log(line);
}

// The live store as DIR names it now (repairing an interrupted conversion).
absl::StatusOr<GenerationRef> LiveNow(const GenerationPaths& paths) {
  std::error_code ec;
  if (!std::filesystem::exists(paths.db, ec) &&
      !std::filesystem::is_directory(paths.generations, ec)) {
    return ResolveLive(paths);  // NotFound, without leaving a lock file
  }
  auto lock = LockGenerations(paths);
  if (!lock.ok()) return lock.status();
  absl::Status s = RepairLayout(paths);
  if (!s.ok()) return s;
  return ResolveLive(paths);
}

// Makes DIR a generation, converting a plain store, and returns the live
// generation. A plain store open for writing is converted by its writer at
// its next commit (engine/live_store.h), on request: a store opened by the
// name DIR must be closed before DIR is repointed.
absl::StatusOr<GenerationRef> PrepareLayout(const GenerationPaths& paths,
                                            const std::string& version,
                                            const ReplayOptions& opts,
                                            ReplayReport* report) {
  const absl::Time deadline = absl::Now() + opts.convert_wait;
  bool asked = false;
  for (;;) {
    {
      auto lock = LockGenerations(paths);
      if (!lock.ok()) return lock.status();
      auto live = ResolveLive(paths);
      if (!live.ok()) return live.status();
      if (!live->plain) {
        report->converted = asked;
        return live;
      }
      auto busy = OpenForWriting(live->path);
      if (!busy.ok()) return busy.status();
      if (!*busy) {
        auto name = ConvertLayout(paths, version);
        if (!name.ok()) return name.status();
        report->converted = true;
        return ResolveLive(paths);
      }
      if (!asked) {
        absl::Status s = CreateMarker(paths.ConvertRequest());
        if (!s.ok()) return s;
        asked = true;
        Log(opts,
            "asking the writer of --db to move it into the generation "
            "layout at its next commit");
      }
    }
    if (absl::Now() >= deadline) {
      RemoveMarker(paths.ConvertRequest()).IgnoreError();
      return absl::FailedPreconditionError(absl::StrCat(
          "--db ", paths.db,
          " is open for writing by a process that did not move it into the "
          "generation layout within ",
          absl::FormatDuration(opts.convert_wait),
          " (an idle writer, or a build without the generation protocol). "
          "The first replay of a store needs that once: restart the writer "
          "or stop it while replay starts (docs/replay.md)."));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// A rules version names one rules content forever: reports, diffs and pay
// audits refer to figures by it. Refuses `rules` when its version already
// stood for other rules in this store's history: the live generation, the
// versions replays went through (meta rules.seen/) or a kept generation.
absl::Status CheckVersionUnused(Store& live, const std::string& db,
                                const Rules& rules) {
  const std::string json = rules.ToJson();
  std::vector<std::pair<std::string, std::string>> known;  // where, rules
  auto stored = live.Get(Family::kMeta, kMetaRules);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) known.emplace_back("the live generation", **stored);
  const std::string seen_key =
      absl::StrCat(kMetaRulesSeenPrefix, rules.version);
  auto seen = live.Get(Family::kMeta, seen_key);
  if (!seen.ok()) return seen.status();
  if (seen->has_value()) known.emplace_back("an earlier generation", **seen);
  // Generations kept before versions were recorded in meta.
  auto kept = OpenGeneration(db, rules.version);
  if (kept.ok() && !kept->live) {
    auto kept_rules = kept->store->Get(Family::kMeta, kMetaRules);
    if (kept_rules.ok() && kept_rules->has_value()) {
      known.emplace_back(absl::StrCat("kept generation ", kept->name),
                         **kept_rules);
    }
  }
  for (const auto& [where, text] : known) {
    auto parsed = ParseRules(text);
    if (!parsed.ok() || parsed->version != rules.version) continue;
    if (parsed->ToJson() != json) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rules version '", rules.version, "' already names other rules in ",
          "--db ", db, " (", where, ": ", parsed->ToJson(),
          "); give changed rules a new version"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplayReport> ReplayLocked(const GenerationPaths& paths,
                                          const Rules& rules,
                                          const ReplayOptions& opts,
                                          FileLock* replay_lock,
                                          std::string* building) {
  const absl::Time start = absl::Now();
  ReplayReport report;
  report.new_version = rules.version;

  if (auto live = LiveNow(paths); !live.ok()) return live.status();
  std::error_code ec;
  std::filesystem::create_directories(paths.generations, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("creating ", paths.generations, ": ", ec.message()));
  }
  auto acquired = FileLock::Acquire(paths.ReplayLock(), /*wait=*/false);
  if (!acquired.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("another replay of --db ", paths.db, " is running (",
                     acquired.status().message(), ")"));
  }
  *replay_lock = std::move(*acquired);
  // What crashed replays left, and old generations writers have let go.
  auto removed = CollectGenerations(paths);
  if (!removed.ok()) return removed.status();
  for (const std::string& name : *removed) {
    Log(opts, absl::StrCat("deleted leftover generation ", name));
  }

  // The follower opens first: it gives the version a plain store's
  // generation is named after, without a second open (each open replays
  // the store's write-ahead log). A plain DIR it opened by name stays the
  // same directory when converted below; it is only read before the switch.
  auto live = LiveNow(paths);
  if (!live.ok()) return live.status();
  std::optional<std::string> old_rules_json;
  StoreOptions follow;
  follow.secondary_dir = paths.SecondaryDir();
  follow.followed = {Family::kEvents, Family::kDead, Family::kMeta};
  auto follower = Store::Open(live->path, follow);
  if (!follower.ok()) return follower.status();
  {
    auto stored = (*follower)->Get(Family::kMeta, kMetaRules);
    if (!stored.ok()) return stored.status();
    report.old_version = "default";
    if (stored->has_value()) {
      auto old_rules = DecodeStoredRules(live->path, kMetaRules, **stored);
      if (!old_rules.ok()) return old_rules.status();
      report.old_version = old_rules->version;
      old_rules_json = old_rules->ToJson();
    }
  }
  if (absl::Status s = CheckVersionUnused(**follower, paths.db, rules);
      !s.ok()) {
    return s;
  }
  {
    // `chatkpi run` does not follow a switch (docs/kafka.md, "Known
    // limits"): a member would go on writing the old generation, under the
    // old rules, while DIR shows the new one without its events.
    auto owned = ReadOwnedShards(**follower);
    if (!owned.ok()) return owned.status();
    auto busy = OpenForWriting(live->path);
    if (!busy.ok()) return busy.status();
    if (owned->has_value() && *busy) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--db ", paths.db,
          " is a Kafka member's store and a `chatkpi run` has it open: run "
          "does not follow a replay's switch, and would go on writing the "
          "old generation. Stop the members, replay, then start them "
          "(docs/kafka.md)"));
    }
  }
  live = PrepareLayout(paths, report.old_version, opts, &report);
  if (!live.ok()) return live.status();
  report.old_generation = live->name;

  auto name = NewGenerationName(paths, rules.version);
  if (!name.ok()) return name.status();
  report.new_generation = *name;
  absl::Status s = CreateMarker(paths.BuildingMarker(*name));
  if (!s.ok()) return s;
  *building = *name;

  // Without a write-ahead log: a crash before the switch leaves a building
  // generation that the next replay deletes, so the log would protect
  // nothing; the generation is written out whole (Persist) before the
  // switch instead.
  StoreOptions target_opts;
  target_opts.unlogged = true;
  target_opts.fault_injection = opts.target_faults;
  auto target =
      Store::Open(paths.Generation(report.new_generation), target_opts);
  if (!target.ok()) return target.status();
  Log(opts,
      absl::StrCat("rebuilding generation ", report.old_generation, " (rules ",
                   report.old_version, ") as ", report.new_generation,
                   " (rules ", rules.version, ")"));

  auto rebuilder =
      std::make_unique<Rebuilder>(follower->get(), target->get(), rules, opts);
  s = rebuilder->Init();
  if (!s.ok()) return s;
  // The replaced rules join the history the new generation carries (the
  // earlier entries are copied with the rest of meta at the switch).
  if (old_rules_json.has_value() && report.old_version != rules.version) {
    Commit c(target->get());
    c.Put(Family::kMeta, absl::StrCat(kMetaRulesSeenPrefix, report.old_version),
          *old_rules_json);
    s = (*target)->Write(&c);
    if (!s.ok()) return s;
  }

  // The bulk pass, then catch-up rounds while writers keep committing.
  for (;;) {
    auto fresh = rebuilder->CatchUp();
    if (!fresh.ok()) return fresh.status();
    if (report.rounds > 0 &&
        (*fresh <= opts.final_threshold || report.rounds >= opts.max_rounds)) {
      break;
    }
    s = rebuilder->ApplyAll(report.rounds == 0 ? "rebuild" : "catch-up");
    if (!s.ok()) return s;
    ++report.rounds;
  }

  // Final catch-up and switch, with writers held at their next commit.
  {
    auto lock = LockGenerations(paths);
    if (!lock.ok()) return lock.status();
    const absl::Time locked = absl::Now();
    auto now = ResolveLive(paths);
    if (!now.ok()) return now.status();
    if (!now->SameAs(*live)) {
      return absl::AbortedError(
          absl::StrCat("--db ", paths.db, " was repointed to ", now->path,
                       " during the replay; nothing was switched"));
    }
    auto fresh = rebuilder->CatchUp();
    if (!fresh.ok()) return fresh.status();
    s = rebuilder->ApplyAll("final catch-up");
    if (!s.ok()) return s;
    ++report.rounds;
    s = rebuilder->CopyUnderived(&report.dead_letters);
    if (s.ok()) s = rebuilder->CommitAll();
    if (!s.ok()) return s;
    // The logs may differ in length (a conflicting copy applied in another
    // order is logged once rather than twice), never in the events they
    // hold (engine/event_count.h): each new id the rebuild met, and those
    // of the live log.
    auto live_events = EventsHeld(*follower->get());
    if (!live_events.ok()) return live_events.status();
    auto new_events = EventsHeld(**target);
    if (!new_events.ok()) return new_events.status();
    const int64_t new_ids = rebuilder->total() - rebuilder->duplicates();
    if (*new_events != new_ids || *new_events != *live_events) {
      return absl::InternalError(
          absl::StrCat("the new generation holds ", *new_events, " events (",
                       new_ids, " new ids applied), the live one ",
                       *live_events, "; nothing was switched"));
    }
    report.events = *new_events;
    {
      // What the replaced generation was at the switch (writers are held:
      // it takes no more events), for `diff` of a kept generation.
      Commit c(target->get());
      ReplacedRecord record;
      record.version = report.old_version;
      record.switched_at_ms = absl::ToUnixMillis(absl::Now());
      record.events = *new_events;
      c.Put(Family::kMeta,
            absl::StrCat(kMetaReplacedPrefix, report.old_generation),
            EncodeReplacedRecord(record));
      s = (*target)->Write(&c);
      if (!s.ok()) return s;
    }
    // Closed before the switch: writers open it as soon as the lock goes.
    // Its close starts first, beside the engines' teardown (docs/engine.md,
    // "The end of a run").
    (*target)->BeginClose();
    rebuilder.reset();
    // On disk whole before anyone can open it: a generation that cannot be
    // written out is not switched to.
    s = (*target)->Persist();
    if (!s.ok()) return s;
    target->reset();
    if (!opts.keep_old) {
      // Marked before the switch, so that a crash right after it does not
      // leave the old generation looking kept. (A crash before it leaves
      // the mark on the live generation, which is never deleted; the next
      // replay removes the stale mark.)
      s = CreateMarker(paths.RetiredMarker(report.old_generation));
      if (!s.ok()) return s;
    }
    s = SwitchLive(paths, report.new_generation);
    if (!s.ok()) return s;
    building->clear();
    report.writers_held = absl::Now() - locked;
  }
  follower->reset();
  std::filesystem::remove_all(paths.SecondaryDir(), ec);

  if (opts.keep_old) {
    report.old_kept = true;
  } else {
    // Writers notice the switch at their next commit and let go of the old
    // generation; give them a moment before leaving it to a later replay.
    const absl::Time deadline = absl::Now() + opts.retire_wait;
    for (;;) {
      auto busy = OpenForWriting(paths.Generation(report.old_generation));
      if (!busy.ok()) return busy.status();
      if (!*busy || absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    auto gone = CollectGenerations(paths);
    if (!gone.ok()) return gone.status();
    for (const std::string& n : *gone) {
      if (n == report.old_generation) report.old_deleted = true;
    }
    if (!report.old_deleted) {
      Log(opts, absl::StrCat("generation ", report.old_generation,
                             " is still open by a writer; the next replay "
                             "deletes it"));
    }
  }
  report.elapsed = absl::Now() - start;
  return report;
}

}  // namespace

absl::StatusOr<ReplayReport> Replay(const std::string& db, const Rules& rules,
                                    const ReplayOptions& opts) {
  const GenerationPaths paths = GenerationPaths::For(db);
  FileLock replay_lock;  // held until the clean-up below is done
  std::string building;
  auto report = ReplayLocked(paths, rules, opts, &replay_lock, &building);
  if (!report.ok() && !building.empty()) {
    // Not switched: the unfinished generation goes now rather than at the
    // next replay (a crash leaves it to the next replay), and the live one
    // loses the mark it got just before the switch.
    auto live = ResolveLive(paths);
    if (!live.ok() || live->name != building) {
      std::error_code ec;
      std::filesystem::remove_all(paths.Generation(building), ec);
      std::filesystem::remove_all(paths.SecondaryDir(), ec);
      RemoveMarker(paths.BuildingMarker(building)).IgnoreError();
    }
    if (live.ok() && !live->name.empty() && live->name != building) {
      RemoveMarker(paths.RetiredMarker(live->name)).IgnoreError();
    }
  }
  return report;
}

}  // namespace chatkpi

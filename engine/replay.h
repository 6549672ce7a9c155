// `chatkpi replay`: recompute all history under new rules without stopping
// the live pipeline (docs/spec.md §2, §4 replay equivalence; docs/replay.md).
//
// The event log of the live generation is read through a RocksDB secondary
// instance (the live writer keeps writing) and every event is applied, in
// log order and in the shard that first applied it, by fresh engines under
// the new rules into a new generation beside the live one. Catch-up rounds
// follow the live log until little is left; then, holding the generation
// lock (writers wait), the rest of the log, the dead letters and the source
// positions are copied and DIR is switched to the new generation atomically.
// Writers then continue in the new generation from the positions stored
// there (engine/live_store.h).
//
// A crash at any point leaves the live generation untouched; the next
// replay deletes the unfinished one and starts over.
#ifndef CHATKPI_ENGINE_REPLAY_H_
#define CHATKPI_ENGINE_REPLAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/rules.h"

namespace chatkpi {

class EvictedStates;

struct ReplayProgress {
  const char* phase = "";  // "rebuild", "catch-up", "final catch-up"
  int64_t done = 0;        // events applied to the new generation
  int64_t total = 0;       // events in the live log, as of the last look
  double events_per_s = 0;
  std::optional<absl::Duration> eta;
};

struct ReplayOptions {
  // Keep the old generation (queryable by its rules version) instead of
  // deleting it after the switch.
  bool keep_old = false;
  // Events per commit of each new engine. Longer than ingest's: a crashed
  // replay is deleted and started over, never resumed, so the commits of a
  // rebuild bound its memory, not what a crash costs (docs/replay.md).
  size_t commit_every = 300'000;
  // Each engine also commits (file shards: all together) as soon as the
  // states it holds pass this many bytes, as ingest's engines do
  // (EngineOptions::live_state_budget_bytes).
  size_t live_state_budget_bytes = kDefaultLiveStateBudgetBytes;
  // Threads that apply events (docs/replay.md, "Threads"); 1 applies them
  // all on the calling thread.
  int threads = 1;
  // The final catch-up, during which writers wait, starts once a catch-up
  // round finds at most this many new events, or after `max_rounds`.
  int64_t final_threshold = 20'000;
  int max_rounds = 20;
  // After the switch, how long to wait for writers to leave the old
  // generation before leaving it marked for deletion by a later replay.
  absl::Duration retire_wait = absl::Seconds(10);
  // The first replay of a plain store that a writer has open asks the
  // writer to move it into the generation layout; how long to wait.
  absl::Duration convert_wait = absl::Seconds(60);
  absl::Duration progress_interval = absl::Seconds(1);
  std::function<void(const ReplayProgress&)> progress;  // may be null
  std::function<void(const std::string&)> log;          // may be null
  // Tests only: the new generation's files are written through this, which
  // can make writes fail (store/fault_injection.h).
  std::shared_ptr<FaultInjection> target_faults;
  // The pool of evicted states the new generation's engines share; null
  // gives the replay a pool of its own, freed before it returns. A caller
  // about to exit passes one it keeps, so that freeing it one block at a
  // time is not on the way out (docs/engine.md, "The end of a run").
  std::shared_ptr<EvictedStates> evicted_states;
};

struct ReplayReport {
  std::string old_generation;  // generation name of the replaced store
  std::string old_version;     // its rules version
  std::string new_generation;
  std::string new_version;
  int64_t events = 0;        // the new generation holds (EventsHeld)
  int64_t dead_letters = 0;  // copied
  int rounds = 0;            // passes over the log, the final one included
  absl::Duration elapsed;
  absl::Duration writers_held;  // time the generation lock was held
  bool converted = false;       // DIR was a plain store, now a generation
  bool old_kept = false;
  bool old_deleted = false;  // false with !old_kept: a writer still had it
                             // open; a later replay deletes it
};

absl::StatusOr<ReplayReport> Replay(const std::string& db, const Rules& rules,
                                    const ReplayOptions& opts = {});

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_REPLAY_H_

// Replay on several threads of a store whose shards are independent: the
// Kafka partitions of `chatkpi run` (each its own engine, no siblings), or
// the one shard of a store taken in on one thread (docs/replay.md,
// "Threads").
//
// The caller reads the live log and adds each event with the shard that
// applied it (engine/shard_runs.h); events are queued in batches, and while
// the worker threads apply one batch the caller fills the next. Shard s is
// applied by worker s % threads, its events in the order added, so every
// engine sees exactly the sequence it would on one thread. An engine
// commits, on its worker, once `commit_every` events are pending; commits
// take turns (a commit reads the store's next seq and counters before it
// writes, engine/engine.h CommitTogether).
#ifndef CHATKPI_ENGINE_REPLAY_WORKERS_H_
#define CHATKPI_ENGINE_REPLAY_WORKERS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "ingest/event.h"
#include "ingest/event_parser.h"

namespace chatkpi {

class ReplayWorkers {
 public:
  // The engine of a shard, opened on first use; called on the caller's
  // thread, with no commit in progress.
  using EngineFor = std::function<absl::StatusOr<Engine*>(uint32_t shard)>;

  // `parse_here`: the caller's thread parses each event as it is added
  // (it has time to spare when one shard does all the applying); else its
  // worker does.
  ReplayWorkers(int threads, size_t commit_every, bool parse_here,
                EngineFor engine_for);
  ~ReplayWorkers();
  ReplayWorkers(const ReplayWorkers&) = delete;
  ReplayWorkers& operator=(const ReplayWorkers&) = delete;

  // Queues logged event `seq` for `shard`'s engine. An event that does not
  // parse is DataLoss (the log only holds events that parsed).
  absl::Status Add(uint64_t seq, uint32_t shard, std::string_view raw);
  // Applies everything added; returns once every worker is idle. After an
  // error everything is refused.
  absl::Status Drain();
  // Events whose id was held, so far: redeliveries, and copies that lost
  // to the held one or replaced it.
  int64_t duplicates() const { return duplicates_; }

 private:
  struct Batch {
    std::string raw;  // the events' bytes back to back
    std::vector<size_t> end;
    std::vector<uint64_t> seq;
    std::vector<Engine*> engine;
    std::vector<Event> events;  // parsed by the caller (parse_here)
    std::vector<std::vector<uint32_t>> by_worker;
    size_t count = 0;
  };
  struct Worker {
    EventParser parser;
    Event event;
    int64_t duplicates = 0;
    absl::Status status;
  };

  // Waits for the running batch, then starts the workers on the filled one.
  absl::Status Dispatch();
  absl::Status Wait();
  void Work(int worker);
  void WorkerLoop(int worker);

  const int threads_;
  const size_t commit_every_;
  const bool parse_here_;
  EngineFor engine_for_;
  EventParser parser_;
  // The engine of the last event added: shard runs are long.
  uint32_t last_shard_ = 0;
  Engine* last_engine_ = nullptr;
  Batch batches_[2];
  int filling_ = 0;
  int running_ = -1;  // the batch the workers have, if any
  int64_t duplicates_ = 0;
  absl::Status failed_;
  std::vector<Worker> workers_state_;

  // Commits, and the opening of engines, one at a time.
  std::mutex commit_mu_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  uint64_t round_ ABSL_GUARDED_BY(mu_) = 0;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_list_;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_REPLAY_WORKERS_H_

// File input on several threads: the events of files are sharded by buyer,
// as Kafka partitions are, and each shard's engine runs on a thread of its
// own (docs/engine.md, "Parallel ingest").
//
// * A store has a fixed number of file shards, recorded in `meta` when its
//   first events are taken in (kMetaFileShards). A store created with one
//   thread, or by a build before shards, has one: shard 0, today's layout.
//   Any number of threads runs any number of shards (shard s on thread
//   s % threads), so a later run with another --threads maps every buyer
//   to the same shard.
// * An event belongs to the shard of its buyer (an assessment, which has
//   none, to that of its agent): FileShardOf.
// * The caller parses and validates on its thread and queues the events
//   into a batch; Submit hands the batch to the shards' threads (`threads`
//   of them, beside the caller) and returns at once, so that the caller
//   parses the next batches while they apply this one: each shard's events
//   in their order, in parallel. The threads take the shards of a batch
//   one at a time, the largest first, so that a thread that is done early
//   takes on another shard instead of waiting. Anything that involves two
//   shards — a copy of an id held with other bytes, an order whose state
//   another shard holds — is deferred (Engine::ApplyBesideSiblings) and
//   applied after the parallel part, with every shard idle, in queue order
//   (Engine::Apply with ShardSiblings), before the next batch starts.
// * An order's state lives in the shard of its buyer of record, the buyer
//   of its first event by (ts, id) (docs/spec.md §3), whose chats its
//   attribution reads. An event that gives the order a buyer of another
//   shard moves its state there (Engine::ChangeOrderAcrossShards); this
//   class keeps which shard holds each order (OrderShard, SetOrderShard).
// * Dead letters go to shard 0.
// * Commit writes every shard's pending commit and the source positions as
//   one atomic store write (Engine::CommitTogether): whatever the instant
//   of a crash, the store holds all of a commit or none of it, and resuming
//   reads again exactly what is not in it.
#ifndef CHATKPI_ENGINE_FILE_SHARDS_H_
#define CHATKPI_ENGINE_FILE_SHARDS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "engine/line_arena.h"
#include "ingest/event.h"
#include "store/store.h"

namespace chatkpi {

// Meta key: the store's number of file shards, as decimal text.
inline constexpr char kMetaFileShards[] = "file_shards";
// The shards of a store created by a run with more than one thread: enough
// for the cores of a large machine, few enough that each shard's commit
// stays large.
inline constexpr uint32_t kFileShardsOfParallelStore = 8;

// The store's file shards: as recorded; 1 when none is recorded and the
// store holds events (an earlier build's, or created with one thread). A
// store without events and no record gets `for_new_store`, recorded.
absl::StatusOr<uint32_t> FileShardsOf(Store& store, uint32_t for_new_store);

// The shard of `e` among `shards`: by buyer, an assessment by agent.
uint32_t FileShardOf(const Event& e, uint32_t shards);
// The shard of the events of buyer `buyer` (of an agent's assessments).
uint32_t FileShardOfBuyer(std::string_view buyer, uint32_t shards);

class FileShards : public ShardSiblings {
 public:
  // Engines for shards 0..shards-1 on `store` under `rules`, each with
  // `base` but its own shard; `threads` threads of their own run them
  // while the caller queues the next batch.
  static absl::StatusOr<std::unique_ptr<FileShards>> Open(
      const Rules& rules, Store* store, const EngineOptions& base,
      uint32_t shards, int threads);
  ~FileShards() override;

  // Queueing, on the caller's thread. Parse the next event into Slot(),
  // then Push it with its raw line (copied) and where it was read (its
  // prefix must stay valid until the batch is applied: Wait).
  Event& Slot();
  void Push(std::string_view raw, EventPosition position);
  // Push without a copy of the raw line: `raw`, like the position's
  // prefix, must stay valid until the batch is applied: until Wait
  // returns, or completed() reaches the submitted() its Submit returned
  // with.
  void PushView(std::string_view raw, EventPosition position);
  void PushDeadLetter(DeadLetter d);
  size_t queued() const;
  // Drops what is queued and not yet submitted (a generation switch:
  // applied again elsewhere).
  void ClearQueue();

  struct Counts {
    int64_t accepted = 0;
    int64_t duplicates = 0;
    int64_t dead_letters = 0;
  };

  // The pipeline (docs/engine.md, "Parallel ingest"). Submit hands what is
  // queued to the shards' threads, behind the batches handed over before
  // (kBatches - 1 at most wait or are in flight: Submit waits for room),
  // and returns: they apply the batches in order, each one's events, then
  // its deferred events and dead letters, and when `positions` is not null
  // prepare every shard's commit with those ((source, value) pairs), which
  // a thread of its own writes as one store write while they apply the
  // next batch. The caller queues the next batch meanwhile. Wait returns
  // when no batch is waiting or in flight, WaitWritten when the last
  // commit is written too. All three return the first error of any batch
  // or commit write; after it nothing more is applied or committed (the
  // shards refuse everything, as an engine does, and skip the batches
  // handed over after it), so neither a failed batch nor any after a
  // failed write is committed. When Submit returns OK, `after` (if any)
  // runs once the batch is done, whether it succeeded, failed or was
  // skipped — a batch with a commit: once the commit is written or failed
  // — on a thread of the shards': a commit gate is left there, so that a
  // reader blocked on its input never holds it.
  absl::Status Submit(
      const std::vector<std::pair<std::string, std::string>>* positions,
      std::function<void()> after = nullptr);
  absl::Status Wait();
  absl::Status WaitWritten();
  // What became of the batches applied since the last call.
  Counts TakeCounts();
  // Batches handed over by Submit so far (not counting those with nothing
  // to apply), and those of them done (applied, failed or skipped): the
  // memory a batch reads may be reused once completed() reaches the
  // submitted() that Submit returned with.
  uint64_t submitted() const;
  uint64_t completed() const;

  // Submit and WaitWritten: applies everything queued; adds what became of
  // it (and of a batch still in flight) to `counts`.
  absl::Status Run(Counts* counts);
  // Run, then writes every shard's commit with `positions` ((source, value)
  // pairs) as one store write.
  absl::Status Commit(
      const std::vector<std::pair<std::string, std::string>>& positions,
      Counts* counts);

  uint32_t shards() const { return static_cast<uint32_t>(engines_.size()); }
  int threads() const { return threads_; }
  // The sum over the shards' engines.
  EngineStats stats() const;
  // Whether the states the shards hold exceed the state budget of the
  // EngineOptions given to Open (shared by the shards): time to commit.
  bool OverStateBudget() const;

  // ShardSiblings.
  uint32_t ShardOf(const Event& e) const override;
  uint32_t ShardOfBuyer(std::string_view buyer) const override;
  Engine* Sibling(uint32_t shard) override { return engines_[shard].get(); }
  absl::StatusOr<uint32_t> OrderShard(std::string_view order,
                                      uint32_t shard) override;
  void SetOrderShard(std::string_view order, uint32_t shard) override;
  absl::Status CommitAll() override;

 private:
  FileShards() = default;
  // Run and Commit: Submit, Wait, then the counts added to `counts`.
  absl::Status SubmitAndWait(
      const std::vector<std::pair<std::string, std::string>>* positions,
      Counts* counts);

  enum Result : uint8_t { kNew, kDuplicate, kDeferred };
  // A batch: events parsed into slots (reused, so that their strings keep
  // their memory), their raw lines (views: of the caller's memory, or of
  // `copies`), where they were read, and per shard the indices of its
  // events in queue order.
  struct Batch {
    std::vector<Event> slots;
    size_t count = 0;
    std::vector<std::string_view> raw;
    LineArena copies;  // the raw lines given to Push
    std::vector<EventPosition> positions;
    std::vector<std::vector<uint32_t>> by_shard;
    // Beside each of by_shard's: 0, or for a chat that counts, a key of
    // its buyer (a part of its hash, never 0) by which Work groups them.
    std::vector<std::vector<uint32_t>> chat_keys;
    // Per shard: the newest event time queued, and how many events came
    // earlier than the newest before them.
    std::vector<int64_t> newest_ts;
    std::vector<uint32_t> late;
    std::vector<Result> results;
    std::vector<DeadLetter> dead_letters;
    // Whether the batch ends with a commit, and its source positions.
    bool commit = false;
    std::vector<std::pair<std::string, std::string>> commit_positions;
    std::function<void()> after;  // run when the batch is done

    std::string_view Raw(size_t i) const { return raw[i]; }
    void Clear();
  };

  // Applies the events of `b` of the shards thread `worker` takes
  // (shard_order_ from next_shard_ on, one at a time).
  void Work(int worker, Batch& b);
  // What the workers do with the batch in flight, each for its shards:
  // apply its events, prepare their commits (Engine::PrepareCommit, sealed)
  // or clear them after the write (Engine::Committed).
  enum class Phase : uint8_t { kApply, kPrepare, kCommitted };
  void DoPhase(int worker, Phase phase, Batch& b);
  // On worker 0: starts the others on `phase`, does its part, and returns
  // once every worker is done, with the first error of any.
  absl::Status RunPhase(Phase phase, Batch& b);
  // Worker 0's part done: waits for the others; their first error.
  absl::Status JoinPhase();
  // Engine::CommitTogether of every shard with the per-shard steps on the
  // workers (worker 0, every shard idle), its write handed to writer_.
  absl::Status CommitInParallel(Batch& b);
  // Waits for the commit being written, if any; the first failed write.
  absl::Status WaitForWrite();
  // The first failed write so far, without waiting.
  absl::Status WriteFailure();
  void WriterLoop();
  // With every shard idle: the deferred events of `b` in queue order, its
  // dead letters, and its commit. Adds what became of them to `counts`.
  absl::Status ApplyDeferred(Batch& b, Counts* counts);
  void WorkerLoop(int worker);

  Store* store_ = nullptr;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::vector<Engine*> all_;  // engines_, for CommitTogether
  int threads_ = 1;
  // Whether the store held events when opened: only then can an order's
  // state be in the store under another shard than this run gave it.
  bool store_had_events_ = false;

  // The caller queues into batches_[fill_]; those handed over wait in
  // order from batches_[head_] on (queued_ of them, the first one in
  // flight). Three: the one being filled, the one in flight and one
  // waiting, so that the shards start the next batch as soon as they are
  // done with one, without waiting for the caller to hand it over.
  static constexpr int kBatches = 3;
  Batch batches_[kBatches];
  int fill_ = 0;

  // Which shard holds each order's state, for the orders of this run (and
  // those found in the store), in stripes with a lock each. Moves (every
  // shard idle) update it.
  struct OrderStripe {
    std::mutex mu;
    absl::flat_hash_map<std::string, uint32_t> shard ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kOrderStripes = 64;
  std::unique_ptr<OrderStripe[]> orders_ =
      std::make_unique<OrderStripe[]>(kOrderStripes);

  // The worker threads. Worker 0 takes the batches handed over through
  // their phases, starting the others on each (RunPhase).
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::condition_variable start_, done_, handed_;
  int head_ ABSL_GUARDED_BY(mu_) = 0;
  int queued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  Batch* inflight_ ABSL_GUARDED_BY(mu_) = nullptr;  // in a phase
  // The number of the phase in flight: a new one starts the workers.
  uint64_t round_ ABSL_GUARDED_BY(mu_) = 0;
  // The shards of the batch in flight, largest first, and the index of
  // the next one to take (kApply).
  std::vector<uint32_t> shard_order_;
  std::atomic<size_t> next_shard_ = 0;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kApply;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;  // workers still applying it
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  Counts counts_ ABSL_GUARDED_BY(mu_);
  // Each worker's error in the batch in flight (its own slot).
  std::vector<absl::Status> worker_status_;
  // A buyer's chats among a shard's events of a batch, counted together
  // at the last of them (Engine::ApplyChats). By their buyer's key, in an
  // open-addressed table of at least twice as many slots as events: two
  // buyers with one key (one in 2^32) are one group, which ApplyChats
  // splits.
  struct ChatGroups {
    std::vector<uint32_t> keys;   // by slot: the key held there, or 0
    std::vector<uint32_t> total;  // the chats that count
    std::vector<uint32_t> left;   // of them, those not yet claimed
    std::vector<int32_t> head;    // the last one held, or -1
    // Each chat held and the one held before it in its slot (or -1).
    std::vector<std::pair<const Event*, int32_t>> held;
    std::vector<const Event*> group;  // a slot's, handed to ApplyChats
  };
  std::vector<ChatGroups> chat_groups_;  // each worker's

  // The writer thread: writes a batch's commit (one at a time) while the
  // workers apply the next batch, then runs the batch's `after`.
  std::thread writer_;
  std::mutex write_mu_;
  std::condition_variable write_start_, write_done_;
  bool write_pending_ ABSL_GUARDED_BY(write_mu_) = false;
  bool writer_stop_ ABSL_GUARDED_BY(write_mu_) = false;
  std::vector<chatkpi::Commit*> write_commits_ ABSL_GUARDED_BY(write_mu_);
  std::function<void()> write_after_ ABSL_GUARDED_BY(write_mu_);
  absl::Status write_failed_ ABSL_GUARDED_BY(write_mu_);
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_FILE_SHARDS_H_

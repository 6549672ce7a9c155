#include "engine/kafka_ingest.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/json_text.h"
#include "engine/changelog.h"
#include "engine/engine.h"
#include "engine/owned_shards.h"
#include "engine/state_topic.h"
#include "ingest/event_parser.h"
#include "ingest/kafka_config.h"
#include "ingest/kafka_producer.h"

namespace chatkpi {
namespace {

// A partition's position source is "kafka/TOPIC/PARTITION".
constexpr char kKafkaSourcePrefix[] = "kafka/";

constexpr absl::Duration kPollTimeout = absl::Milliseconds(100);
constexpr absl::Duration kDlqFlushTimeout = absl::Seconds(30);
// With several threads: a worker's messages are handed over in batches of
// this many (a few milliseconds of its work) ...
constexpr size_t kBatchMessages = 2048;
// ... or once librdkafka has nothing more fetched, or when the oldest was
// polled this long ago (a throttled or trickling stream).
constexpr absl::Duration kBatchAge = absl::Milliseconds(20);
// Batches handed to a worker and not yet applied: the polling thread waits
// for the worker beyond this (librdkafka keeps prefetching meanwhile, up to
// its own queue bound).
constexpr size_t kBatchesInFlight = 4;
// Once nothing more is fetched (librdkafka's queue is empty), a backlog of
// at least this many messages since the last commit is committed at once
// rather than at the next `commit_interval` tick: catching up ends with
// the engines committing while the consumer still waits for the brokers
// to confirm the partitions' ends (up to fetch.wait.max.ms), and a burst
// is durable as soon as it is applied. A trickle (fewer messages between
// empty polls) keeps committing on the tick.
constexpr int64_t kDrainedCommitMessages = 4096;

class KafkaIngest : public KafkaRebalanceListener {
 public:
  KafkaIngest(const Rules& rules, Store* store, const KafkaIngestOptions& opts,
              KafkaIngestReport* report)
      : rules_(rules), store_(store), opts_(opts), report_(report) {
    topics_[0] = opts.chat_topic;
    topics_[1] = opts.order_topic;
    const size_t n = static_cast<size_t>(std::max(1, opts.threads));
    for (size_t i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<Worker>());
      workers_.back()->filling = std::make_unique<Batch>();
      // One budget for all engines, split between the workers' own sets.
      evicted_states_.push_back(
          n == 1 ? std::make_shared<EvictedStates>()
                 : std::make_shared<EvictedStates>(
                       EvictedStates::kDefaultBudgetBytes / n));
    }
  }
  ~KafkaIngest() override {
    // Leave the group (committing what is safe to commit) while this object
    // is still whole: closing calls OnRevoke.
    if (consumer_ != nullptr) consumer_->Close().IgnoreError();
    StopWorkers();
  }

  absl::Status Run();

  absl::Status OnAssign(std::vector<KafkaPartition>* partitions) override;
  // Refuses topics whose partition count differs from the store's.
  absl::Status PartitionCountChanged(int now) const;
  absl::Status OnRevoke(const std::vector<KafkaPartition>& partitions,
                        bool lost) override;

 private:
  // One input partition number: its engine, fed by partition p of both
  // topics.
  struct Shard {
    std::unique_ptr<Engine> engine;
    bool dirty = false;        // applied or skipped messages since commit
    bool dlq_pending = false;  // dead letters produced since commit
    // With a changelog: this member's owner epoch of the partition, and the
    // partition's dead letters in the store (published with the epoch).
    int64_t epoch = 0;
    int64_t dead_letters = 0;
    bool dead_letters_changed = false;  // since the last publish
    // With a state topic: the generation this member took the partition
    // in, and whether the topic holds its whole history.
    int64_t state_epoch = 0;
    bool state_complete = true;
    int64_t state_records = 0;  // StatePositions::records
  };
  // One assigned topic partition.
  struct Partition {
    int64_t next = kKafkaOffsetBeginning;  // the next offset to apply
    // The next offset to poll: ahead of `next` by the messages polled and
    // not yet applied (several threads only).
    int64_t polled = kKafkaOffsetBeginning;
    int64_t last_applied = -1;  // -1: none since assignment
    bool moved = false;         // last_applied not committed
    bool at_end = false;
    int64_t accepted_uncommitted = 0;  // for opts_.on_ingested
  };
  using PartitionKey = std::pair<int, int32_t>;  // (topic index, partition)

  // What a worker counted, added to the report after each round.
  struct Tally {
    int64_t accepted = 0;
    int64_t duplicates = 0;
    int64_t dead_letters = 0;
    int64_t misrouted = 0;
  };
  // A polled data message waiting for its worker; key and value are in its
  // batch's `bytes` (the consumer's views die at the next poll).
  struct Queued {
    int topic;
    Partition* partition;  // map nodes stay put; rebalances apply first
    Shard* shard;
    int32_t number;
    int64_t offset;
    size_t begin;
    size_t key_size;
    size_t value_size;
  };
  // Messages for one worker, applied in order; then, with `commit`, the
  // worker commits every shard it owns.
  struct Batch {
    std::string bytes;
    std::vector<Queued> queued;
    bool commit = false;
    void Clear() {
      bytes.clear();
      queued.clear();
      commit = false;
    }
  };
  // One applying thread and the shards it owns (partition % threads): the
  // engines of a shard are only ever used by its worker while it has
  // batches, and by the polling thread once every worker is at rest
  // (Quiesce).
  struct Worker {
    // The worker thread's own (read by the polling thread at rest).
    EventParser parser;
    Event event;
    Tally tally;
    absl::Status status;  // the first failure
    // The polling thread's: the batch being filled.
    std::unique_ptr<Batch> filling;
    // Handed over, the front one being applied (guarded by pool_mu_).
    std::deque<std::unique_ptr<Batch>> inbox;
    std::vector<std::unique_ptr<Batch>> spare;  // applied, for reuse
  };

  void Log(const std::string& line) const {
    std::lock_guard lock(log_mu_);
    if (opts_.log) {
      opts_.log(line);
    } else {
      std::cerr << "chatkpi run: " << line << "\n";
    }
  }

  std::string Source(int topic, int32_t partition) const {
    return absl::StrCat(kKafkaSourcePrefix, topics_[topic], "/", partition);
  }
  std::string PartitionName(const PartitionKey& k) const {
    return absl::StrCat(topics_[k.first], "/", k.second);
  }
  int TopicIndex(std::string_view topic) const {
    if (topic == topics_[0]) return 0;
    if (topic == topics_[1]) return 1;
    return -1;
  }

  // Records the first failure (and sets failed_); returns `s`.
  absl::Status Fail(absl::Status s) {
    std::lock_guard lock(failure_mu_);
    if (failure_.ok()) failure_ = s;
    failed_ = true;
    return s;
  }
  absl::Status Handle(const KafkaMessage& m);
  // Parses and applies one data message in its shard's engine (committing
  // it when `commit_every` is reached) on worker `w`'s thread.
  absl::Status ApplyMessage(Worker& w, int topic, int32_t number,
                            int64_t offset, std::string_view key,
                            std::string_view value, Partition& p, Shard& shard);
  void AddTally(Worker& w);
  // Several threads: hands worker `i`'s filling batch over (waiting while
  // it has kBatchesInFlight), with `commit` marked for a commit of its
  // shards after it.
  void Send(size_t i, bool commit);
  // Every worker's filling batch (with `commit`: even an empty one).
  void SendAll(bool commit);
  // Several threads: hands every batch over and waits until every worker
  // has applied all of them; then the engines are at rest for the polling
  // thread. Returns the first worker failure. Before anything else touches
  // an engine.
  absl::Status Quiesce();
  // Offsets the workers committed, told to the consumer (which is not
  // thread-safe) by the polling thread.
  void TellInformational();
  void ApplyBatch(size_t i, Batch& batch);
  void WorkerLoop(size_t i);
  void StartWorkers();
  void StopWorkers();
  size_t WorkerOf(int32_t shard) const {
    return static_cast<size_t>(shard) % workers_.size();
  }
  void PublishRows(const std::vector<RowChange>& rows);
  void PublishChangelog(int64_t epoch, std::string_view key,
                        std::string_view value);
  // Takes the partition's changelog over for a new owner epoch
  // (engine/changelog.h): the reset marker, then every row the store holds
  // for it and its dead-letter count. Values are whole, so what a crash
  // between a commit and its messages lost is published again here.
  absl::Status TakeOverChangelog(int32_t shard, int32_t generation);
  // True when this member owned partition `number` in the previous
  // generation and gave it back cleanly: nobody else owned it in between.
  bool KeptSinceLastGeneration(int32_t number, int32_t generation) const {
    return last_generation_ >= 0 && generation == last_generation_ + 1 &&
           last_assigned_.contains(number);
  }
  absl::Status RepublishShard(int32_t shard);
  absl::StatusOr<int64_t> CountDeadLetters(int32_t shard);
  void FlushChangelog();
  // On worker `w`'s thread, or (null) on the polling thread.
  absl::Status CommitShard(int32_t shard, Worker* w = nullptr);
  // Commits every shard; with several threads, unless `wait`, without
  // waiting for the workers (which commit after what they have).
  absl::Status CommitAll(bool wait);
  absl::Status WriteOwnedShards();
  absl::Status CheckTopics();
  bool CaughtUp() const;
  // A backlog (kDrainedCommitMessages) polled since the last commit, which
  // was at least a tenth of the commit interval ago: commit it as soon as
  // nothing more is fetched.
  bool DrainedCommitDue(absl::Time now) const {
    return polled_since_commit_ >= kDrainedCommitMessages &&
           now - last_commit_ >= opts_.commit_interval / 10;
  }
  // Logs throughput and lag, and stores them as kMetaKafkaStats.
  absl::Status Progress(absl::Time now);
  void Throttle();

  const Rules& rules_;
  Store* store_;
  const KafkaIngestOptions& opts_;
  KafkaIngestReport* report_;
  std::string topics_[2];

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;  // one per worker (several threads)
  std::mutex pool_mu_;
  // Signalled when a worker's inbox gets a batch (workers wait on it) and
  // when it applied one (the polling thread waits on it).
  std::condition_variable batch_sent_, batch_done_;
  bool quit_ ABSL_GUARDED_BY(pool_mu_) = false;
  size_t filling_ = 0;               // messages in the filling batches
  int64_t polled_since_commit_ = 0;  // data messages since CommitAll
  absl::Time first_filled_;

  // Engines commit one at a time: a commit reads counters the store's
  // engines share (dead letters, the event log's next seq) before writing.
  std::mutex commit_mu_;
  // The producers, the caller's hooks and the consumer's offsets: one
  // thread at a time.
  std::mutex side_mu_;
  // Offsets committed by the workers, for TellInformational.
  std::vector<KafkaPartition> informational_ ABSL_GUARDED_BY(side_mu_);
  std::atomic<bool> informational_pending_{false};
  mutable std::mutex log_mu_;
  std::atomic<bool> misrouted_warned_{false};
  std::unique_ptr<KafkaProducer> dlq_;
  std::unique_ptr<KafkaProducer> changelog_;
  std::unique_ptr<StateTopicPublisher> state_;
  // The generation of this member's last assignment (-1: none), and the
  // partitions of that assignment it gave back cleanly: a partition
  // assigned again in the next generation had no other owner in between,
  // so it keeps its owner epoch (no reset, no republishing).
  int32_t last_generation_ = -1;
  // The topics' partition count the store was built from (CheckTopics);
  // 0 when the broker did not say.
  int partition_count_ = 0;
  std::set<int32_t> last_assigned_;
  std::map<int32_t, int64_t> owner_epochs_;  // by partition, this process's
  // With a state topic: a dropped shard's state_* fields, by partition, for
  // taking it back in the next generation without reading the topic.
  struct StateKept {
    int64_t epoch = 0;
    bool complete = true;
    int64_t records = 0;
  };
  std::map<int32_t, StateKept> state_kept_;
  // "epoch", "rules", then "group" (engine/changelog.h).
  std::vector<KafkaHeader> changelog_headers_{{kChangelogEpochHeader, ""},
                                              {kChangelogRulesHeader, ""},
                                              {kChangelogGroupHeader, ""}};
  std::set<std::pair<int, int32_t>> warned_gaps_;  // (topic, partition)
  std::map<int32_t, Shard> shards_;
  // Where the engines of each worker keep evicted buyer and order states
  // (EvictedStates is not thread-safe); one budget in all.
  std::vector<std::shared_ptr<EvictedStates>> evicted_states_;
  std::map<PartitionKey, Partition> partitions_;
  // Set when the engines may hold half-applied state: never commit then.
  std::atomic<bool> failed_{false};
  std::mutex failure_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(failure_mu_);  // the first one
  bool assigned_once_ = false;
  // Between a revocation and the next assignment: owning nothing then is
  // not being caught up (--until-caught-up would leave the group with the
  // partitions about to be handed out unread).
  bool awaiting_assignment_ = false;
  bool caught_up_logged_ = false;
  bool waiting_logged_ = false;
  absl::Time last_commit_ = absl::Now();
  absl::Time last_message_ = absl::Now();
  absl::Time last_progress_ = absl::Now();
  int64_t messages_at_last_progress_ = 0;
  double events_per_s_ = 0;
  absl::Time throttle_start_ = absl::InfinitePast();
  int64_t throttle_count_ = 0;
  std::string last_error_;
  absl::Time last_error_time_ = absl::InfinitePast();
  // Last: closing it calls back into this object.
  std::unique_ptr<KafkaConsumer> consumer_;
};

absl::Status KafkaIngest::OnAssign(std::vector<KafkaPartition>* partitions) {
  if (absl::Status s = Quiesce(); !s.ok()) return s;
  if (failed_) return absl::AbortedError("consumer failed");
  int32_t generation = -1;
  if (changelog_ != nullptr || state_ != nullptr) {
    auto g = consumer_->GenerationId();
    if (!g.ok()) return g.status();
    generation = *g;
  }
  // A buyer's chats and orders meet in one engine only if partition p of
  // both topics comes to the same member, which the range assignor does
  // when every member subscribes to the same two topics (docs/kafka.md). A
  // member naming another order topic (a typo) gets every partition of its
  // own topic, and two members then both count partitions as their own.
  std::set<int32_t> assigned[2];
  for (const KafkaPartition& kp : *partitions) {
    const int topic = TopicIndex(kp.topic);
    if (topic < 0) {
      return absl::InternalError(
          absl::StrCat("assigned unexpected topic ", kp.topic));
    }
    assigned[topic].insert(kp.partition);
  }
  if (assigned[0] != assigned[1]) {
    return absl::FailedPreconditionError(absl::StrCat(
        "consumer group ", opts_.consumer.group, " assigned this member ",
        topics_[0], " partitions [", absl::StrJoin(assigned[0], " "), "] but ",
        topics_[1], " partitions [", absl::StrJoin(assigned[1], " "),
        "]: partition p of both topics must go to one member. Every member "
        "of the group must name the same chat and order topics "
        "(--chat-topic, --order-topic), and both topics need as many "
        "partitions"));
  }
  // Partitions added to the topics while the member runs.
  if (partition_count_ > 0 && !assigned[0].empty() &&
      *assigned[0].rbegin() >= partition_count_) {
    return PartitionCountChanged(*assigned[0].rbegin() + 1);
  }
  std::vector<std::string> names;
  for (KafkaPartition& kp : *partitions) {
    const int topic = TopicIndex(kp.topic);
    Shard& shard = shards_[kp.partition];
    if (shard.engine == nullptr) {
      EngineOptions eo;
      eo.shard = static_cast<uint32_t>(kp.partition);
      eo.evicted_states = evicted_states_[WorkerOf(kp.partition)];
      auto engine = Engine::Open(rules_, store_, eo);
      if (!engine.ok()) return engine.status();
      shard.engine = std::move(*engine);
      auto kept = state_kept_.find(kp.partition);
      if (state_ != nullptr && kept != state_kept_.end() &&
          KeptSinceLastGeneration(kp.partition, generation)) {
        // The topic's newest state of the partition is this store's.
        shard.state_epoch = kept->second.epoch;
        shard.state_complete = kept->second.complete;
        shard.state_records = kept->second.records;
      } else if (state_ != nullptr) {
        // Before the rows are republished and the partition is read.
        const std::string sources[2] = {Source(0, kp.partition),
                                        Source(1, kp.partition)};
        auto took = TakeOverPartitionState(
            opts_.consumer.client, opts_.state_topic, kp.partition, generation,
            sources, opts_.commit_every, shard.engine.get(),
            [this](const std::string& line) { Log(line); });
        if (!took.ok()) return took.status();
        shard.state_epoch = generation;
        shard.state_complete = took->complete;
        shard.state_records = took->state_records;
      }
      if (changelog_ != nullptr) {
        shard.engine->set_commit_listener(
            [this](const std::vector<RowChange>& rows) { PublishRows(rows); });
        auto dead = CountDeadLetters(kp.partition);
        if (!dead.ok()) return dead.status();
        shard.dead_letters = *dead;
        absl::Status s = TakeOverChangelog(kp.partition, generation);
        if (!s.ok()) return s;
      }
    }
    const PartitionKey key(topic, kp.partition);
    auto [it, inserted] = partitions_.try_emplace(key);
    Partition& p = it->second;
    if (inserted) {
      auto stored = shard.engine->GetPosition(Source(topic, kp.partition));
      if (!stored.ok()) return stored.status();
      int64_t last = -1;
      if (stored->has_value() && !absl::SimpleAtoi(**stored, &last)) {
        return absl::DataLossError(
            absl::StrCat("stored position of ", kp.topic, "/", kp.partition,
                         " is corrupt: '", **stored, "'"));
      }
      p.next = last >= 0 ? last + 1 : kKafkaOffsetBeginning;
    }
    p.at_end = false;
    p.polled = p.next;
    kp.offset = p.next;
    names.push_back(absl::StrCat(
        kp.topic, "/", kp.partition, "@",
        p.next >= 0 ? absl::StrCat(p.next) : std::string("beginning")));
  }
  last_generation_ = generation;
  last_assigned_.clear();
  for (const auto& [number, shard] : shards_) last_assigned_.insert(number);
  assigned_once_ = true;
  awaiting_assignment_ = false;
  caught_up_logged_ = false;
  last_message_ = absl::Now();
  ++report_->rebalances;
  absl::Status s = WriteOwnedShards();
  if (!s.ok()) return s;
  Log(absl::StrCat("assigned ", partitions->size(), " partitions",
                   names.empty() ? "" : ": ", absl::StrJoin(names, " ")));
  return absl::OkStatus();
}

absl::Status KafkaIngest::OnRevoke(
    const std::vector<KafkaPartition>& partitions, bool lost) {
  // Committing is right even when the partitions were lost to another
  // member: this store is private, and its state stays consistent with its
  // own stored offsets; ownership (not the rows) says what counts here.
  // What was polled from them is applied first, as with one thread.
  if (absl::Status s = Quiesce(); !s.ok()) return s;
  std::set<int32_t> touched;
  for (const KafkaPartition& kp : partitions) touched.insert(kp.partition);
  // Lost partitions may have had another owner already.
  if (lost) {
    for (int32_t shard : touched) last_assigned_.erase(shard);
  }
  if (!failed_) {
    for (int32_t shard : touched) {
      absl::Status s = CommitShard(shard);
      if (!s.ok()) return s;
    }
  }
  // The new owner's rows must not be overtaken by ours still in flight.
  FlushChangelog();
  for (const KafkaPartition& kp : partitions) {
    partitions_.erase(PartitionKey(TopicIndex(kp.topic), kp.partition));
  }
  for (int32_t shard : touched) {
    bool still_assigned = false;
    for (int t = 0; t < 2; ++t) {
      still_assigned |= partitions_.contains(PartitionKey(t, shard));
    }
    if (still_assigned) continue;
    auto it = shards_.find(shard);
    if (it == shards_.end()) continue;
    if (state_ != nullptr && !failed_) {
      const Shard& s = it->second;
      state_kept_[shard] = {s.state_epoch, s.state_complete, s.state_records};
    }
    shards_.erase(it);
  }
  awaiting_assignment_ = true;
  Log(absl::StrCat(lost ? "lost " : "revoked ", partitions.size(),
                   " partitions (state committed)"));
  return absl::OkStatus();
}

absl::Status KafkaIngest::WriteOwnedShards() {
  std::vector<uint32_t> owned;
  for (const auto& [key, p] : partitions_) owned.push_back(key.second);
  Commit c(store_);
  PutOwnedShards(&c, owned);
  return store_->Write(&c);
}

absl::Status KafkaIngest::CommitShard(int32_t shard_number, Worker* w) {
  auto it = shards_.find(shard_number);
  if (it == shards_.end()) return absl::OkStatus();
  Shard& shard = it->second;
  if (!shard.dirty) return absl::OkStatus();
  if (shard.dlq_pending && dlq_ != nullptr) {
    // The DLQ copy must be out before the position moves past it.
    absl::Status s;
    {
      std::lock_guard lock(side_mu_);
      s = dlq_->Flush(kDlqFlushTimeout);
    }
    if (!s.ok()) {
      Log(absl::StrCat("dead letter queue ", opts_.dlq_topic, ": ", s.message(),
                       " (dead letters are kept in the store)"));
    }
    shard.dlq_pending = false;
  }
  std::vector<KafkaPartition> informational;
  for (int t = 0; t < 2; ++t) {
    auto p = partitions_.find(PartitionKey(t, shard_number));
    if (p == partitions_.end() || !p->second.moved) continue;
    shard.engine->SetPosition(Source(t, shard_number),
                              absl::StrCat(p->second.last_applied));
    informational.push_back(
        {topics_[t], shard_number, p->second.last_applied + 1});
  }
  if (state_ != nullptr) {
    StatePositions positions;
    positions.complete = shard.state_complete;
    positions.records = shard.state_records;
    for (int t = 0; t < 2; ++t) {
      auto p = partitions_.find(PartitionKey(t, shard_number));
      if (p != partitions_.end() && p->second.next >= 0) {
        positions.last[t] = p->second.next - 1;
      }
    }
    absl::Status s =
        state_->PublishPositions(shard_number, shard.state_epoch, positions);
    if (!s.ok()) return Fail(s);
  }
  const absl::Time commit_start = absl::Now();
  absl::Status s;
  {
    std::lock_guard lock(commit_mu_);
    // Once any engine failed nothing more is committed, by any worker: the
    // store may be failing, and the run is about to stop.
    if (failed_) return absl::AbortedError("an engine failed");
    s = shard.engine->Commit();
    if (!s.ok()) Fail(s).IgnoreError();
  }
  if (!s.ok()) return s;
  std::unique_lock side(side_mu_);
  if (opts_.on_commit_latency)
    opts_.on_commit_latency(absl::Now() - commit_start);
  side.unlock();
  if (shard.dead_letters_changed && changelog_ != nullptr) {
    PublishChangelog(shard.epoch, ChangelogDeadLettersKey(shard_number),
                     absl::StrCat(shard.dead_letters));
  }
  shard.dead_letters_changed = false;
  side.lock();
  for (int t = 0; t < 2; ++t) {
    auto p = partitions_.find(PartitionKey(t, shard_number));
    if (p == partitions_.end()) continue;
    p->second.moved = false;
    if (opts_.on_ingested && p->second.accepted_uncommitted > 0) {
      opts_.on_ingested(PartitionName(p->first),
                        p->second.accepted_uncommitted);
    }
    p->second.accepted_uncommitted = 0;
  }
  shard.dirty = false;
  if (opts_.on_commit) opts_.on_commit();
  if (w != nullptr) {
    informational_.insert(informational_.end(), informational.begin(),
                          informational.end());
    informational_pending_ = true;
  } else if (consumer_ != nullptr) {
    consumer_->CommitInformational(informational);
  }
  return absl::OkStatus();
}

absl::Status KafkaIngest::CommitAll(bool wait) {
  polled_since_commit_ = 0;
  if (workers_.size() > 1) {
    // A worker's failure: nothing more is committed, the caller gets it.
    if (failed_) return Quiesce();
    // Each worker commits its shards after what it was sent so far; only
    // `wait` holds the polling thread until they are done.
    SendAll(/*commit=*/true);
    last_commit_ = absl::Now();
    return wait ? Quiesce() : absl::OkStatus();
  }
  if (failed_) return absl::OkStatus();
  for (auto& [number, shard] : shards_) {
    absl::Status s = CommitShard(number);
    if (!s.ok()) return s;
  }
  last_commit_ = absl::Now();
  return absl::OkStatus();
}

bool KafkaIngest::CaughtUp() const {
  if (!assigned_once_ || awaiting_assignment_) return false;
  for (const auto& [key, p] : partitions_) {
    if (!p.at_end) return false;
  }
  return true;
}

absl::Status KafkaIngest::Handle(const KafkaMessage& m) {
  if (m.kind == KafkaMessage::Kind::kError) {
    const absl::Time now = absl::Now();
    if (m.error != last_error_ || now - last_error_time_ > absl::Seconds(10)) {
      Log(absl::StrCat("Kafka: ", m.error));
      last_error_ = m.error;
      last_error_time_ = now;
    }
    return absl::OkStatus();
  }
  const int topic = TopicIndex(m.topic);
  auto pit = partitions_.find(PartitionKey(topic, m.partition));
  if (topic < 0 || pit == partitions_.end()) {
    return absl::OkStatus();  // not (or no longer) ours
  }
  Partition& p = pit->second;
  if (m.kind == KafkaMessage::Kind::kPartitionEnd) {
    p.at_end = true;
    return absl::OkStatus();
  }
  p.at_end = false;
  last_message_ = absl::Now();
  // From the beginning, the first message is expected at offset 0: a
  // partition taken over whose start retention deleted is a gap too.
  const int64_t expected = p.polled >= 0 ? p.polled : 0;
  if (m.offset < expected) {
    // Offsets only grow: an earlier one means the consumer was reset to the
    // partition's start (auto.offset.reset) because its log no longer
    // reaches the stored position. The stored positions are another log's;
    // resuming by them would skip or count again this one's messages.
    return Fail(absl::FailedPreconditionError(absl::StrCat(
        topics_[topic], "/", m.partition, " delivered offset ", m.offset,
        " where this store resumes at ", expected,
        ": the partition's log ends before what the store has read, so the "
        "topic was deleted and re-created (or truncated) and the stored "
        "positions are not its own. Read it into a new --db (docs/kafka.md, "
        "\"A topic deleted and re-created\")")));
  }
  if (m.offset > expected) {
    // Offsets the broker did not deliver. A transaction marker takes one;
    // more usually means retention deleted messages before they were read
    // (the consumer then restarts at the oldest one kept), and those events
    // are missing from the KPIs: say so, loudly, once per partition.
    report_->skipped_offsets += m.offset - expected;
    if (m.offset - expected > 1 &&
        warned_gaps_.insert(PartitionKey(topic, m.partition)).second) {
      Log(absl::StrCat(
          "warning: ", topics_[topic], "/", m.partition, " offsets ", expected,
          "..", m.offset - 1,
          " were never delivered: the broker no longer has them (retention "
          "shorter than this consumer's lag?). Their events are missing "
          "from the KPIs; re-produce them from the source to count them."));
    }
  }
  p.polled = m.offset + 1;
  // Assigned partitions have their shard (OnAssign).
  Shard& shard = shards_.find(m.partition)->second;
  ++report_->messages;
  ++polled_since_commit_;
  if (workers_.size() == 1) {
    Worker& w = *workers_[0];
    absl::Status s =
        ApplyMessage(w, topic, m.partition, m.offset, m.key, m.value, p, shard);
    AddTally(w);
    return s;
  }
  Worker& w = *workers_[WorkerOf(m.partition)];
  Batch& b = *w.filling;
  const size_t begin = b.bytes.size();
  b.bytes.append(m.key);
  b.bytes.append(m.value);
  b.queued.push_back(Queued{topic, &p, &shard, m.partition, m.offset, begin,
                            m.key.size(), m.value.size()});
  if (filling_++ == 0) first_filled_ = absl::Now();
  if (b.queued.size() >= kBatchMessages) Send(WorkerOf(m.partition), false);
  return absl::OkStatus();
}

void KafkaIngest::AddTally(Worker& w) {
  report_->accepted += w.tally.accepted;
  report_->duplicates += w.tally.duplicates;
  report_->dead_letters += w.tally.dead_letters;
  report_->misrouted += w.tally.misrouted;
  w.tally = Tally();
}

absl::Status KafkaIngest::ApplyMessage(Worker& w, int topic, int32_t number,
                                       int64_t offset, std::string_view key,
                                       std::string_view value, Partition& p,
                                       Shard& shard) {
  Event& event = w.event;
  absl::Status parsed = w.parser.Parse(value, &event);
  if (parsed.ok()) {
    const std::string& expected_key =
        event.type == EventType::kAssessment ? event.agent : event.buyer;
    if (key != expected_key) {
      ++w.tally.misrouted;
      if (!misrouted_warned_.exchange(true)) {
        Log(absl::StrCat("event ", event.id, " at ", topics_[topic], "/",
                         number, "/", offset,
                         " is not keyed by its buyer (agent for assessments): "
                         "its buyer's KPIs may be split between partitions"));
      }
    }
    const std::string prefix = absl::StrCat(topics_[topic], "/", number, "/");
    auto outcome =
        shard.engine->ApplyWithOutcome(event, value, {prefix, offset});
    if (!outcome.ok()) return Fail(outcome.status());
    const bool new_id = *outcome == Engine::Outcome::kNewId;
    ++(new_id ? w.tally.accepted : w.tally.duplicates);
    if (new_id) ++p.accepted_uncommitted;
    if (*outcome != Engine::Outcome::kNotApplied && state_ != nullptr) {
      // A conflicting copy that replaced the held one reuses its key.
      if (new_id) ++shard.state_records;
      state_->AddEvent(number, shard.state_epoch, event.id, value);
    }
  } else {
    DeadLetter d;
    d.position = absl::StrCat(topics_[topic], "/", number, "/", offset);
    d.reason = std::string(parsed.message());
    d.raw = std::string(value);
    // A position already in the store was counted (and sent) before a
    // restart; the engine ignores it, and so does the DLQ.
    auto known = store_->Get(Family::kDead, d.position);
    if (!known.ok()) return Fail(known.status());
    if (!known->has_value()) {
      ++w.tally.dead_letters;
      if (dlq_ != nullptr) {
        absl::Status s;
        {
          std::lock_guard lock(side_mu_);
          s = dlq_->Produce(opts_.dlq_topic, key, value,
                            {{"reason", d.reason}, {"position", d.position}});
        }
        if (s.ok()) {
          shard.dlq_pending = true;
        } else {
          Log(absl::StrCat("dead letter queue: ", s.message()));
        }
      }
      absl::Status s = shard.engine->AddDeadLetter(d);
      if (!s.ok()) return Fail(s);
      if (state_ != nullptr) {
        state_->AddDeadLetter(number, shard.state_epoch, d);
        ++shard.state_records;
      }
      ++shard.dead_letters;
      shard.dead_letters_changed = true;
    }
  }
  p.last_applied = offset;
  p.next = offset + 1;
  p.moved = true;
  shard.dirty = true;
  if (shard.engine->pending() >= opts_.commit_every) {
    return CommitShard(number, workers_.size() == 1 ? nullptr : &w);
  }
  return absl::OkStatus();
}

void KafkaIngest::ApplyBatch(size_t i, Batch& batch) {
  Worker& w = *workers_[i];
  const std::string_view bytes(batch.bytes);
  for (const Queued& q : batch.queued) {
    // After a failure anywhere the engines take nothing more: the run
    // stops, and what was not committed is read again next time.
    if (!w.status.ok() || failed_) break;
    w.status = ApplyMessage(w, q.topic, q.number, q.offset,
                            bytes.substr(q.begin, q.key_size),
                            bytes.substr(q.begin + q.key_size, q.value_size),
                            *q.partition, *q.shard);
  }
  if (batch.commit) {
    for (const auto& [number, shard] : shards_) {
      if (!w.status.ok() || failed_) break;
      if (WorkerOf(number) == i) w.status = CommitShard(number, &w);
    }
  }
  // The polling thread learns of it through failed_ (the first failure
  // stays the one reported).
  if (!w.status.ok()) Fail(w.status).IgnoreError();
}

void KafkaIngest::WorkerLoop(size_t i) {
  // Named for top -H and per-thread CPU figures (at most 15 characters).
  pthread_setname_np(pthread_self(), absl::StrCat("run-apply-", i).c_str());
  Worker& w = *workers_[i];
  std::unique_lock lock(pool_mu_);
  for (;;) {
    batch_sent_.wait(lock, [&] { return quit_ || !w.inbox.empty(); });
    if (w.inbox.empty()) return;  // quit_
    Batch* batch = w.inbox.front().get();
    lock.unlock();
    ApplyBatch(i, *batch);
    batch->Clear();
    lock.lock();
    w.spare.push_back(std::move(w.inbox.front()));
    w.inbox.pop_front();
    batch_done_.notify_all();
  }
}

void KafkaIngest::StartWorkers() {
  if (workers_.size() == 1) return;
  for (size_t i = 0; i < workers_.size(); ++i) {
    threads_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

void KafkaIngest::StopWorkers() {
  {
    std::lock_guard lock(pool_mu_);
    quit_ = true;
  }
  batch_sent_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void KafkaIngest::Send(size_t i, bool commit) {
  Worker& w = *workers_[i];
  Batch& b = *w.filling;
  if (b.queued.empty() && !commit) return;
  filling_ -= b.queued.size();
  if (failed_) {
    // The engines take nothing more (ApplyBatch).
    b.Clear();
    return;
  }
  b.commit = commit;
  if (threads_.empty()) {
    // Not started (a rebalance before Run's loop) or stopped: the
    // worker's share runs here.
    ApplyBatch(i, b);
    b.Clear();
    return;
  }
  std::unique_lock lock(pool_mu_);
  batch_done_.wait(lock, [&] { return w.inbox.size() < kBatchesInFlight; });
  w.inbox.push_back(std::move(w.filling));
  if (w.spare.empty()) {
    w.filling = std::make_unique<Batch>();
  } else {
    w.filling = std::move(w.spare.back());
    w.spare.pop_back();
  }
  lock.unlock();
  batch_sent_.notify_all();
}

void KafkaIngest::SendAll(bool commit) {
  for (size_t i = 0; i < workers_.size(); ++i) Send(i, commit);
  filling_ = 0;
}

void KafkaIngest::TellInformational() {
  if (!informational_pending_.exchange(false)) return;
  std::vector<KafkaPartition> offsets;
  {
    std::lock_guard lock(side_mu_);
    offsets.swap(informational_);
  }
  if (consumer_ != nullptr) consumer_->CommitInformational(offsets);
}

absl::Status KafkaIngest::Quiesce() {
  if (workers_.size() > 1) SendAll(/*commit=*/false);
  if (!threads_.empty()) {
    std::unique_lock lock(pool_mu_);
    batch_done_.wait(lock, [&] {
      for (const auto& w : workers_) {
        if (!w->inbox.empty()) return false;
      }
      return true;
    });
  }
  for (auto& w : workers_) {
    AddTally(*w);
    w->status = absl::OkStatus();
  }
  TellInformational();
  if (!failed_) return absl::OkStatus();
  std::lock_guard lock(failure_mu_);
  return failure_.ok() ? absl::AbortedError("consumer failed") : failure_;
}

void KafkaIngest::PublishChangelog(int64_t epoch, std::string_view key,
                                   std::string_view value) {
  absl::Status s;
  {
    std::lock_guard lock(side_mu_);
    changelog_headers_[0].value = absl::StrCat(epoch);
    changelog_headers_[1].value = rules_.version;
    changelog_headers_[2].value = opts_.consumer.group;
    s = changelog_->Produce(opts_.changelog_topic, key, value,
                            changelog_headers_);
  }
  if (!s.ok()) {
    // The store has the row; the next takeover of the partition (this
    // process's restart included) republishes it, so the changelog heals
    // then.
    Log(absl::StrCat("changelog ", opts_.changelog_topic, ": ", s.message()));
  }
}

void KafkaIngest::PublishRows(const std::vector<RowChange>& rows) {
  for (const RowChange& r : rows) {
    auto shard = shards_.find(static_cast<int32_t>(r.shard));
    if (shard == shards_.end()) continue;  // cannot happen: engines commit
    const std::string key = ChangelogKey(r.shard, r.day, r.agent);
    // A zero row is a tombstone: compaction may then drop the key.
    PublishChangelog(
        shard->second.epoch, key,
        r.value.IsZero() ? std::string_view() : EncodeCounters(r.value));
  }
}

absl::Status KafkaIngest::TakeOverChangelog(int32_t number,
                                            int32_t generation) {
  Shard& shard = shards_[number];
  auto kept = owner_epochs_.find(number);
  if (KeptSinceLastGeneration(number, generation) &&
      kept != owner_epochs_.end()) {
    shard.epoch = kept->second;  // this member's all along since then
    return absl::OkStatus();
  }
  // The epoch this store last published for the partition: a generation
  // not above it means the group was deleted and created again (its
  // generations restarted), and the query instances would drop this
  // member's rows as a former owner's.
  const std::string key = absl::StrCat(kMetaPublishedEpochPrefix,
                                       opts_.changelog_topic, "/", number);
  auto stored = store_->Get(Family::kMeta, key);
  if (!stored.ok()) return stored.status();
  int64_t last = 0;
  if (stored->has_value() && !absl::SimpleAtoi(**stored, &last)) {
    return absl::DataLossError(absl::StrCat("stored ", key, " is corrupt"));
  }
  if (generation <= last) {
    return absl::FailedPreconditionError(absl::StrCat(
        "consumer group ", opts_.consumer.group, " is at generation ",
        generation, ", but this store published partition ", number,
        " to changelog ", opts_.changelog_topic, " at owner epoch ", last,
        ": the group was re-created, so its generations no longer order "
        "the owners. Use a new changelog topic (docs/scaling.md)."));
  }
  Commit c(store_);
  c.Put(Family::kMeta, key, absl::StrCat(generation));
  absl::Status s = store_->Write(&c);
  if (!s.ok()) return s;
  shard.epoch = generation;
  owner_epochs_[number] = generation;
  PublishChangelog(shard.epoch, ChangelogOwnerKey(number),
                   absl::StrCat(shard.epoch));
  s = RepublishShard(number);
  if (!s.ok()) return s;
  PublishChangelog(shard.epoch, ChangelogDeadLettersKey(number),
                   absl::StrCat(shard.dead_letters));
  shard.dead_letters_changed = false;
  Log(absl::StrCat("changelog: partition ", number, " at owner epoch ",
                   shard.epoch));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> KafkaIngest::CountDeadLetters(int32_t shard) {
  int64_t n = 0;
  for (int t = 0; t < 2; ++t) {
    const std::string prefix = absl::StrCat(topics_[t], "/", shard, "/");
    absl::Status s = store_->Scan(Family::kDead, prefix, "",
                                  [&](std::string_view key, std::string_view) {
                                    if (key.substr(0, prefix.size()) != prefix)
                                      return false;
                                    ++n;
                                    return true;
                                  });
    if (!s.ok()) return s;
  }
  return n;
}

absl::Status KafkaIngest::RepublishShard(int32_t shard) {
  const uint32_t s32 = static_cast<uint32_t>(shard);
  const std::string begin = AggregateKey(s32, INT32_MIN, "");
  const std::string end = AggregateKey(s32 + 1, INT32_MIN, "");
  std::vector<RowChange> rows;
  absl::Status bad;
  absl::Status s =
      store_->Scan(Family::kAggregates, begin, end,
                   [&](std::string_view key, std::string_view value) {
                     RowChange r;
                     if (!ParseAggregateKey(key, &r.shard, &r.day, &r.agent) ||
                         !DecodeCounters(value, &r.value)) {
                       bad = absl::DataLossError("corrupt aggregate row");
                       return false;
                     }
                     rows.push_back(std::move(r));
                     return true;
                   });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  Log(absl::StrCat("changelog: republishing ", rows.size(),
                   " stored rows of partition ", shard));
  PublishRows(rows);
  return absl::OkStatus();
}

void KafkaIngest::FlushChangelog() {
  if (changelog_ == nullptr) return;
  absl::Status s = changelog_->Flush(kDlqFlushTimeout);
  if (!s.ok()) {
    Log(absl::StrCat("changelog ", opts_.changelog_topic, ": ", s.message()));
  }
}

void KafkaIngest::Throttle() {
  if (opts_.max_events_per_s <= 0) return;
  const absl::Time now = absl::Now();
  if (throttle_start_ == absl::InfinitePast()) throttle_start_ = now;
  ++throttle_count_;
  const absl::Time due =
      throttle_start_ + absl::Seconds(throttle_count_ / opts_.max_events_per_s);
  if (due > now) absl::SleepFor(due - now);
}

absl::Status KafkaIngest::Progress(absl::Time now) {
  if (!assigned_once_) {
    last_progress_ = now;
    if (!waiting_logged_) Log("waiting for the group to assign partitions");
    waiting_logged_ = true;
    return absl::OkStatus();
  }
  const double seconds = absl::ToDoubleSeconds(now - last_progress_);
  if (seconds > 0) {
    events_per_s_ = (report_->messages - messages_at_last_progress_) / seconds;
  }
  last_progress_ = now;
  messages_at_last_progress_ = report_->messages;

  int64_t total_lag = 0;
  std::vector<std::string> lags;
  std::string lag_json = "{";
  std::set<int32_t> owned;
  for (const auto& [key, p] : partitions_) {
    owned.insert(key.second);
    int64_t lag = -1;  // unknown until the first fetch answers
    if (consumer_ != nullptr) {
      auto marks = consumer_->CachedWatermarks(topics_[key.first], key.second);
      if (marks.has_value()) {
        const int64_t from = p.next >= 0 ? p.next : marks->first;
        lag = std::max<int64_t>(0, marks->second - from);
      }
    }
    if (lag > 0) total_lag += lag;
    const std::string name = PartitionName(key);
    if (opts_.on_lag && lag >= 0) opts_.on_lag(name, lag);
    lags.push_back(absl::StrCat(name, "=", lag < 0 ? "?" : absl::StrCat(lag)));
    if (lag_json.size() > 1) lag_json.append(", ");
    AppendJsonString(&lag_json, name);
    absl::StrAppend(&lag_json, ": ", lag);
  }
  lag_json.append("}");
  Log(absl::StrCat(static_cast<int64_t>(events_per_s_), " events/s, ",
                   report_->messages, " messages (", report_->accepted,
                   " new, ", report_->duplicates, " duplicates, ",
                   report_->dead_letters, " dead letters), lag ", total_lag,
                   lags.empty() ? "" : ": ", absl::StrJoin(lags, " ")));

  std::string json = "{\"group\": ";
  AppendJsonString(&json, opts_.consumer.group);
  json.append(", \"brokers\": ");
  AppendJsonString(&json, opts_.consumer.client.brokers);
  json.append(", \"topics\": [");
  AppendJsonString(&json, topics_[0]);
  json.append(", ");
  AppendJsonString(&json, topics_[1]);
  absl::StrAppend(&json, "], \"updated_ms\": ", absl::ToUnixMillis(now),
                  ", \"events_per_s\": ", static_cast<int64_t>(events_per_s_),
                  ", \"messages\": ", report_->messages,
                  ", \"accepted\": ", report_->accepted,
                  ", \"duplicates\": ", report_->duplicates,
                  ", \"dead_letters\": ", report_->dead_letters,
                  ", \"misrouted\": ", report_->misrouted,
                  ", \"skipped_offsets\": ", report_->skipped_offsets,
                  ", \"rebalances\": ", report_->rebalances,
                  ", \"caught_up\": ", CaughtUp() ? "true" : "false",
                  ", \"owned_shards\": [", absl::StrJoin(owned, ", "),
                  "], \"lag_total\": ", total_lag, ", \"lag\": ", lag_json,
                  "}");
  Commit c(store_);
  c.Put(Family::kMeta, kMetaKafkaStats, json);
  return store_->Write(&c);
}

absl::Status KafkaIngest::CheckTopics() {
  auto chat = consumer_->PartitionCount(topics_[0], absl::Seconds(10));
  auto order = consumer_->PartitionCount(topics_[1], absl::Seconds(10));
  if (chat.ok() && order.ok() && *chat != *order) {
    return absl::FailedPreconditionError(absl::StrCat(
        "topic ", topics_[0], " has ", *chat, " partitions and ", topics_[1],
        " has ", *order,
        ": a buyer's chats and orders must land in the same "
        "partition number, so the two topics need equal partition counts"));
  }
  for (const auto* s : {&chat, &order}) {
    if (!s->ok()) Log(absl::StrCat("warning: ", s->status().message()));
  }
  if (!chat.ok()) return absl::OkStatus();
  // The partitioner maps a buyer to a partition by the count: with more
  // partitions a buyer's new events go to another partition than the old
  // ones, and its conversations and orders would be counted in two places,
  // each part on its own. The store keeps the count it was built from.
  auto stored = ReadKafkaPartitionCount(*store_);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    Commit c(store_);
    PutKafkaPartitionCount(&c, *chat);
    if (absl::Status w = store_->Write(&c); !w.ok()) return w;
    partition_count_ = *chat;
    return absl::OkStatus();
  }
  partition_count_ = **stored;
  if (*chat != partition_count_) return PartitionCountChanged(*chat);
  return absl::OkStatus();
}

absl::Status KafkaIngest::PartitionCountChanged(int now) const {
  return absl::FailedPreconditionError(absl::StrCat(
      "topic ", topics_[0], " has ", now, " partitions, but --db ",
      store_->dir(), " was built from ", partition_count_,
      ": keyed by buyer, a buyer's new events now go to another partition "
      "than its earlier ones, and its conversations and orders would be "
      "counted in two places. Keep the partition count of both topics; to "
      "change it, publish the history to new topics of the new count and "
      "start the members with new stores (docs/kafka.md)"));
}

absl::Status KafkaIngest::Run() {
  if (opts_.chat_topic.empty() || opts_.order_topic.empty() ||
      opts_.chat_topic == opts_.order_topic) {
    return absl::InvalidArgumentError(
        "the chat and order topics must be two different topics");
  }
  // What the member writes must not land in what it reads: a dead letter
  // published to an input topic comes back as a dead letter, for ever.
  for (const auto& [flag, topic] :
       {std::pair<const char*, const std::string*>{"--dlq-topic",
                                                   &opts_.dlq_topic},
        {"--changelog-topic", &opts_.changelog_topic},
        {"--state-topic", &opts_.state_topic}}) {
    if (*topic == opts_.chat_topic || *topic == opts_.order_topic) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " ", *topic,
                       " is an input topic: the member would read back what "
                       "it writes; give a topic of its own"));
    }
  }
  for (const std::string* topic :
       {&opts_.chat_topic, &opts_.order_topic, &opts_.dlq_topic,
        &opts_.changelog_topic, &opts_.state_topic}) {
    if (!IsKafkaTopicName(*topic) && !topic->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "topic name '", *topic,
          "' is not a Kafka topic name (up to 249 of a-z A-Z 0-9 . _ -)"));
    }
  }
  if (!opts_.dlq_topic.empty()) {
    auto producer = KafkaProducer::Open(opts_.consumer.client);
    if (!producer.ok()) return producer.status();
    dlq_ = std::move(*producer);
  }
  if (!opts_.changelog_topic.empty()) {
    KafkaClientConfig config = opts_.consumer.client;
    // Rows of one key must arrive in commit order, retries included.
    config.properties.insert(config.properties.begin(),
                             {"enable.idempotence", "true"});
    auto producer = KafkaProducer::Open(config);
    if (!producer.ok()) return producer.status();
    changelog_ = std::move(*producer);
  }
  {
    // Refuses a store built under other rules before joining the group
    // (and records the rules in a new one).
    auto probe = Engine::Open(rules_, store_, {});
    if (!probe.ok()) return probe.status();
  }
  {
    // A store takes its events from one pair of topics: restarted naming
    // another (a typo of --order-topic), it would go on with one input
    // missing and its figures short of it.
    auto positions = ReadSourcePositions(*store_);
    if (!positions.ok()) return positions.status();
    for (const auto& [source, position] : *positions) {
      if (!source.starts_with(kKafkaSourcePrefix)) continue;
      const std::string rest =
          source.substr(std::string_view(kKafkaSourcePrefix).size());
      const std::string topic = rest.substr(0, rest.rfind('/'));
      if (topic != topics_[0] && topic != topics_[1]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--db ", store_->dir(), " was fed from topic ", topic,
            ", which this member does not read (it reads ", topics_[0], " and ",
            topics_[1],
            "): a store takes its events from one pair of topics; give the "
            "topics it was built from, or start a new store"));
      }
    }
  }
  StartWorkers();
  auto consumer = KafkaConsumer::Open(opts_.consumer, this);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  absl::Status s = CheckTopics();
  if (s.ok() && !opts_.state_topic.empty()) {
    auto partitions = consumer_->PartitionCount(topics_[0], absl::Seconds(10));
    if (!partitions.ok()) return partitions.status();
    auto state = StateTopicPublisher::Open(opts_.consumer.client,
                                           opts_.state_topic, *partitions);
    if (!state.ok()) return state.status();
    state_ = std::move(*state);
  }
  if (s.ok()) s = consumer_->Subscribe({topics_[0], topics_[1]});
  if (!s.ok()) return s;
  Log(absl::StrCat("joining group ", opts_.consumer.group, " on ",
                   opts_.consumer.client.brokers, " for ", topics_[0], " and ",
                   topics_[1]));

  KafkaMessage m;
  bool stop_caught_up = false;
  while (opts_.stop == nullptr || !opts_.stop->load()) {
    // With messages waiting to be handed to the workers, or a backlog to
    // commit once it is drained, only what librdkafka has already fetched
    // is taken before they are.
    auto got = consumer_->Poll(filling_ > 0 || DrainedCommitDue(absl::Now())
                                   ? absl::ZeroDuration()
                                   : kPollTimeout,
                               &m);
    if (!got.ok()) return Fail(got.status());
    if (*got) {
      s = Handle(m);
      if (!s.ok()) return s;
      if (m.kind == KafkaMessage::Kind::kData) Throttle();
    }
    if (failed_) return Quiesce();  // a worker failed: its error
    if (filling_ > 0) {
      // The workers apply while this thread polls on; a partly filled
      // batch goes once nothing more is fetched, or when it gets old.
      if (*got &&
          (filling_ % 64 != 0 || absl::Now() - first_filled_ < kBatchAge)) {
        continue;
      }
      SendAll(/*commit=*/false);
    }
    TellInformational();
    const absl::Time now = absl::Now();
    if ((!*got && DrainedCommitDue(now)) ||
        now - last_commit_ >= opts_.commit_interval) {
      s = CommitAll(/*wait=*/false);
      if (!s.ok()) return s;
    }
    if (now - last_progress_ >= opts_.progress_interval) {
      // The workers' tallies and positions, at rest.
      s = Quiesce();
      if (s.ok()) s = Progress(now);
      if (!s.ok()) return s;
    }
    // Only an end-of-partition event or a quiet poll can complete catching
    // up; checking then keeps the per-message path short.
    const bool may_be_caught_up =
        !*got || m.kind == KafkaMessage::Kind::kPartitionEnd;
    if (may_be_caught_up && CaughtUp()) {
      if (!caught_up_logged_) {
        s = CommitAll(/*wait=*/true);
        if (!s.ok()) return s;
        std::set<int32_t> owned;
        for (const auto& [key, p] : partitions_) owned.insert(key.second);
        Log(absl::StrCat("caught up: owned partitions [",
                         absl::StrJoin(owned, ","), "], ", report_->messages,
                         " messages read"));
        caught_up_logged_ = true;
      }
      if (opts_.until_caught_up) {
        stop_caught_up = true;
        break;
      }
    }
    if (opts_.exit_when_idle > absl::ZeroDuration() && assigned_once_ &&
        now - last_message_ >= opts_.exit_when_idle) {
      Log(absl::StrCat("idle for ", absl::FormatDuration(opts_.exit_when_idle),
                       ": stopping"));
      break;
    }
  }
  report_->caught_up = stop_caught_up || CaughtUp();
  s = CommitAll(/*wait=*/true);
  if (s.ok()) s = Progress(absl::Now());
  if (!s.ok()) return s;
  // Leaving the group revokes (committing nothing new) and hands the
  // partitions on at once instead of after the session timeout.
  s = consumer_->Close();
  FlushChangelog();
  if (dlq_ != nullptr) {
    absl::Status f = dlq_->Flush(kDlqFlushTimeout);
    if (!f.ok()) Log(absl::StrCat("dead letter queue: ", f.message()));
  }
  return s;
}

}  // namespace

absl::StatusOr<bool> HasKafkaPositions(Store& store) {
  const std::string prefix =
      absl::StrCat(kMetaPositionPrefix, kKafkaSourcePrefix);
  bool found = false;
  absl::Status s = store.Scan(Family::kMeta, prefix, "",
                              [&](std::string_view key, std::string_view) {
                                found = key.substr(0, prefix.size()) == prefix;
                                return false;
                              });
  if (!s.ok()) return s;
  return found;
}

absl::Status RunKafkaIngest(const Rules& rules, Store* store,
                            const KafkaIngestOptions& options,
                            KafkaIngestReport* report) {
  KafkaIngest ingest(rules, store, options, report);
  return ingest.Run();
}

}  // namespace chatkpi

// `chatkpi run`: a Kafka consumer-group member feeding engines, with an
// exactly-once effect on the store.
//
// The chat and the order topic are keyed by buyer and co-partitioned, so
// partition p of both holds everything the KPIs of its buyers depend on. Each
// assigned partition number p is a shard with its own Engine
// (EngineOptions{shard = p}) on the one store. An engine's commit carries its
// state together with the offsets of both topics' partition p (positions
// "kafka/<topic>/<p>" = last offset applied), in one RocksDB WriteBatch:
//
// * on assignment, each partition is read from its stored offset + 1 (or
//   from the beginning), so what was committed is never applied again and
//   what was not is read again -- Kafka's committed offsets are only
//   written for lag tools, never read;
// * before partitions are revoked, their engines commit and are dropped;
// * the store records the partitions it owns (engine/owned_shards.h) so that
//   a partition that moved to another member stops counting here.
//
// With `threads` > 1 one thread polls and that many worker threads apply
// the shards (shard p on worker p % threads): polled messages are handed
// over in batches while polling goes on, each worker applies its shards'
// messages in partition order and commits them, a timed commit being a
// mark in each worker's queue; a rebalance, a progress report, the
// caught-up commit and the exit first wait for every worker, so they see
// the engines at rest. Commits stay whole and one at a time; after a
// failure on any thread nothing more is committed (docs/kafka.md,
// "Threads").
//
// Messages that do not parse become dead letters at "topic/partition/offset"
// (and, with a DLQ topic, are also produced there with the reason in a
// header) without holding up their partition.
#ifndef CHATKPI_ENGINE_KAFKA_INGEST_H_
#define CHATKPI_ENGINE_KAFKA_INGEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/meta.h"
#include "engine/rules.h"
#include "ingest/kafka_consumer.h"
#include "store/store.h"

namespace chatkpi {

struct KafkaIngestOptions {
  KafkaConsumerOptions consumer;  // brokers, group, session timeout
  std::string chat_topic = "chat";
  std::string order_topic = "orders";
  std::string dlq_topic;  // empty: dead letters are kept in the store only
  // Non-empty: after each shard commit, the (agent, day) rows it changed are
  // produced here (engine/changelog.h), so that query instances can hold
  // the whole group's KPIs.
  std::string changelog_topic;
  // Non-empty: each partition's events, dead letters and positions are
  // published here before each shard commit, and a member taking a
  // partition over restores it from here (engine/state_topic.h).
  std::string state_topic;
  // Called after each shard commit that stored something, on the thread
  // that committed, one call at a time: the dashboard's LiveFeed::Notify
  // (docs/dashboard.md).
  std::function<void()> on_commit;
  // Metrics hooks (the series of docs/http_api.md "Metrics"), each may be
  // null, called one at a time (on the committing thread): the wall time of
  // each shard commit; after it, the events each of its partitions ("topic/N")
  // took in since the previous commit; and each partition's lag, at each
  // progress report.
  std::function<void(absl::Duration)> on_commit_latency;
  std::function<void(const std::string& source, int64_t events)> on_ingested;
  std::function<void(const std::string& source, int64_t lag)> on_lag;

  // A partition's engine commits after this many events (and dead letters)
  // or when `commit_interval` has passed, whichever comes first (and once
  // nothing more is fetched after a backlog: docs/kafka.md "Positions"). A
  // crash re-reads at most that much.
  size_t commit_every = 50'000;
  // Threads applying the partitions' engines, beside the polling one (1:
  // the polling thread does everything).
  int threads = 1;
  absl::Duration commit_interval = absl::Seconds(1);
  absl::Duration progress_interval = absl::Seconds(10);

  // Stop once every assigned partition has been read to its end.
  bool until_caught_up = false;
  // Stop after this long without a message (zero: never).
  absl::Duration exit_when_idle = absl::ZeroDuration();
  // Throttle (events/s, 0 = none): for replays that must not starve others.
  double max_events_per_s = 0;
  // Checked between messages; set it (e.g. from a signal handler) to stop.
  const std::atomic<bool>* stop = nullptr;
  // Progress and rebalance lines; null: stderr.
  std::function<void(const std::string&)> log;
};

struct KafkaIngestReport {
  int64_t messages = 0;  // data messages read
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t dead_letters = 0;  // new ones (a position seen before is not new)
  // Events whose message key is not their buyer (agent, for assessments):
  // a producer that keys otherwise breaks co-partitioning.
  int64_t misrouted = 0;
  // Offsets skipped between two delivered messages of a partition:
  // transaction markers, or messages deleted by retention before they were
  // read (then a warning names them: their events are missing).
  int64_t skipped_offsets = 0;
  int64_t rebalances = 0;
  bool caught_up = false;  // the last stop was at the end of every partition
};

// True when `store` holds Kafka positions ("kafka/<topic>/<p>"): it was fed
// by a consumer before. An embedded (mock) broker starts empty in every
// process, so such positions would point past or into other messages.
absl::StatusOr<bool> HasKafkaPositions(Store& store);

// Consumes until stopped (options.stop, until_caught_up, exit_when_idle) or
// a fatal error. On return, every engine has committed and the consumer has
// left the group.
absl::Status RunKafkaIngest(const Rules& rules, Store* store,
                            const KafkaIngestOptions& options,
                            KafkaIngestReport* report);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_KAFKA_INGEST_H_

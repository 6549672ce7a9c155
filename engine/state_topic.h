// The state topic: a compacted Kafka topic through which the members of a
// consumer group keep each input partition's state, so that a member taking
// a partition over continues where the last publisher stopped instead of
// reading the partition's whole history from the input topics
// (docs/scaling.md, "The state topic").
//
// What a partition's state is. An engine resumes exactly only with what its
// store holds for the partition: the buyer and order states, the rows, the
// dead letters, and the event log with its id index, without which it can
// neither drop a redelivered event nor resolve a conflicting duplicate
// (both need the copy held: docs/engine.md, "Duplicates") nor `replay`
// under new rules. The log is the store's source of truth and everything
// else derives from it, so the state topic carries the partition's log and
// the derived state is rebuilt from it: a restore applies the partition's
// events through the member's own engine, so the restored store is the one
// that ingesting those events gives, by construction.
//
// Records of input partition p go to partition p of the state topic (which
// needs at least as many partitions as the input topics), in order, each
// with the publisher's owner epoch in header "epoch" (engine/changelog.h):
//
//   "<p>/e/<event id>"  the raw event, once per accepted event; a
//                       conflicting copy that replaced the held one is
//                       published under the same key, so compaction keeps
//                       the winner
//   "<p>/d/<position>"  a dead letter (engine/dead_letter_value.h)
//   "<p>/pos"           "<chat last offset> <order last offset> <complete>
//                       <records>" (-1: none), published before the store
//                       commit that moves the positions, once every record
//                       before it is acknowledged
//
// Since positions are published first, the state topic is never behind the
// publisher's store: a crash between the two leaves the topic ahead, and the
// next owner's restore reads those events again as redeliveries. A positions
// record of an epoch below one seen before on the partition is a former
// owner's (late or still running) and is ignored; events and dead letters of
// any epoch are facts read from the input and are kept.
//
// `complete` says whether the topic holds every event of the partition up to
// those offsets. A member whose store already held the partition further
// than the topic (a state topic added to a running group) publishes 0; a
// restore refuses such a state and reads the input topics as before.
// `records` is how many distinct event and dead-letter keys the partition's
// state has: a restore that reads fewer (the topic lost records to time or
// size retention instead of compaction) refuses the same way.
#ifndef CHATKPI_ENGINE_STATE_TOPIC_H_
#define CHATKPI_ENGINE_STATE_TOPIC_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "ingest/event.h"
#include "ingest/kafka_config.h"
#include "ingest/kafka_producer.h"

namespace chatkpi {

// Last applied offsets of partition p of the chat (0) and order (1) topic.
struct StatePositions {
  int64_t last[2] = {-1, -1};
  bool complete = true;
  int64_t records = 0;  // distinct "<p>/e/" and "<p>/d/" keys
};

std::string StateEventKey(int32_t partition, std::string_view id);
std::string StateDeadLetterKey(int32_t partition, std::string_view position);
std::string StatePositionsKey(int32_t partition);
std::string EncodeStatePositions(const StatePositions& p);
bool DecodeStatePositions(std::string_view value, StatePositions* out);

// A member's publishing side. Thread-safe: the workers of `run --threads`
// publish their partitions' records through one producer.
class StateTopicPublisher {
 public:
  // An idempotent, compressing producer for `topic`; fails unless the topic
  // has at least `input_partitions` partitions.
  static absl::StatusOr<std::unique_ptr<StateTopicPublisher>> Open(
      const KafkaClientConfig& config, const std::string& topic,
      int input_partitions);

  // Queue a record (errors surface in PublishPositions).
  void AddEvent(int32_t partition, int64_t epoch, std::string_view id,
                std::string_view raw);
  void AddDeadLetter(int32_t partition, int64_t epoch, const DeadLetter& d);
  // Queues the positions and waits until everything queued is acknowledged.
  // Only then may the store commit them; an error means it must not.
  absl::Status PublishPositions(int32_t partition, int64_t epoch,
                                const StatePositions& positions);

 private:
  StateTopicPublisher(std::unique_ptr<KafkaProducer> producer,
                      std::string topic);
  void Queue(int32_t partition, int64_t epoch, std::string_view key,
             std::string_view value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
  absl::Mutex mu_;
  std::vector<KafkaHeader> header_ ABSL_GUARDED_BY(mu_);
  std::string key_ ABSL_GUARDED_BY(mu_);  // scratch
  absl::Status queue_error_ ABSL_GUARDED_BY(mu_);
};

struct StateTakeover {
  bool published = false;  // the topic held positions for the partition
  bool restored = false;   // its events were applied to the store
  // Whether this member's publishing of the partition continues a complete
  // state (StatePositions::complete), and the state's record count that
  // its publishing continues from.
  bool complete = true;
  int64_t state_records = 0;
  int64_t records = 0;  // read from the topic
  int64_t bytes = 0;
  int64_t events = 0;  // applied (new ones and redeliveries)
  int64_t dead_letters = 0;
  StatePositions positions;  // the published ones
  absl::Duration read_time, apply_time;
};

// Reads partition `partition` of the state topic to its end and, when
// `engine`'s store is behind what it holds (positions of `sources` = the
// chat and order partitions "kafka/<topic>/<p>"), applies its events and
// dead letters to `engine` and commits them with the published positions,
// in commits of at most `commit_every` events (positions with the last).
// A crash part-way leaves the old positions, so the next takeover restores
// again what is missing. Call on a new engine, before its commit listener
// is set and before the partition is read. `generation` is the consumer
// group generation of the takeover: records of a higher epoch mean that
// the group was re-created (its generations no longer order the owners),
// and the takeover fails.
absl::StatusOr<StateTakeover> TakeOverPartitionState(
    const KafkaClientConfig& config, const std::string& topic,
    int32_t partition, int64_t generation, const std::string sources[2],
    size_t commit_every, Engine* engine,
    const std::function<void(const std::string&)>& log);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_STATE_TOPIC_H_

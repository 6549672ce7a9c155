// A Kafka consumer-group member whose offsets live elsewhere: the
// RebalanceListener says where each newly assigned partition is to be read
// from (chatkpi keeps offsets in RocksDB next to the state they produced),
// and is told before partitions go, so work in flight can be committed.
// Kafka's own committed offsets are written only as information for lag
// tools; they are never read.
//
// Partitions are assigned with the "range" strategy, which gives partition p
// of every subscribed topic to the same member when the topics have equal
// partition counts: co-partitioned topics stay together.
//
// Not thread-safe: one thread polls, and the listener runs inside Poll() and
// Close() on that thread.
#ifndef CHATKPI_INGEST_KAFKA_CONSUMER_H_
#define CHATKPI_INGEST_KAFKA_CONSUMER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ingest/kafka_config.h"

namespace chatkpi {

inline constexpr int64_t kKafkaOffsetBeginning = -2;  // = RD_KAFKA_OFFSET_*

struct KafkaPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = kKafkaOffsetBeginning;  // the next offset to read
};

struct KafkaMessage {
  enum class Kind {
    kData,
    kPartitionEnd,  // the partition has no more messages for now
    kError,         // a non-fatal client error (broker down, ...): log it
  };
  Kind kind = Kind::kData;
  // Views into the message, valid until the next Poll() or Close().
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;  // kPartitionEnd: the end offset
  std::string_view key;
  std::string_view value;
  // Headers "epoch", "rules" and "group" (engine/changelog.h), filled by
  // KafkaTopicReader only; empty when the message has none.
  std::string_view epoch_header;
  std::string_view rules_header;
  std::string_view group_header;
  std::string error;  // kError only
};

class KafkaRebalanceListener {
 public:
  virtual ~KafkaRebalanceListener() = default;
  // Partitions newly given to this member: set each one's `offset`. An
  // error stops consumption (Poll returns it); nothing is assigned.
  virtual absl::Status OnAssign(std::vector<KafkaPartition>* partitions) = 0;
  // Partitions about to go. `lost`: the group already gave them to another
  // member (this one was presumed dead), so the new owner may be reading
  // them already.
  virtual absl::Status OnRevoke(const std::vector<KafkaPartition>& partitions,
                                bool lost) = 0;
};

struct KafkaConsumerOptions {
  KafkaClientConfig client;
  std::string group = "chatkpi";
  // How long the group waits for a silent member before handing its
  // partitions on. Kafka's default (45 s) makes every restart after a crash
  // wait that long; the mock cluster makes every rejoin wait it too.
  int session_timeout_ms = 6000;
};

class KafkaConsumer {
 public:
  // `listener` must outlive the consumer.
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Open(
      const KafkaConsumerOptions& options, KafkaRebalanceListener* listener);
  // Leaves the group (as Close()) if that was not done.
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  absl::Status Subscribe(const std::vector<std::string>& topics);

  // Waits up to `timeout` for the next message or event; returns false if
  // none came. Rebalance callbacks run in here. Errors are fatal: a listener
  // failure or a fatal client error.
  absl::StatusOr<bool> Poll(absl::Duration timeout, KafkaMessage* out);

  // The topic's partition count, from the cluster's metadata.
  absl::StatusOr<int> PartitionCount(const std::string& topic,
                                     absl::Duration timeout);

  // (low, high) watermarks as last seen in fetch responses (no broker
  // round trip); nullopt when not known yet.
  std::optional<std::pair<int64_t, int64_t>> CachedWatermarks(
      const std::string& topic, int32_t partition) const;

  // The generation of the group this member last joined: the coordinator
  // raises it at every rebalance, so the generation in which a partition
  // was assigned is larger than that of every earlier owner's assignment.
  // Valid inside OnAssign.
  absl::StatusOr<int32_t> GenerationId() const;

  // Records `offset` (the next to read) of each partition in the group, for
  // lag monitoring by other tools. Asynchronous; failures are ignored.
  void CommitInformational(const std::vector<KafkaPartition>& offsets);

  // Revokes (calling the listener), leaves the group, closes. Idempotent.
  absl::Status Close();

 private:
  struct Impl;
  explicit KafkaConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_CONSUMER_H_

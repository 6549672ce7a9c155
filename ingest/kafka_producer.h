// A Kafka producer for chatkpi's own messages: events published by
// `chatkpi produce` and the demo, and dead letters sent to a DLQ topic.
// Messages are partitioned by key with librdkafka's default partitioner
// (CRC32 of the key, the same as kcat and any other librdkafka client), so
// all producers of the chat and order topics agree on a buyer's partition.
#ifndef CHATKPI_INGEST_KAFKA_PRODUCER_H_
#define CHATKPI_INGEST_KAFKA_PRODUCER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ingest/kafka_config.h"

namespace chatkpi {

struct KafkaHeader {
  std::string name;
  std::string value;
};

class KafkaProducer {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Open(
      const KafkaClientConfig& config);
  // Gives queued messages a short grace period; call Flush() to be sure.
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues one message (the bytes are copied). Waits while the local queue
  // is full rather than failing: a producer faster than the broker slows
  // down instead of dropping events.
  absl::Status Produce(std::string_view topic, std::string_view key,
                       std::string_view value,
                       const std::vector<KafkaHeader>& headers = {});
  // The same to one chosen partition instead of the key's.
  absl::Status ProduceTo(std::string_view topic, int32_t partition,
                         std::string_view key, std::string_view value,
                         const std::vector<KafkaHeader>& headers = {});

  // Waits until every queued message is delivered or has failed. Fails if
  // any delivery failed since the previous Flush (the first reason given).
  absl::Status Flush(absl::Duration timeout);

  // The topic's partition count, from the brokers' metadata.
  absl::StatusOr<int> PartitionCount(const std::string& topic,
                                     absl::Duration timeout);
  // The partition's (low, high) watermarks, asked of its leader.
  absl::StatusOr<std::pair<int64_t, int64_t>> Watermarks(
      const std::string& topic, int32_t partition, absl::Duration timeout);

  int64_t delivered() const;
  int64_t failed() const;

 private:
  struct Impl;
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_PRODUCER_H_

// A Kafka reader outside any consumer group: it is assigned every partition
// of one topic, each from an offset the caller keeps, so that every reader
// sees the whole topic. The changelog reader of `chatkpi serve
// --from-changelog` is one; no offsets are ever committed to Kafka.
//
// Not thread-safe: one thread polls.
#ifndef CHATKPI_INGEST_KAFKA_READER_H_
#define CHATKPI_INGEST_KAFKA_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ingest/kafka_config.h"
#include "ingest/kafka_consumer.h"

namespace chatkpi {

class KafkaTopicReader {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaTopicReader>> Open(
      const KafkaClientConfig& config);
  ~KafkaTopicReader();
  KafkaTopicReader(const KafkaTopicReader&) = delete;
  KafkaTopicReader& operator=(const KafkaTopicReader&) = delete;

  // The topic's partition count, from the cluster's metadata.
  absl::StatusOr<int> PartitionCount(const std::string& topic,
                                     absl::Duration timeout);

  // Reads partition p of `topic` from next_offsets[p] (the next offset to
  // read; a missing entry: from the beginning), for p in [0, partitions).
  // Replaces any earlier assignment.
  absl::Status Assign(const std::string& topic, int partitions,
                      const std::map<int32_t, int64_t>& next_offsets);

  // Reads only partition `partition` of `topic`, from `next_offset`.
  absl::Status AssignOne(const std::string& topic, int32_t partition,
                         int64_t next_offset);

  // As KafkaConsumer::Poll: data, end-of-partition and non-fatal errors;
  // the views stay valid until the next Poll.
  absl::StatusOr<bool> Poll(absl::Duration timeout, KafkaMessage* out);

 private:
  struct Impl;
  explicit KafkaTopicReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_READER_H_

// Publishes JSONL events to the chat and order topics, each to the topic and
// under the key EventRouter gives it (by `type`; keyed by buyer). Used by
// `chatkpi produce` and the demo.
#ifndef CHATKPI_INGEST_KAFKA_PUBLISHER_H_
#define CHATKPI_INGEST_KAFKA_PUBLISHER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ingest/kafka_producer.h"
#include "ingest/kafka_router.h"

namespace chatkpi {

class EventPublisher {
 public:
  struct Counts {
    int64_t chat = 0;     // messages sent to the chat topic
    int64_t order = 0;    // ... to the order topic
    int64_t unkeyed = 0;  // of those, under the empty key (dead letters)
    // Order events naming another buyer than the first event published of
    // their order: they go to another partition, where `run` counts them
    // as an order of their own (docs/kafka.md, "Known limits").
    int64_t other_buyer = 0;
    std::string other_buyer_example;  // "order O1: alice, then bob"
  };

  // `producer` must outlive the publisher.
  EventPublisher(KafkaProducer* producer, std::string chat_topic,
                 std::string order_topic);

  // Queues one event (a JSONL line without its newline).
  absl::Status Publish(std::string_view line);

  const Counts& counts() const { return counts_; }

 private:
  KafkaProducer* producer_;
  std::string topics_[2];
  EventRouter router_;
  Counts counts_;
  // The key of the first event published of each order (up to
  // kMaxOrdersKept orders: a bound on memory for a long stream).
  absl::flat_hash_map<std::string, std::string> order_keys_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_PUBLISHER_H_

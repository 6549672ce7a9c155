#include "ingest/kafka_publisher.h"

#include <utility>

namespace chatkpi {

EventPublisher::EventPublisher(KafkaProducer* producer, std::string chat_topic,
                               std::string order_topic)
    : producer_(producer),
      topics_{std::move(chat_topic), std::move(order_topic)} {}

absl::Status EventPublisher::Publish(std::string_view line) {
  EventRoute route = router_.Route(line);
  const bool chat = route.topic == EventTopic::kChat;
  ++(chat ? counts_.chat : counts_.order);
  if (route.key.empty()) ++counts_.unkeyed;
  return producer_->Produce(topics_[chat ? 0 : 1], route.key, line);
}

}  // namespace chatkpi

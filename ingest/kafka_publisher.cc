#include "ingest/kafka_publisher.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace chatkpi {

EventPublisher::EventPublisher(KafkaProducer* producer, std::string chat_topic,
                               std::string order_topic)
    : producer_(producer),
      topics_{std::move(chat_topic), std::move(order_topic)} {}

namespace {
constexpr size_t kMaxOrdersKept = size_t{1} << 22;
}  // namespace

absl::Status EventPublisher::Publish(std::string_view line) {
  EventRoute route = router_.Route(line);
  if (!route.order.empty() && !route.key.empty()) {
    auto it = order_keys_.find(route.order);
    if (it == order_keys_.end()) {
      if (order_keys_.size() < kMaxOrdersKept) {
        order_keys_.emplace(route.order, route.key);
      }
    } else if (it->second != route.key) {
      if (counts_.other_buyer++ == 0) {
        counts_.other_buyer_example = absl::StrCat(
            "order ", route.order, ": ", it->second, ", then ", route.key);
      }
    }
  }
  const bool chat = route.topic == EventTopic::kChat;
  ++(chat ? counts_.chat : counts_.order);
  if (route.key.empty()) ++counts_.unkeyed;
  return producer_->Produce(topics_[chat ? 0 : 1], route.key, line);
}

}  // namespace chatkpi

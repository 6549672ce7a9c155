// Which topic, under which key, an event is published to. Events are keyed
// by buyer so that one buyer's chats and orders land in the same partition
// number of the two topics (they are co-partitioned), and one consumer owns
// everything a buyer's KPIs depend on:
//
//   chat        -> chat topic,  key = buyer
//   order       -> order topic, key = buyer
//   assessment  -> order topic, key = agent (no buyer; it only feeds scoring)
//
// Anything else -- not JSON, not an object, no or an unknown `type` -- goes
// to the chat topic under the empty key (as does a known type without a
// string key field, on its own topic). It is published rather than dropped
// so that the consumer records it as a dead letter with its
// topic/partition/offset.
#ifndef CHATKPI_INGEST_KAFKA_ROUTER_H_
#define CHATKPI_INGEST_KAFKA_ROUTER_H_

#include <memory>
#include <string>
#include <string_view>

namespace chatkpi {

enum class EventTopic { kChat, kOrder };

struct EventRoute {
  EventTopic topic = EventTopic::kChat;
  std::string key;
  std::string order;  // an order event's order id (empty otherwise)
};

class EventRouter {
 public:
  EventRouter();
  ~EventRouter();
  EventRouter(const EventRouter&) = delete;
  EventRouter& operator=(const EventRouter&) = delete;

  EventRoute Route(std::string_view json);

 private:
  struct Impl;  // keeps simdjson out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_KAFKA_ROUTER_H_

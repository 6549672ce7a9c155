#include "ingest/kafka_router.h"

#include <cstring>

#include "simdjson.h"

namespace chatkpi {

struct EventRouter::Impl {
  simdjson::dom::parser parser;
  simdjson::padded_string buffer;
};

EventRouter::EventRouter() : impl_(std::make_unique<Impl>()) {}
EventRouter::~EventRouter() = default;

EventRoute EventRouter::Route(std::string_view json) {
  EventRoute route;
  // An empty message is unroutable. Returning here also keeps the memcpy
  // below off the never-allocated buffer: memcpy from or to a null pointer
  // is undefined even for 0 bytes (UBSan, .ci/sanitize.sh).
  if (json.empty()) return route;
  if (impl_->buffer.size() < json.size()) {
    impl_->buffer = simdjson::padded_string(json.size() * 2);
  }
  // The DOM parser reads `len` bytes and needs only the padding after them.
  std::memcpy(impl_->buffer.data(), json.data(), json.size());
  simdjson::dom::element doc;
  if (impl_->parser
          .parse(reinterpret_cast<const uint8_t*>(impl_->buffer.data()),
                 json.size(), false)
          .get(doc) != simdjson::SUCCESS) {
    return route;
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return route;
  std::string_view type;
  if (obj["type"].get_string().get(type) != simdjson::SUCCESS) return route;
  const char* key_field = "buyer";
  if (type == "order") {
    route.topic = EventTopic::kOrder;
  } else if (type == "assessment") {
    route.topic = EventTopic::kOrder;
    key_field = "agent";
  } else if (type != "chat") {
    return route;
  }
  std::string_view key;
  if (obj[key_field].get_string().get(key) == simdjson::SUCCESS) {
    route.key.assign(key);
  }
  std::string_view order;
  if (type == "order" &&
      obj["order"].get_string().get(order) == simdjson::SUCCESS) {
    route.order.assign(order);
  }
  return route;
}

}  // namespace chatkpi

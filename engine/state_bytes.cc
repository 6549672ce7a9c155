#include "engine/state_bytes.h"

#include <string>

namespace chatkpi {
namespace {

constexpr size_t kSlot = 96;  // a map's (or the pool's) slot and key
constexpr size_t kMallocOverhead = 16;

size_t HeapBytes(size_t length) {
  return length > 15 ? length + 1 + kMallocOverhead : 0;
}
size_t HeapBytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 + kMallocOverhead : 0;
}
size_t HeapBytes(const MessageId& id) {
  return id.on_heap() ? id.size() + kMallocOverhead : 0;
}

}  // namespace

size_t StateBytes(std::string_view name, const BuyerState& b) {
  size_t bytes = sizeof(BuyerEntry) + kSlot + HeapBytes(name.size()) +
                 b.messages.capacity() * sizeof(Message) +
                 b.orders.capacity() * sizeof(OrderRef) +
                 b.agents.capacity() * sizeof(std::string) +
                 b.order_counts.capacity() * sizeof(OrderCount) +
                 4 * kMallocOverhead;
  for (const Message& m : b.messages) bytes += HeapBytes(m.id);
  for (const OrderRef& o : b.orders) bytes += HeapBytes(o.order);
  for (const std::string& a : b.agents) bytes += HeapBytes(a);
  return bytes;
}

size_t StateBytes(std::string_view name, const OrderState& o) {
  size_t bytes = sizeof(OrderEntry) + kSlot + HeapBytes(name.size()) +
                 o.events.capacity() * sizeof(OrderEventRecord) +
                 kMallocOverhead;
  for (const OrderEventRecord& e : o.events) {
    bytes += HeapBytes(e.id) + HeapBytes(e.buyer);
  }
  return bytes;
}

size_t StateBytesOfEvent(const Event& e) {
  switch (e.type) {
    case EventType::kChat:
      return sizeof(Message) * 5 / 4 + HeapBytes(e.id.size());
    case EventType::kOrder:
      return sizeof(OrderEventRecord) * 5 / 4 + HeapBytes(e.id.size()) +
             HeapBytes(e.buyer.size()) + sizeof(OrderRef) * 5 / 4 +
             HeapBytes(e.order.size());
    case EventType::kAssessment:
      break;
  }
  return 0;
}

}  // namespace chatkpi

#include "engine/evicted_states.h"

#include <utility>

namespace chatkpi {
namespace {

// The heap behind a state, roughly: the budget bounds memory, it is not an
// exact account, and walking the messages to measure their strings would
// touch memory the engine no longer needs (ids of up to 15 bytes, most of
// them, live inside the string).
size_t ApproximateBytes(const BuyerState& b) {
  constexpr size_t kSlot = 64;  // the map's slot and key
  return sizeof(BuyerState) + kSlot +
         b.messages.capacity() * (sizeof(Message) + 8) +
         b.orders.capacity() * (sizeof(OrderRef) + 16) +
         b.agents.capacity() * (sizeof(std::string) + 16) +
         b.order_counts.capacity() * sizeof(OrderCount);
}

}  // namespace

void EvictedStates::Put(uint64_t owner, std::string buyer,
                        std::unique_ptr<BuyerEntry> entry) {
  // An engine puts a buyer only after taking it back (or loading it), so
  // the key is new; if not, the older entry goes.
  if (auto it = index_.find(KeyView{owner, buyer}); it != index_.end()) {
    Held& old = order_[it->second - popped_];
    bytes_ -= old.bytes;
    old.entry.reset();
    index_.erase(it);
  }
  const size_t bytes = ApproximateBytes(entry->state);
  order_.push_back({owner, std::move(buyer), std::move(entry), bytes});
  const Held& held = order_.back();
  index_.emplace(KeyView{held.owner, held.buyer}, popped_ + order_.size() - 1);
  bytes_ += bytes;
  while (bytes_ > budget_ && !order_.empty()) PopOldest();
  if (order_.size() > 2 * index_.size() + 1024) Compact();
}

std::unique_ptr<BuyerEntry> EvictedStates::Take(uint64_t owner,
                                                std::string_view buyer) {
  if (index_.empty()) return nullptr;
  auto it = index_.find(KeyView{owner, {buyer.data(), buyer.size()}});
  if (it == index_.end()) return nullptr;
  Held& held = order_[it->second - popped_];
  index_.erase(it);
  bytes_ -= held.bytes;
  return std::move(held.entry);
}

void EvictedStates::PopOldest() {
  Held& oldest = order_.front();
  if (oldest.entry != nullptr) {
    index_.erase(KeyView{oldest.owner, oldest.buyer});
    bytes_ -= oldest.bytes;
  }
  order_.pop_front();
  ++popped_;
}

void EvictedStates::Compact() {
  std::deque<Held> live;
  for (Held& h : order_) {
    if (h.entry != nullptr) live.push_back(std::move(h));
  }
  // Moved strings may hold their bytes inline: index them again.
  order_.swap(live);
  index_.clear();
  popped_ = 0;
  for (size_t i = 0; i < order_.size(); ++i) {
    index_.emplace(KeyView{order_[i].owner, order_[i].buyer}, i);
  }
}

}  // namespace chatkpi

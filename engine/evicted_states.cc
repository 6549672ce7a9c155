#include "engine/evicted_states.h"

#include <string>
#include <type_traits>
#include <utility>

#include "engine/state_bytes.h"

namespace chatkpi {
namespace {

// AnyEntry's index of each kind of entry.
template <typename Entry>
constexpr size_t kKind = std::is_same_v<Entry, BuyerEntry> ? 0 : 1;

}  // namespace

bool EvictedStates::Taken(const Held& h) {
  return std::visit([](const auto& e) { return e == nullptr; }, h.entry);
}

template <typename Entry>
void EvictedStates::Put(uint64_t owner, std::string name,
                        std::unique_ptr<Entry> entry) {
  const size_t bytes = StateBytes(name, entry->state);
  Put(owner, std::move(name), std::move(entry), bytes);
}

template <typename Entry>
void EvictedStates::Put(uint64_t owner, std::string name,
                        std::unique_ptr<Entry> entry, size_t bytes) {
  std::lock_guard lock(mu_);
  Add(Held{owner, std::move(name), AnyEntry(std::move(entry)), bytes});
}

template <typename Entry>
std::unique_ptr<Entry> EvictedStates::Take(uint64_t owner,
                                           std::string_view name,
                                           size_t* bytes) {
  size_t taken_bytes = 0;
  AnyEntry taken;
  {
    std::lock_guard lock(mu_);
    if (index_.empty()) return nullptr;
    taken = Remove(KeyView{owner, kKind<Entry>, {name.data(), name.size()}},
                   &taken_bytes);
  }
  auto* entry = std::get_if<std::unique_ptr<Entry>>(&taken);
  if (entry == nullptr || *entry == nullptr) return nullptr;
  if (bytes != nullptr) *bytes = taken_bytes;
  return std::move(*entry);
}

template void EvictedStates::Put(uint64_t, std::string,
                                 std::unique_ptr<BuyerEntry>);
template void EvictedStates::Put(uint64_t, std::string,
                                 std::unique_ptr<OrderEntry>);
template void EvictedStates::Put(uint64_t, std::string,
                                 std::unique_ptr<BuyerEntry>, size_t);
template void EvictedStates::Put(uint64_t, std::string,
                                 std::unique_ptr<OrderEntry>, size_t);
template std::unique_ptr<BuyerEntry> EvictedStates::Take(uint64_t,
                                                         std::string_view,
                                                         size_t*);
template std::unique_ptr<OrderEntry> EvictedStates::Take(uint64_t,
                                                         std::string_view,
                                                         size_t*);

void EvictedStates::Add(Held held) {
  bytes_ += held.bytes;
  order_.push_back(std::move(held));
  const uint64_t position = popped_ + order_.size() - 1;
  auto [it, added] = index_.try_emplace(KeyOf(order_.back()), position);
  if (!added) {
    // An engine puts a state only after taking it back (or loading it), so
    // the key is new; if not, the older entry goes (one probe either way).
    Held& older = order_[it->second - popped_];
    bytes_ -= older.bytes;
    std::visit([](auto& e) { e.reset(); }, older.entry);
    // The key viewed the older entry's name: view the new one's.
    index_.erase(it);
    index_.emplace(KeyOf(order_.back()), position);
  }
  while (bytes_ > budget_ && !order_.empty()) PopOldest();
  if (order_.size() > 2 * index_.size() + 1024) Compact();
}

EvictedStates::AnyEntry EvictedStates::Remove(const KeyView& key,
                                              size_t* bytes) {
  auto it = index_.find(key);
  if (it == index_.end()) return AnyEntry();
  Held& held = order_[it->second - popped_];
  index_.erase(it);
  bytes_ -= held.bytes;
  *bytes = held.bytes;
  // Leaves a null of the same kind behind, so KeyOf(held) stays what it
  // was: PopOldest and Compact tell it taken.
  return std::move(held.entry);
}

void EvictedStates::PopOldest() {
  Held& oldest = order_.front();
  if (!Taken(oldest)) {
    index_.erase(KeyOf(oldest));
    bytes_ -= oldest.bytes;
  }
  order_.pop_front();
  ++popped_;
}

void EvictedStates::Compact() {
  std::deque<Held> live;
  for (Held& h : order_) {
    if (!Taken(h)) live.push_back(std::move(h));
  }
  // Moved strings may hold their bytes inline: index them again.
  order_.swap(live);
  index_.clear();
  popped_ = 0;
  for (size_t i = 0; i < order_.size(); ++i) {
    index_.emplace(KeyOf(order_[i]), i);
  }
}

}  // namespace chatkpi

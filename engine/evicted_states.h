// Buyer and order states the engines evicted, kept in memory up to a byte
// budget: a buyer who comes back after the engine's horizon (a day later,
// say), or an order paid or refunded days after it was created, is taken
// from here instead of looked up in the store and decoded again. That
// lookup is a RocksDB point read into large memtables, ~3.5 µs, and on a
// generated shop month one buyer state in two is read back at least once.
//
// Only clean states come here (the store holds the same), so dropping one
// loses nothing; the oldest go first when the budget is exceeded. Every
// engine takes a number of its own, part of each key: an engine never takes
// what another put here, not even an earlier engine of the same shard,
// whose states another process may have changed since (Kafka rebalances).
//
// Shared by the engines of one process; not thread-safe (the engines of a
// store run on one thread).
#ifndef CHATKPI_ENGINE_EVICTED_STATES_H_
#define CHATKPI_ENGINE_EVICTED_STATES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "engine/state.h"

namespace chatkpi {

class EvictedStates {
 public:
  static constexpr size_t kDefaultBudgetBytes = size_t{64} << 20;

  explicit EvictedStates(size_t budget_bytes = kDefaultBudgetBytes)
      : budget_(budget_bytes) {}

  // A number for an engine: part of its keys.
  uint64_t NewOwner() {
    std::lock_guard lock(mu_);
    return ++owners_;
  }

  // Keeps a clean entry (BuyerEntry or OrderEntry) of the buyer or order
  // `name`, taken whole: nothing is copied or allocated anew.
  template <typename Entry>
  void Put(uint64_t owner, std::string name, std::unique_ptr<Entry> entry);
  // Put for a caller that has just counted the entry's StateBytes.
  template <typename Entry>
  void Put(uint64_t owner, std::string name, std::unique_ptr<Entry> entry,
           size_t bytes);
  // `owner`'s entry of `name`, moved out; null when there is none. When
  // `bytes` is not null it gets the entry's StateBytes.
  template <typename Entry>
  std::unique_ptr<Entry> Take(uint64_t owner, std::string_view name,
                              size_t* bytes = nullptr);

  // About what the entries held take in memory.
  size_t bytes() const { return bytes_; }
  size_t size() const { return index_.size(); }

 private:
  using AnyEntry =
      std::variant<std::unique_ptr<BuyerEntry>, std::unique_ptr<OrderEntry>>;
  struct Held {
    uint64_t owner;
    std::string name;
    AnyEntry entry;  // null once taken
    size_t bytes;
  };
  struct KeyView {
    uint64_t owner;
    size_t kind;  // AnyEntry's index: a buyer and an order may share a name
    absl::string_view name;
    bool operator==(const KeyView& o) const {
      return owner == o.owner && kind == o.kind && name == o.name;
    }
    template <typename H>
    friend H AbslHashValue(H h, const KeyView& k) {
      return H::combine(std::move(h), k.owner, k.kind, k.name);
    }
  };
  static bool Taken(const Held& h);
  static KeyView KeyOf(const Held& h) {
    return {h.owner, h.entry.index(), h.name};
  }

  void Add(Held held);
  // Moves out the entry of `key` and gives its bytes; a null one when it
  // is not held.
  AnyEntry Remove(const KeyView& key, size_t* bytes);
  // Pops the oldest, dropping its entry if it was not taken.
  void PopOldest();
  // Drops the taken entries from order_ (under budget nothing is popped,
  // and each entry taken leaves one behind).
  void Compact();

  size_t budget_;
  // Engines of file shards on their own threads share one pool
  // (engine/file_shards.h).
  std::mutex mu_;
  uint64_t owners_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Held> order_ ABSL_GUARDED_BY(mu_);  // oldest first
  uint64_t popped_ ABSL_GUARDED_BY(mu_) =
      0;  // entries popped from order_'s front so far
  // The entries held: key (viewing order_'s strings, which a deque does not
  // move) -> position in order_ counted from its start, popped_ included.
  absl::flat_hash_map<KeyView, uint64_t> index_;
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_EVICTED_STATES_H_

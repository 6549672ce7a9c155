// Limits against hostile or misrouted input that are not errors: a day with
// more distinct agents or buyers than any real shop has (a producer that
// puts random strings in `agent`, a topic shared with another system) is
// still counted exactly, but it is warned about, once, on stderr and in
// `chatkpi stats`. See docs/limits.md.
//
// Distinct counts are estimated with a HyperLogLog sketch per (shard, day)
// and kind (2 KiB each, about 2% error; exact-ish for small counts): cheap
// enough to feed every event, and mergeable, so the sketches that several
// shards (Kafka partitions) keep for one day add up to the day's count. They
// are committed with the state they describe, so a restart neither forgets
// a count nor warns again.
#ifndef CHATKPI_ENGINE_LIMITS_H_
#define CHATKPI_ENGINE_LIMITS_H_

#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/prefetch.h"
#include "engine/meta.h"
#include "store/stable_hash.h"
#include "store/store.h"

namespace chatkpi {

struct CardinalityLimits {
  int64_t max_agents_per_day = 10'000;
  int64_t max_buyers_per_day = 1'000'000;
  // Receives each warning; nullptr prints "chatkpi: warning: ..." to stderr.
  std::function<void(const std::string&)> warn;
};

// A HyperLogLog distinct-count sketch with a stable hash (the same value
// hashes alike in every process, so stored sketches can be merged).
class DistinctSketch {
 public:
  static constexpr int kPrecision = 11;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;

  // True when the estimate may have changed.
  bool Add(std::string_view value) { return AddHash(StableHash(value)); }
  // Starts loading the register that AddHash(hash) reads.
  void PrefetchHash(uint64_t hash) const {
    PrefetchLine(&regs_[hash >> (64 - kPrecision)]);
  }
  // Add of a value whose StableHash the caller has: the same registers.
  bool AddHash(uint64_t hash) {
    const size_t index = hash >> (64 - kPrecision);
    // A guard bit bounds the rank at 64 - kPrecision + 1.
    const uint64_t rest =
        (hash << kPrecision) | (uint64_t{1} << (kPrecision - 1));
    const uint8_t rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
    if (rank <= regs_[index]) return false;
    regs_[index] = rank;
    return true;
  }
  void Merge(const DistinctSketch& other);
  int64_t Estimate() const;

  const std::array<uint8_t, kRegisters>& registers() const { return regs_; }
  std::array<uint8_t, kRegisters>& registers() { return regs_; }

 private:
  std::array<uint8_t, kRegisters> regs_{};
};

// One day's sketches as stored: meta key DayLoadKey(shard, day).
struct DayLoad {
  DistinctSketch agents;
  DistinctSketch buyers;
  bool warned_agents = false;
  bool warned_buyers = false;
};

std::string DayLoadKey(uint32_t shard, int32_t day);
std::string EncodeDayLoad(const DayLoad& d);
bool DecodeDayLoad(std::string_view in, DayLoad* d);

// What the engine feeds: every new chat or order event's day, agent (empty
// for orders) and buyer.
class DayCardinality {
 public:
  DayCardinality(Store* store, uint32_t shard, CardinalityLimits limits);

  absl::Status Observe(int32_t day, std::string_view agent,
                       std::string_view buyer) {
    return Observe(day, agent, buyer, StableHash(buyer));
  }
  // The same with `buyer_hash` = StableHash(buyer) from the caller, who had
  // it already (engine/event_hashes.h): not hashed again.
  absl::Status Observe(int32_t day, std::string_view agent,
                       std::string_view buyer, uint64_t buyer_hash);
  // Starts loading the register that Observe(day, ..., buyer_hash) reads,
  // when the day is in memory: called before the event's apply, whose work
  // then hides the miss (in shuffled input each event's day is another).
  void Prefetch(int32_t day, uint64_t buyer_hash) const {
    const auto& [cached, entry] = recent_[RecentSlot(day)];
    if (entry != nullptr && cached == day) {
      entry->load.buyers.PrefetchHash(buyer_hash);
    }
  }
  // Puts the days changed since the last commit into `commit`; Committed()
  // after the write succeeded.
  void AddTo(Commit* commit);
  void Committed();
  // Drops the days before `day` that neither changed since the last
  // commit nor were written by it from memory (late events reload them).
  void Evict(int32_t day);
  // The cardinalities of the other file shards of the store (this one may
  // be listed): a day's limits are checked against all shards' sketches
  // merged, and a day one of them warned of is not warned of again. Call
  // AddTo only while none of them changes (engine/file_shards.h).
  void set_peers(std::vector<const DayCardinality*> peers) {
    peers_ = std::move(peers);
  }

 private:
  struct Entry {
    DayLoad load;
    bool dirty = false;
    // Written by the last commit, which may not have landed yet (a file
    // shards' commit lands while the next batch is applied): kept until
    // the next one, so that a late event of the day does not read it back
    // and wait for that write (store/announced_write.h).
    bool in_last_commit = false;
  };
  void Check(int32_t day, Entry& e);

  // `day` of all shards: their sketches merged, and whether one warned.
  DayLoad Merged(int32_t day, const DayLoad& own) const;

  Store* store_;
  uint32_t shard_;
  CardinalityLimits limits_;
  std::map<int32_t, Entry> days_;
  // The entries of the days observed last, one per slot (RecentSlot), all
  // null after Evict: a month's days each have their own, so observations
  // skip the map whatever the input's order.
  static constexpr size_t kRecentDays = 64;
  static size_t RecentSlot(int32_t day) {
    return static_cast<uint32_t>(day) % kRecentDays;
  }
  std::array<std::pair<int32_t, Entry*>, kRecentDays> recent_{};
  std::vector<const DayCardinality*> peers_;
};

// Every day of the store whose distinct agents or buyers (all shards
// together) exceed `limits`, for `chatkpi stats`.
struct DayOverLimit {
  int32_t day = 0;
  int64_t agents = 0;
  int64_t buyers = 0;
};
absl::StatusOr<std::vector<DayOverLimit>> DaysOverLimits(
    Store& store, const CardinalityLimits& limits);
// The same as JSON for `chatkpi stats`:
//   {"max_agents_per_day": 10000, "max_buyers_per_day": 1000000,
//    "days_over": [{"day": "2026-11-11", "agents": 12000, "buyers": 800}]}
absl::StatusOr<std::string> DaysOverLimitsJson(Store& store,
                                               const CardinalityLimits& limits,
                                               size_t* days_over);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_LIMITS_H_

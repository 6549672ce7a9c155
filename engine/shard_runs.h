// Which shard applied which events. The event log is one sequence per store
// whatever the number of shards (Kafka partitions) writing it, and keeps
// only the raw bytes. Replay must apply each event in the shard it was
// applied in, since a shard's state and rows are its own (a Kafka member
// resumes partition p on shard p). So every commit of a shard other than 0
// records its run of sequence numbers in `meta`:
//
//   "shardrun/" + seq of the run's first event (8-byte BE)
//       -> shard (4-byte BE) + number of events (8-byte BE)
//
// Events in no run were applied by shard 0 (files, `assess`).
#ifndef CHATKPI_ENGINE_SHARD_RUNS_H_
#define CHATKPI_ENGINE_SHARD_RUNS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/meta.h"

namespace chatkpi {

std::string ShardRunKey(uint64_t first_seq);
std::string ShardRunValue(uint32_t shard, uint64_t count);
bool ParseShardRun(std::string_view key, std::string_view value,
                   uint64_t* first_seq, uint32_t* shard, uint64_t* count);

// The runs of a store, to look up the shard of each event in order.
class ShardRuns {
 public:
  struct Run {
    uint32_t shard;
    uint64_t end;  // one past the last seq
  };
  void Add(uint64_t first_seq, uint32_t shard, uint64_t count) {
    runs_[first_seq] = Run{shard, first_seq + count};
  }
  bool empty() const { return runs_.empty(); }
  // The shard that applied event `seq`.
  uint32_t ShardOf(uint64_t seq) const;

 private:
  std::map<uint64_t, Run> runs_;  // by first seq
};

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_SHARD_RUNS_H_

#include "engine/shard_runs.h"

#include "store/coding.h"

namespace chatkpi {

std::string ShardRunKey(uint64_t first_seq) {
  std::string k = kMetaShardRunPrefix;
  PutFixed64BE(&k, first_seq);
  return k;
}

std::string ShardRunValue(uint32_t shard, uint64_t count) {
  std::string v;
  PutFixed32BE(&v, shard);
  PutFixed64BE(&v, count);
  return v;
}

bool ParseShardRun(std::string_view key, std::string_view value,
                   uint64_t* first_seq, uint32_t* shard, uint64_t* count) {
  const std::string_view prefix = kMetaShardRunPrefix;
  if (key.substr(0, prefix.size()) != prefix) return false;
  key.remove_prefix(prefix.size());
  return GetFixed64BE(&key, first_seq) && key.empty() &&
         GetFixed32BE(&value, shard) && GetFixed64BE(&value, count) &&
         value.empty();
}

uint32_t ShardRuns::ShardOf(uint64_t seq) const {
  auto it = runs_.upper_bound(seq);
  if (it == runs_.begin()) return 0;
  --it;
  return seq < it->second.end ? it->second.shard : 0;
}

}  // namespace chatkpi

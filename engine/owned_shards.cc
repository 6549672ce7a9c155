#include "engine/owned_shards.h"

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace chatkpi {

void PutOwnedShards(Commit* commit, std::vector<uint32_t> shards) {
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  commit->Put(Family::kMeta, kMetaOwnedShards, absl::StrJoin(shards, ","));
}

absl::StatusOr<std::optional<std::vector<uint32_t>>> ReadOwnedShards(
    Store& store) {
  auto stored = store.Get(Family::kMeta, kMetaOwnedShards);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  std::vector<uint32_t> shards;
  for (absl::string_view part :
       absl::StrSplit(**stored, ',', absl::SkipEmpty())) {
    uint32_t shard;
    if (!absl::SimpleAtoi(part, &shard)) {
      return CorruptMeta(store, kMetaOwnedShards, "not a list of shards");
    }
    shards.push_back(shard);
  }
  std::sort(shards.begin(), shards.end());
  return shards;
}

absl::StatusOr<int64_t> ReadDeadLetterCount(Store& store) {
  auto owned = ReadOwnedShards(store);
  if (!owned.ok()) return owned.status();
  int64_t n = 0;
  if (!owned->has_value()) return ReadMetaCounter(store, kMetaDeadLetters);
  const std::vector<uint32_t>& shards = **owned;
  absl::Status s = store.Scan(
      Family::kDead, "", "", [&](std::string_view key, std::string_view) {
        auto shard = KafkaPositionShard(key);
        if (shard.has_value() &&
            std::binary_search(shards.begin(), shards.end(), *shard)) {
          ++n;
        }
        return true;
      });
  if (!s.ok()) return s;
  return n;
}

void PutKafkaPartitionCount(Commit* commit, int partitions) {
  commit->Put(Family::kMeta, kMetaKafkaPartitions, absl::StrCat(partitions));
}

absl::StatusOr<std::optional<int>> ReadKafkaPartitionCount(Store& store) {
  auto stored = store.Get(Family::kMeta, kMetaKafkaPartitions);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::nullopt;
  int n = 0;
  if (!absl::SimpleAtoi(**stored, &n) || n < 1) {
    return CorruptMeta(store, kMetaKafkaPartitions, "not a partition count");
  }
  return n;
}

std::optional<uint32_t> KafkaPositionShard(std::string_view position) {
  // Topic names cannot contain '/', so the last two fields are the
  // partition and the offset.
  const size_t last = position.rfind('/');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const size_t prev = position.rfind('/', last - 1);
  if (prev == std::string_view::npos) return std::nullopt;
  uint32_t shard;
  int64_t offset;
  if (!absl::SimpleAtoi(
          absl::string_view(position.data() + prev + 1, last - prev - 1),
          &shard) ||
      !absl::SimpleAtoi(absl::string_view(position.data() + last + 1,
                                          position.size() - last - 1),
                        &offset)) {
    return std::nullopt;
  }
  return shard;
}

}  // namespace chatkpi

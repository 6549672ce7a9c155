// Which shards (input partitions) a store currently keeps up to date.
//
// A store fed from files has one shard (0) and never records this. A store
// fed by a Kafka consumer-group member keeps one shard per partition number
// it was ever assigned; after a rebalance it still holds the rows of
// partitions that moved to another member, frozen at the hand-over. Only the
// owned shards are its share of the group's KPIs: the union over the
// members' owned shards is the whole.
#ifndef CHATKPI_ENGINE_OWNED_SHARDS_H_
#define CHATKPI_ENGINE_OWNED_SHARDS_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/meta.h"
#include "store/store.h"

namespace chatkpi {

// Meta key kMetaOwnedShards (engine/meta.h); the value is the sorted shard
// numbers as text, "0,1,5" ("" for none), so that `chatkpi stats` and
// people can read it.

// Records `shards` (any order) as the owned set in `commit`.
void PutOwnedShards(Commit* commit, std::vector<uint32_t> shards);

// The owned set, sorted; nullopt when the store never recorded one (it was
// fed from files: every shard counts).
absl::StatusOr<std::optional<std::vector<uint32_t>>> ReadOwnedShards(
    Store& store);

// The dead letters that are this store's share: all of them
// (kMetaDeadLetters) in a store that records no owned set (files, or a
// query instance's changelog store), only those of the owned shards in a
// Kafka member's store, so that summing the members' counts the group's
// dead letters once.
absl::StatusOr<int64_t> ReadDeadLetterCount(Store& store);

// Meta key kMetaKafkaPartitions: the input topics' partition count a Kafka
// member's store was built from, as decimal text; the owned set is that
// store's share of so many partitions.
void PutKafkaPartitionCount(Commit* commit, int partitions);
// nullopt when the store never recorded one (files, or a member of an
// earlier build); DataLoss when the record is not a count.
absl::StatusOr<std::optional<int>> ReadKafkaPartitionCount(Store& store);

// The shard of a dead letter's Kafka position "topic/partition/offset";
// nullopt for file positions ("path:line") and anything malformed.
std::optional<uint32_t> KafkaPositionShard(std::string_view position);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_OWNED_SHARDS_H_

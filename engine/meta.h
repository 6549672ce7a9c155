// Every key of the store's `meta` family (store/store.h) and the typed
// readers and writers of the values that more than their writer reads.
//
// The engine writes these keys; query/, tools/ and the engine's own
// readers read them through the functions below, never by decoding the
// bytes themselves. A value that is present but does not decode is damage:
// the readers return DataLoss naming the store and the key, never a
// default in its place (a wrong number with exit 0 is the worst outcome,
// docs/hardening.md). An absent value is the documented state of a store
// that never wrote it (nullopt, 0 or an empty list, as each reader says).
//
// Keys (a "prefix" is followed by the part named after it):
//   rules                       canonical JSON of the live rules
//                               (engine/rules.h)
//   rules.seen/ VERSION         canonical JSON of an earlier rules version
//                               the store's history was built under
//                               (docs/replay.md)
//   replaced/ GENERATION        ReplacedRecord as JSON: when replay
//                               switched away from that generation
//   stats.dead_letters          varsint64 (store/coding.h): dead letters
//                               of every shard
//   stats.conflicts             varsint64: conflicting duplicates recorded
//   conflict/ ID \0 HASH        a conflict record (engine/conflict_record.h)
//   pos/ SOURCE                 a source position: decimal line or offset,
//                               then tab-separated fields of its reader
//                               (store/store_files.h names this prefix too)
//   acand/ KEY                  the assessment events of a key (engine.cc)
//   owned_shards                owned shard numbers, "0,1,5"
//                               (engine/owned_shards.h)
//   kafka.stats                 the latest consumer figures as JSON
//                               (engine/kafka_ingest.h)
//   kafka.partitions            the topics' partition count the store was
//                               built from, decimal (engine/kafka_ingest.h)
//   changelog.group             a query instance's: the consumer group whose
//                               changelog rows it takes (engine/changelog.h)
//   shardrun/ SEQ               a shard's run of events (engine/shard_runs.h)
//   limits/day/ SHARD DAY       a day's distinct sketches (engine/limits.h)
//   changelog.published_epoch/ TOPIC / PARTITION
//                               the owner epoch a member last published
//   changelog.epoch/ PARTITION  a changelog reader's owner epoch
//   changelog.dead_letters/ PARTITION
//                               a changelog reader's dead letters, decimal
//                               (engine/changelog.h)
//   roster/ VERSION             an agent roster (query/roster.h)
//   chatkpi.commits             the store's own commit count (store/store.cc)
#ifndef CHATKPI_ENGINE_META_H_
#define CHATKPI_ENGINE_META_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/rules.h"
#include "store/store.h"

namespace chatkpi {

inline constexpr char kMetaRules[] = "rules";
inline constexpr char kMetaRulesSeenPrefix[] = "rules.seen/";
inline constexpr char kMetaReplacedPrefix[] = "replaced/";
inline constexpr char kMetaDeadLetters[] = "stats.dead_letters";
inline constexpr char kMetaConflicts[] = "stats.conflicts";
inline constexpr char kMetaSuperseded[] = "stats.superseded";
inline constexpr char kMetaConflictPrefix[] = "conflict/";
inline constexpr char kMetaPositionPrefix[] = "pos/";
inline constexpr char kMetaAssessmentCandidatesPrefix[] = "acand/";
inline constexpr char kMetaOwnedShards[] = "owned_shards";
inline constexpr char kMetaKafkaStats[] = "kafka.stats";
inline constexpr char kMetaKafkaPartitions[] = "kafka.partitions";
inline constexpr char kMetaChangelogGroup[] = "changelog.group";
inline constexpr char kMetaShardRunPrefix[] = "shardrun/";
inline constexpr char kMetaDayLoadPrefix[] = "limits/day/";
inline constexpr char kMetaPublishedEpochPrefix[] =
    "changelog.published_epoch/";
inline constexpr char kMetaChangelogEpochPrefix[] = "changelog.epoch/";
inline constexpr char kMetaChangelogDeadLettersPrefix[] =
    "changelog.dead_letters/";
inline constexpr char kMetaRosterPrefix[] = "roster/";

// DataLoss "--db DIR: stored meta key KEY is corrupt: WHAT" — what every
// reader here returns for a value that does not decode.
absl::Status CorruptMeta(std::string_view store_dir, std::string_view key,
                         std::string_view what);
inline absl::Status CorruptMeta(const Store& store, std::string_view key,
                                std::string_view what) {
  return CorruptMeta(store.dir(), key, what);
}

// --- rules ---

// The live rules as stored: parsed, and the exact stored text (what a
// reader compares to notice that a replay switched them).
struct StoredRulesRecord {
  Rules rules;
  std::string json;
};
// The rules stored under `key` (kMetaRules, a rules.seen/ key) in the store
// at `store_dir`, for readers that hold the bytes (a follower's); DataLoss
// when they do not parse.
absl::StatusOr<Rules> DecodeStoredRules(std::string_view store_dir,
                                        std::string_view key,
                                        std::string_view text);
// nullopt for a new store; DataLoss when the stored text does not parse.
absl::StatusOr<std::optional<StoredRulesRecord>> ReadStoredRulesRecord(
    Store& store);
// The rules `store` was built under, or nullopt for a new store.
absl::StatusOr<std::optional<Rules>> StoredRules(Store& store);
// The rules `store` was built under, or the defaults (docs/spec.md §2) for a
// new store: what a writer given no rules file works under.
absl::StatusOr<Rules> LiveRulesOrDefault(Store& store);
void PutStoredRules(Commit* commit, const Rules& rules);

// The versions under "rules.seen/", in key order; each value must parse as
// rules (DataLoss otherwise).
absl::StatusOr<std::vector<std::string>> ReadEarlierRulesVersions(Store& store);

// --- counters ---

// A varsint64 counter (stats.dead_letters, stats.conflicts): 0 when absent;
// DataLoss when the bytes are not exactly one varsint64.
absl::StatusOr<int64_t> ReadMetaCounter(Store& store, std::string_view key);
// The same, nullopt when absent (a counter whose absence means "unknown").
absl::StatusOr<std::optional<int64_t>> ReadMetaCounterIfPresent(
    Store& store, std::string_view key);
void PutMetaCounter(Commit* commit, std::string_view key, int64_t value);

// --- source positions ---

// Source (the key without "pos/") -> its position (the value's first field,
// a decimal line number or offset), in key order. DataLoss when a position
// is not a non-negative decimal number.
absl::StatusOr<std::map<std::string, std::string>> ReadSourcePositions(
    Store& store);

// --- generations replaced by replay ---

struct ReplacedRecord {
  std::string version;         // the rules version it was built under
  int64_t switched_at_ms = 0;  // Unix ms of the switch
  int64_t events = 0;          // events in its log at the switch
};
std::string EncodeReplacedRecord(const ReplacedRecord& r);
// nullopt when `generation` was never replaced in this store.
absl::StatusOr<std::optional<ReplacedRecord>> ReadReplacedRecord(
    Store& store, std::string_view generation);

// --- Kafka consumer figures ---

// The stored JSON object, or nullopt for a store no consumer wrote;
// DataLoss when it is not one JSON object.
absl::StatusOr<std::optional<std::string>> ReadKafkaStats(Store& store);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_META_H_

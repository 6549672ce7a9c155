// The changelog: a compacted Kafka topic through which the members of a
// consumer group publish their (agent, day) rows, so that any process can
// hold the whole team's KPIs without owning any partition.
//
// A message per row: key "<partition>/<yyyy-mm-dd>/<agent>" (the input
// partition is the shard that computed the row; the agent comes last since
// it may hold any character), value the row's whole counters
// (EncodeCounters), or no value (a tombstone) for a row that became zero.
// Whole values rather than deltas make the topic safe to compact, to read
// twice and to receive a row again after a crash: the last one wins.
//
// Owner epochs (docs/scaling.md "The changelog protocol"). Partitions move
// between members, and each member publishes the rows of its own store, so
// the last message of a key may come from a member that no longer owns the
// partition, or a row of an earlier owner may never be overwritten by the
// current one. So every message carries the publisher's owner epoch of the
// partition in header "epoch" (decimal): the consumer group generation in
// which the publisher's ownership began, larger than every earlier owner's.
// A member that takes a partition over publishes, before any row:
//
//   "<partition>/owner"         the reset marker (value: the epoch)
//   "<partition>/<day>/<agent>" every row its store holds for the partition
//   "<partition>/dead_letters"  the partition's dead-letter count (decimal)
//
// and afterwards the rows and the count that each commit changes. A reader
// keeps the highest epoch seen per partition: a message of a lower epoch is
// dropped (a former owner's, late or still running), one of a higher epoch
// first empties the partition (rows, rollups, dead letters), since the new
// owner republishes everything it holds. Messages without the header have
// epoch 0.
//
// A reader applies messages to its own store as rows of shard <partition>
// (Family::kAggregates), keeping the month rollups (Family::kRollups) equal
// to the sum of their days by adding each row's change to its month. The
// store then answers ReadSnapshot and the HTTP API like an engine's; its
// dead-letter count (kMetaDeadLetters) is the sum of the partitions'.
#ifndef CHATKPI_ENGINE_CHANGELOG_H_
#define CHATKPI_ENGINE_CHANGELOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/counters.h"
#include "ingest/kafka_config.h"
#include "store/store.h"

namespace chatkpi {

inline constexpr char kChangelogEpochHeader[] = "epoch";
// The rules version the publishing member computed its rows under; a query
// instance refuses rows of other rules than its own (docs/scaling.md).
inline constexpr char kChangelogRulesHeader[] = "rules";
// The consumer group of the publishing member. Owner epochs are a group's
// (its generation ids): a query instance takes the rows of the first group
// it reads and stops at another's, whose epochs would drop or mix rows.
inline constexpr char kChangelogGroupHeader[] = "group";

std::string ChangelogKey(uint32_t partition, int32_t day,
                         std::string_view agent);
bool ParseChangelogKey(std::string_view key, uint32_t* partition, int32_t* day,
                       std::string* agent);
// The reset marker's and the dead-letter count's keys.
std::string ChangelogOwnerKey(uint32_t partition);
std::string ChangelogDeadLettersKey(uint32_t partition);

// The changelog topics whose rows `store` holds, by its stored positions:
// a query instance's store names one, any other store none.
absl::StatusOr<std::set<std::string>> ChangelogTopicsRead(Store& store);

// Stages changelog messages and writes them to a store in batches, each
// batch with the offsets it reached (meta "pos/changelog/<topic>/<p>"), so a
// reader on a kept store resumes where it stopped.
class ChangelogApplier {
 public:
  ChangelogApplier(Store* store, std::string topic);

  // Stages one message with its "epoch" header (empty: none). False
  // (nothing staged) when the key, value or epoch is not a changelog
  // message's. A message of an epoch older than the partition's is
  // dropped (counted in stale()).
  absl::StatusOr<bool> Apply(int32_t partition, int64_t offset,
                             std::string_view key, std::string_view value,
                             std::string_view epoch = {});
  // Writes what was staged, atomically.
  absl::Status Flush();
  size_t staged() const { return staged_; }
  int64_t stale() const { return stale_; }
  int64_t resets() const { return resets_; }

  // The next offset to read of each partition with a stored position.
  absl::StatusOr<std::map<int32_t, int64_t>> StoredOffsets();

 private:
  absl::StatusOr<Counters*> Load(Family f, const std::string& key);
  // The partition's current epoch (staged or stored).
  absl::StatusOr<int64_t> Epoch(uint32_t partition);
  // Stages the emptying of the partition for a newer owner.
  absl::Status Reset(uint32_t partition, int64_t epoch);

  Store* store_;
  std::string topic_;
  // Rows as they will be after Flush, by store key.
  absl::flat_hash_map<std::string, Counters> days_;
  absl::flat_hash_map<std::string, Counters> months_;
  std::map<uint32_t, int64_t> epochs_;        // loaded or staged
  std::map<uint32_t, int64_t> dead_letters_;  // staged, by partition
  std::set<uint32_t> epochs_changed_;
  std::map<int32_t, int64_t> last_offsets_;
  size_t staged_ = 0;
  int64_t stale_ = 0;
  int64_t resets_ = 0;
};

struct ChangelogReaderOptions {
  KafkaClientConfig client;
  std::string topic;
  // A batch is written after this many messages or this long.
  size_t flush_every = 20'000;
  absl::Duration flush_interval = absl::Milliseconds(200);
  // Stop once every partition has been read to its end.
  bool until_caught_up = false;
  // Checked between messages; set it to stop.
  const std::atomic<bool>* stop = nullptr;
  // After each batch that changed rows (e.g. to wake the dashboard).
  std::function<void()> on_flush;
  // Progress lines; null: stderr.
  std::function<void(const std::string&)> log;
  // The view's rules version: a message whose "rules" header names another
  // stops the reader. Empty: not checked.
  std::string rules_version;
};

struct ChangelogReaderReport {
  int64_t messages = 0;
  int64_t malformed = 0;  // keys or values that are not a row's
  int64_t stale = 0;      // messages of a former owner, dropped
  int64_t resets = 0;     // partitions emptied for a new owner
  bool caught_up = false;
};

// Reads every partition of the changelog topic (no consumer group: each
// reader sees everything), from the store's positions or the beginning,
// into `store` until stopped or caught up (options.until_caught_up).
absl::Status RunChangelogReader(Store* store,
                                const ChangelogReaderOptions& options,
                                ChangelogReaderReport* report);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_CHANGELOG_H_

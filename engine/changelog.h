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
// A reader applies messages to its own store as rows of shard <partition>
// (Family::kAggregates), keeping the month rollups (Family::kRollups) equal
// to the sum of their days by adding each row's change to its month. The
// store then answers ReadSnapshot and the HTTP API like an engine's.
#ifndef CHATKPI_ENGINE_CHANGELOG_H_
#define CHATKPI_ENGINE_CHANGELOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
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

std::string ChangelogKey(uint32_t partition, int32_t day,
                         std::string_view agent);
bool ParseChangelogKey(std::string_view key, uint32_t* partition, int32_t* day,
                       std::string* agent);

// Stages changelog messages and writes them to a store in batches, each
// batch with the offsets it reached (meta "pos/changelog/<topic>/<p>"), so a
// reader on a kept store resumes where it stopped.
class ChangelogApplier {
 public:
  ChangelogApplier(Store* store, std::string topic);

  // Stages one message. False (nothing staged) when the key or value is
  // not a changelog row's.
  absl::StatusOr<bool> Apply(int32_t partition, int64_t offset,
                             std::string_view key, std::string_view value);
  // Writes what was staged, atomically.
  absl::Status Flush();
  size_t staged() const { return staged_; }

  // The next offset to read of each partition with a stored position.
  absl::StatusOr<std::map<int32_t, int64_t>> StoredOffsets();

 private:
  absl::StatusOr<Counters*> Load(Family f, const std::string& key);

  Store* store_;
  std::string topic_;
  // Rows as they will be after Flush, by store key.
  absl::flat_hash_map<std::string, Counters> days_;
  absl::flat_hash_map<std::string, Counters> months_;
  std::map<int32_t, int64_t> last_offsets_;
  size_t staged_ = 0;
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
};

struct ChangelogReaderReport {
  int64_t messages = 0;
  int64_t malformed = 0;  // keys or values that are not a row's
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

// Period snapshots (docs/spec.md §6): the sum of the committed (agent, day)
// aggregates over [from, to], rendered as JSON or CSV.
#ifndef CHATKPI_QUERY_SNAPSHOT_H_
#define CHATKPI_QUERY_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "engine/counters.h"

namespace chatkpi {

class Store;

struct AgentRow {
  std::string agent;
  Counters counters;
};

struct PeriodSnapshot {
  absl::CivilDay from;
  absl::CivilDay to;
  std::string rules_version;
  std::vector<AgentRow> agents;  // sorted by agent id; non-zero rows only
  Counters unattributed;         // only the order counters are ever set
  // The team row: the sum of the agent rows (silent orders excluded: no
  // agent earned them), summed with overflow checks by ReadSnapshot.
  Counters team;
  int64_t dead_letters = 0;  // all dead letters in the store
  // The rules' `response.thresholds_s`: which threshold figures rows carry.
  std::vector<int64_t> thresholds_s = {30, 60, 180};
};

enum class ColumnLanguage { kEnglish, kChinese };

// Column titles in the snapshot's column order.
std::string_view CounterTitle(Counter c, ColumnLanguage lang);
std::string_view RatioTitle(Ratio r, ColumnLanguage lang);

// Appends `"consultations": 1, ...` — every counter, then every ratio
// (none with `orders_only`, which writes the order counters alone).
void AppendCountersJson(std::string* out, const Counters& c,
                        bool orders_only = false);

// Sums the aggregates of days [from, to] over all shards. Every sum is
// overflow-checked and every stored row must be non-negative: a figure that
// would wrap (OutOfRange) or a negative count (DataLoss) fails the read
// instead of showing a wrong number.
absl::StatusOr<PeriodSnapshot> ReadSnapshot(Store& store, absl::CivilDay from,
                                            absl::CivilDay to);

std::string SnapshotToJson(const PeriodSnapshot& s);
// CSV with a UTF-8 BOM: one row per agent, then the unattributed row, then a
// team total row.
std::string SnapshotToCsv(const PeriodSnapshot& s,
                          ColumnLanguage lang = ColumnLanguage::kEnglish);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_SNAPSHOT_H_

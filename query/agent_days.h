// One agent's counters day by day: the rows behind its snapshot row, for
// charts and drill-down. Aggregates are keyed shard|day|agent, so an agent's
// days are found by one seek per (shard, day that has rows), not by reading
// every agent's rows.
#ifndef CHATKPI_QUERY_AGENT_DAYS_H_
#define CHATKPI_QUERY_AGENT_DAYS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "engine/counters.h"

namespace chatkpi {

class Store;

// Longest range ReadAgentDays accepts: a year and a day (a leap year's
// month-over-month comparison).
inline constexpr int kMaxAgentDays = 367;

struct AgentDays {
  std::string agent;
  absl::CivilDay from;
  absl::CivilDay to;
  std::vector<Counters> days;  // days[i] is from + i, zeros where no row
  bool any_row = false;        // some day in the range had a row
  Counters total;              // the sum of `days`, overflow-checked
  // The stored rules' `response.thresholds_s`: which threshold figures
  // each row carries (docs/spec.md §3).
  std::vector<int64_t> thresholds_s = {30, 60, 180};
};

// Sums `agent`'s rows over all shards, day by day, for [from, to]. The range
// must be ordered and at most kMaxAgentDays long. Like ReadSnapshot, a sum
// that would overflow or a negative stored counter fails the read.
absl::StatusOr<AgentDays> ReadAgentDays(Store& store, std::string_view agent,
                                        absl::CivilDay from, absl::CivilDay to);

// Whether `agent` has a row on any day at all (cost: one seek per shard and
// day that has rows, so call it only when a range came back empty).
absl::StatusOr<bool> AgentHasRows(Store& store, std::string_view agent);

// {"agent", "from", "to", "days": [{"day", counters..., ratios...}],
//  "total": {"agent", counters..., ratios...}}; the total is exactly the
// agent's row of the period's snapshot.
std::string AgentDaysToJson(const AgentDays& d);

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_AGENT_DAYS_H_

// What the dashboard needs beyond the committed (agent, day) counters: the
// questions waiting for an answer right now, and response times hour by
// hour (docs/dashboard.md). Neither is in the aggregates, and a scan of the
// store's buyer states would cost a read of every buyer, so the view keeps
// its own copy of recent chat messages, fed from the tail of the store's
// event log. That works the same in the process that commits and in a
// follower of another process's commits (Store::CatchUp), and needs no hook
// in the engine.
//
// The view starts from the newest `backfill_events` events of the log (and
// starts over from there if it ever falls further behind), so questions
// whose messages are all older than that are unknown to it. Message order
// and question rules are the engine's own (ThreadDayCounters), so where the
// view holds every message of a thread its hours sum to the day's counters.
#ifndef CHATKPI_QUERY_LIVE_VIEW_H_
#define CHATKPI_QUERY_LIVE_VIEW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/counters.h"

namespace chatkpi {

class Store;

struct LiveViewOptions {
  // Newest events read when the view starts or falls behind by more.
  uint64_t backfill_events = 200'000;
};

struct AgentLive {
  // Per hour of the day: questions, answered, unanswered, response_ms_sum
  // and slow of the questions opened in that hour (other counters zero).
  std::vector<Counters> hours;
  // Open times of the agent's unanswered questions opened at most
  // response.window_s before `now`, oldest first: the buyers waiting.
  std::vector<int64_t> waiting_since_ms;
};

struct LiveDay {
  absl::CivilDay day;
  std::string rules_version;
  std::string timezone;
  int64_t response_window_ms = 0;
  int64_t slow_ms = 0;
  // Start of each local hour of the day, then the end of the day (24 hours
  // but for a daylight-saving change).
  std::vector<int64_t> hour_starts_ms;
  std::map<std::string, AgentLive> agents;  // agents with questions or waiters
  uint64_t first_seq = 0;                   // oldest event the view has read
  uint64_t next_seq = 0;  // events of the log the view has read
  // first_seq is 0: the view saw the whole log, so nothing is missing.
  bool complete = false;
};

class LiveView {
 public:
  // `store` must outlive the view; it may be written (or caught up) by
  // another thread meanwhile.
  explicit LiveView(Store* store, LiveViewOptions options = {});
  ~LiveView();
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;

  // Reads what was committed since the last call, then describes `day`
  // (default: the local day of `now` in the store's time zone). Waiting
  // questions are as of `now`. Thread-safe; calls are serialized.
  absl::StatusOr<LiveDay> Read(std::optional<absl::CivilDay> day,
                               absl::Time now);

  // The local day of `now` in the time zone of the store's rules.
  absl::StatusOr<absl::CivilDay> Today(absl::Time now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_LIVE_VIEW_H_

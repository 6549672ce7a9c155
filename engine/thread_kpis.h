// The chat counters of docs/spec.md §3 for one thread (agent, buyer) and one
// local day, computed from the buyer's messages. The engine calls it for the
// days an event can change, before and after inserting the event, and emits the
// difference: retract-and-recount without storing what was counted.
#ifndef CHATKPI_ENGINE_THREAD_KPIS_H_
#define CHATKPI_ENGINE_THREAD_KPIS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine/counters.h"
#include "engine/local_day.h"
#include "engine/rules.h"
#include "engine/service_hours.h"
#include "engine/state.h"

namespace chatkpi {

struct ChatParams {
  int64_t response_window_ms = 3600'000;
  int64_t slow_ms = 40'000;
  // Service hours; null: always open, response time is calendar time.
  std::shared_ptr<const BusinessClock> business;

  // Response time of a question opened at `open` and closed at `close`
  // (docs/spec.md §3): business time under service hours. Past the window
  // it is only known to be over it.
  int64_t ResponseMs(int64_t open, int64_t close) const {
    return business == nullptr
               ? close - open
               : business->BusinessMs(open, close, response_window_ms);
  }
};

// The chat parameters of `rules`.
ChatParams ChatParamsOf(const Rules& rules);

// Counters of the thread of `agent` in `b` on the local day [start, end).
Counters ThreadDayCounters(const BuyerState& b, uint32_t agent,
                           int64_t day_start_ms, int64_t day_end_ms,
                           const ChatParams& p);
// Adds sign * ThreadDayCounters(...) to *c, so that the counts before a
// change (sign -1) and after it (+1) make its delta in one Counters. The
// counts of one thread's day are far from int64's limits: unchecked, as
// ThreadDayCounters' own sums.
void AddThreadDayCounters(const BuyerState& b, uint32_t agent,
                          int64_t day_start_ms, int64_t day_end_ms,
                          const ChatParams& p, int sign, Counters* c);

// Whether a message of `agent` inserted at index `pos` of b.messages is the
// last of its thread: no message of `agent` is at `pos` or after.
bool AppendsToThread(const BuyerState& b, uint32_t agent, size_t pos);

// What appending `x` to its thread changes in the counters of the thread's
// local day [start, end): ThreadDayCounters with `x` in b.messages minus
// without, for `b` without `x`, when AppendsToThread(b, x.agent, the index
// `x` goes to) and day_start_ms <= x.ts. One pass over the day instead of
// two: the count without `x` is a fold over the thread's messages, and the
// count with it the same fold one message further (docs/engine.md,
// "Throughput").
Counters AppendedThreadDayDelta(const BuyerState& b, const Message& x,
                                int64_t day_start_ms, int64_t day_end_ms,
                                const ChatParams& p);
// Adds AppendedThreadDayDelta(...) to *c.
void AddAppendedThreadDayDelta(const BuyerState& b, const Message& x,
                               int64_t day_start_ms, int64_t day_end_ms,
                               const ChatParams& p, Counters* c);

// The days whose thread counters can change when a non-auto message of
// `agent` at time `ts` is inserted at index `pos` of b.messages. Questions
// are the stretches between two non-auto `out` messages, so only the stretch
// holding `pos` can change: its first `in` before and after `pos`, and the
// message's own day (consultation, reply, courtesy).
// At most three days: inline, so the per-message path allocates nothing.
using ThreadDays = absl::InlinedVector<int32_t, 3>;
ThreadDays AffectedThreadDays(const BuyerState& b, uint32_t agent, size_t pos,
                              int64_t ts, LocalCalendar& cal);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_THREAD_KPIS_H_

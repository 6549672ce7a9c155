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
// ThreadDayCounters' own sums. Messages with any of the `skipped` flags
// count as if `b` did not hold them: the counters before messages that are
// in `b` already (Engine::ApplyChats).
void AddThreadDayCounters(const BuyerState& b, uint32_t agent,
                          int64_t day_start_ms, int64_t day_end_ms,
                          const ChatParams& p, int sign, Counters* c,
                          uint8_t skipped = 0);

// What inserting `x` at index `pos` of b.messages (b without `x`; `pos`
// where MessageBefore puts it) changes in the counters of x's thread on
// the local day [start, end), for day_start_ms <= x.ts: ThreadDayCounters
// with `x` minus without. One pass over the day instead of two: the
// thread's messages before `pos` fold the same with and without `x`, so
// they are stepped once and count in neither; from `pos` on both folds
// step until they reach the same state (usually at the thread's next
// `out`), after which they count the same (docs/engine.md, "Throughput").
// Appended at the end of its thread, `x` costs one fold of the day; a late
// message, one fold plus the steps to the next `out`.
Counters InsertedThreadDayDelta(const BuyerState& b, const Message& x,
                                size_t pos, int64_t day_start_ms,
                                int64_t day_end_ms, const ChatParams& p);
// Adds InsertedThreadDayDelta(...) to *c.
void AddInsertedThreadDayDelta(const BuyerState& b, const Message& x,
                               size_t pos, int64_t day_start_ms,
                               int64_t day_end_ms, const ChatParams& p,
                               Counters* c);

// The days whose thread counters can change when a non-auto message of
// `agent` at time `ts` is inserted at index `pos` of b.messages. Questions
// are the stretches between two non-auto `out` messages, so only the stretch
// holding `pos` can change: its first `in` before and after `pos`, and the
// message's own day (consultation, reply, courtesy).
// At most three days: inline, so the per-message path allocates nothing.
using ThreadDays = absl::InlinedVector<int32_t, 3>;
ThreadDays AffectedThreadDays(const BuyerState& b, uint32_t agent, size_t pos,
                              int64_t ts, LocalCalendar& cal);
// The same for the message already at b.messages[at]: the days that
// inserting it into `b` without it would change. For several messages
// inserted at once, the union of each one's days with all of them in `b`
// holds every day the whole insertion changes: insert them one by one in
// (ts, id) order; the messages before each one are then the same as with
// all in, and the first of its thread after it, if not the same, is the
// one after the last new message before it.
ThreadDays AffectedThreadDaysOf(const BuyerState& b, size_t at,
                                LocalCalendar& cal);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_THREAD_KPIS_H_

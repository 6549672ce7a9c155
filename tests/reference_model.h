// A batch reference model of docs/spec.md §3: the counters computed from scratch over
// a whole set of events. It shares no code with the engine (only the Event,
// Rules and Counters types and the day numbering), so that randomized tests
// comparing the two catch mistakes in either. It favours being obviously
// right over being fast: everything is sorted, grouped and rescanned.
#ifndef CHATKPI_TESTS_REFERENCE_MODEL_H_
#define CHATKPI_TESTS_REFERENCE_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/counters.h"
#include "engine/rules.h"
#include "ingest/event.h"

namespace chatkpi {

// (agent, local day number as in engine/local_day.h). The agent "" holds the
// unattributed orders, which is why a chat with agent "" would share its row.
using RefKey = std::pair<std::string, int32_t>;
using RefDays = std::map<RefKey, Counters>;

// The §3 counters of every (agent, day) that some event touches. `events`
// must already be valid; assessments are ignored. Of several events with one
// id only the first in vector order counts, whatever the others contain.
RefDays ReferenceDays(const std::vector<Event>& events, const Rules& rules);

// Of the events sharing an id, the copy that counts under the rule of
// docs/engine.md ("Duplicates"): copies with the same content are one event;
// of copies that differ, the one that is smallest comparing ts, type, then
// the type's fields in the documented order (a string by its length, then
// its bytes) wins. Returns one event per id, in the order of first arrival.
// Written apart from ingest/event_content.cc: a tuple compare, no bytes.
std::vector<Event> ReferenceWinners(const std::vector<Event>& events);

// How many conflicting duplicates `events` hold: per id, its distinct
// contents less one.
int64_t ReferenceConflicts(const std::vector<Event>& events);

struct RefSnapshot {
  std::map<std::string, Counters> agents;  // only rows with a non-zero counter
  Counters unattributed;
};

// Sums the days [from_day, to_day] (inclusive).
RefSnapshot ReferencePeriod(const RefDays& days, int32_t from_day,
                            int32_t to_day);

inline RefSnapshot ReferenceSnapshot(const std::vector<Event>& events,
                                     const Rules& rules, int32_t from_day,
                                     int32_t to_day) {
  return ReferencePeriod(ReferenceDays(events, rules), from_day, to_day);
}

}  // namespace chatkpi

#endif  // CHATKPI_TESTS_REFERENCE_MODEL_H_

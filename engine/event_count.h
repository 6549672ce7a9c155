// How many events a store holds: the distinct ids of its event log.
//
// The log has an entry for every copy the engine counted, and a conflicting
// duplicate that wins over a copy already logged is appended beside it
// (docs/engine.md, "Duplicates"). Which copies were logged first depends on
// arrival order and, with several threads, on how the shards interleaved,
// so the log's length is no figure to show: the same input gives other
// lengths. The store counts, in "stats.superseded", the entries a later
// entry of the same id replaces, in the commit that appends the later one
// (Engine::PutStoreCounters); the events it holds are the log's length less
// that count, the same for every order of arrival and every `--threads`.
//
// Stores written before the counter existed lack its key. One that records
// no conflicting duplicate (stats.conflicts is 0) never replaced an entry;
// for any other the count is found by reading the log once, and the next
// commit writes it.
#ifndef CHATKPI_ENGINE_EVENT_COUNT_H_
#define CHATKPI_ENGINE_EVENT_COUNT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace chatkpi {

// The stored count (ReadMetaCounterIfPresent of kMetaSuperseded), or, for a
// store without it, what its log holds.
absl::StatusOr<int64_t> SupersededEntries(Store& store);

// The distinct events the store holds: next_seq() - SupersededEntries.
absl::StatusOr<int64_t> EventsHeld(Store& store);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_EVENT_COUNT_H_

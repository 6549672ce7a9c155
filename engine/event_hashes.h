// The stable hashes of an event that several stages need: its id (the id
// filter and index) and its file-shard key (the shard choice; a chat's or
// order's buyer is also what the day's distinct-buyer sketch counts).
// FileShards computes them once per event, on the thread that queues it
// (HashEvent); every other caller gets the same values computed on demand.
// They are StableHash values, so what they decide on disk (file shards,
// the id filter, the sketches' registers) is the same either way.
#ifndef CHATKPI_ENGINE_EVENT_HASHES_H_
#define CHATKPI_ENGINE_EVENT_HASHES_H_

#include <cstdint>
#include <string_view>

#include "ingest/event.h"
#include "store/stable_hash.h"

namespace chatkpi {

// What `e` is sharded by: its buyer, an assessment (which has none) by its
// agent.
inline std::string_view ShardKeyOf(const Event& e) {
  return e.type == EventType::kAssessment ? e.agent : e.buyer;
}

// Fills e->id_hash and e->key_hash and sets e->hashed. Call it once the
// event is parsed and will no longer change.
inline void HashEvent(Event* e) {
  e->id_hash = StableHash(e->id);
  e->key_hash = StableHash(ShardKeyOf(*e));
  e->hashed = true;
}

// StableHash(e.id).
inline uint64_t IdHashOf(const Event& e) {
  return e.hashed ? e.id_hash : StableHash(e.id);
}
// StableHash(ShardKeyOf(e)).
inline uint64_t ShardKeyHashOf(const Event& e) {
  return e.hashed ? e.key_hash : StableHash(ShardKeyOf(e));
}

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_EVENT_HASHES_H_

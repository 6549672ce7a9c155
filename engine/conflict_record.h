// Conflicting duplicates: two events with one id and different content
// (docs/engine.md, "Duplicates"). The engine keeps the copy the rule of
// ingest/event_content.h makes the winner and records each losing copy
// once, in `meta`:
//
//   "conflict/" + id + "\0" + 16 hex digits of the losing content's hash
//       -> flags (1 byte: 'r' resolved by the rule, 'k' the first copy was
//          kept because another shard applied it), the winner's position,
//          the loser's position (each length-prefixed), the loser's raw
//          bytes as a dead letter keeps them (engine/dead_letter_value.h)
//
// and counts them in "stats.conflicts". A position is where the copy was
// read ("file:line", "topic/partition/offset") or, for a copy that was
// already in the store, "log:SEQ", its place in the event log (source
// positions are not kept per event).
#ifndef CHATKPI_ENGINE_CONFLICT_RECORD_H_
#define CHATKPI_ENGINE_CONFLICT_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/meta.h"

namespace chatkpi {

struct ConflictRecord {
  std::string id;
  bool resolved = true;  // false: the first copy kept (another shard's)
  std::string winner_position;
  std::string loser_position;
  std::string loser_raw;  // at most kMaxDeadLetterRawBytes of it
  uint64_t loser_raw_bytes = 0;
};

// `loser_content`: EventContent of the losing copy.
std::string ConflictKey(std::string_view id, std::string_view loser_content);
std::string EncodeConflictValue(const ConflictRecord& r,
                                std::string_view loser_raw);
bool DecodeConflict(std::string_view key, std::string_view value,
                    ConflictRecord* r);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_CONFLICT_RECORD_H_

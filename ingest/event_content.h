// What an event says, as bytes: two copies of an event (same id) are the
// same event when these bytes are equal, whatever their JSON looked like
// (key order, spacing, escapes, unknown fields, "1.50" against "1.5"). And
// of two copies that differ — a conflicting duplicate — the one whose bytes
// are smaller wins, so the outcome does not depend on which copy arrived
// first (docs/spec.md §4; docs/engine.md, "Duplicates").
//
// The bytes, compared left to right:
//   ts          8 bytes big endian: the earlier copy wins
//   type        1 byte: chat 0, order 1, assessment 2
//   chat        buyer, agent, dir (in 1, out 0), auto (1 / 0), text
//   order       order, buyer, status (created 0, paid 1, refunded 2,
//               closed 3), amount in fen and items (8 bytes big endian)
//   assessment  agent, period, metric, value as written
// where each string is its length (4 bytes big endian), then its bytes.
// The id is left out: copies share it.
#ifndef CHATKPI_INGEST_EVENT_CONTENT_H_
#define CHATKPI_INGEST_EVENT_CONTENT_H_

#include <string>

#include "ingest/event.h"

namespace chatkpi {

std::string EventContent(const Event& e);

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_EVENT_CONTENT_H_

// Turns one JSON document (a JSONL line or a Kafka message value) into an
// Event, validating every rule of docs/spec.md §1. Parsing never throws and
// never crashes on hostile bytes: any violation comes back as InvalidArgument
// whose message is the dead-letter reason ("missing field 'buyer'", ...).
//
// Reasons are a fixed category, optionally followed by a field name in single
// quotes; nothing else varies, so the text before the first "'" groups them:
//   invalid json, not an object, nesting too deep, unknown type, unknown dir,
//   unknown status, id length, missing field 'F', wrong type for 'F',
//   duplicate field 'F', empty field 'F', string too long 'F',
//   out of range 'F', too many decimals 'amount',
//   exponent not allowed 'amount', bad format 'period'.
// Bytes that are not UTF-8, anywhere in the line, are "invalid utf-8".
// The choices behind them are listed at the top of event_parser.cc.
#ifndef CHATKPI_INGEST_EVENT_PARSER_H_
#define CHATKPI_INGEST_EVENT_PARSER_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "ingest/event.h"

namespace chatkpi {

// Upper bounds on one event's numbers (docs/limits.md, "Numbers never
// wrap"); past them the event is the dead letter "out of range 'F'". They
// are far above any real order, yet a billion events at the bound still sum
// to less than int64 holds (10^9 * 10^9 fen = 10^18 < 9.2 * 10^18), so no
// realistic store gets near an overflow; the engine's checked sums
// (base/checked_math.h) refuse what still would.
//
// `amount`: at most 10,000,000.00 yuan per order event.
inline constexpr int64_t kMaxAmountFen = 1'000'000'000;
// `items`: at most 1,000,000 sub-orders per order event.
inline constexpr int64_t kMaxItems = 1'000'000;
// An assessment's `value`: at most 10^9 in magnitude (marks, counts, and
// money metrics in yuan alike).
inline constexpr double kMaxAssessmentValue = 1e9;

// Not thread-safe: it reuses its buffers across calls. Use one per thread.
class EventParser {
 public:
  // `scan_plain`: lines in the common plain form are read without
  // simdjson (event_parser.cc, ScanPlainObject); false reads every line
  // with simdjson, for tests that compare the two.
  explicit EventParser(bool scan_plain = true);
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // `json` need not be padded or NUL-terminated; the parser copies it into
  // its own padded buffer when needed. `out` is fully overwritten on success.
  absl::Status Parse(std::string_view json, Event* out);

 private:
  struct Impl;  // keeps simdjson out of this header
  std::unique_ptr<Impl> impl_;
};

// Parses a JSON number literal of yuan with at most 2 decimals into fen,
// exactly ("0.29" -> 29). Rejects negatives, exponents and more decimals.
absl::Status ParseYuanToFen(std::string_view literal, int64_t* fen);

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_EVENT_PARSER_H_

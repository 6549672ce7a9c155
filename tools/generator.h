// A seeded, deterministic generator of a shop's month of chat and order
// events as JSONL (docs/spec.md §1), for tests, benchmarks and demos. It aims at the
// shapes that make the KPIs hard rather than at statistical fidelity: bursts
// of `in` before an answer, auto replies, slow, late and missing answers,
// hand-overs between agents, chats across local midnight, orders inside and
// outside the attribution window, silent orders, double payments, partial
// refunds, orders without a `created` event, and optionally redeliveries and
// malformed lines.
//
// The same options always give the same bytes: all randomness comes from a
// generator defined in the .cc, not from the standard library's.
#ifndef CHATKPI_TOOLS_GENERATOR_H_
#define CHATKPI_TOOLS_GENERATOR_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ingest/event.h"

namespace chatkpi {

struct GeneratorOptions {
  uint64_t seed = 1;
  int agents = 8;    // named "<shop>:agent01" ...
  int buyers = 200;  // ignored when target_events > 0
  // The local month (UTC+8, i.e. Asia/Shanghai) that every event falls in.
  std::string month = "2026-11";
  // Roughly this many lines in all (events, duplicates and malformed lines);
  // 0 = as many as `buyers` produce.
  int64_t target_events = 0;
  // Lines in random order instead of by time.
  bool shuffle = false;
  // Order events are written as if they arrived this much later than their
  // ts (output sorted by ts + delay), like a lagging order topic.
  int64_t delay_orders_ms = 0;
  // Per event, the chance that a copy of a recent line (same id, same
  // bytes) is also written: a redelivery.
  double duplicate_rate = 0;
  // Per event, the chance that a malformed line is written before it. The
  // malformed lines cycle through every rejection reason of docs/spec.md §1.
  double malformed_rate = 0;
  std::string shop = "shop";
  // Also write per-agent assessment inputs (§5 metrics) for the month.
  bool assessments = false;
};

absl::Status ValidateGeneratorOptions(const GeneratorOptions& options);

enum class LineKind : uint8_t {
  kEvent = 0,  // a valid event, first time written
  kDuplicate,  // a byte-identical copy of an earlier kEvent line
  kMalformed,  // must be rejected as a dead letter
};

struct GeneratedLine {
  std::string json;  // no trailing newline
  LineKind kind = LineKind::kEvent;
};

// Every line in output order, labelled.
absl::StatusOr<std::vector<GeneratedLine>> GenerateLines(
    const GeneratorOptions& options);

// The same lines, unlabelled.
absl::StatusOr<std::vector<std::string>> GenerateJsonl(
    const GeneratorOptions& options);

// Writes the same lines, each ending in '\n', without holding them all in
// memory. Returns the number of lines written.
absl::StatusOr<int64_t> WriteJsonl(const GeneratorOptions& options,
                                   std::ostream& out);

// The valid events as a correct parser would produce them, once each (no
// duplicates, no malformed lines), in output order. Lets tests feed an
// engine and a reference model without going through JSON.
absl::StatusOr<std::vector<Event>> GenerateEvents(
    const GeneratorOptions& options);

// The assessment events that `assessments = true` adds: every §5 metric for
// every agent, some corrected by a later event for the same metric.
absl::StatusOr<std::vector<Event>> GenerateAssessments(
    const GeneratorOptions& options);

}  // namespace chatkpi

#endif  // CHATKPI_TOOLS_GENERATOR_H_

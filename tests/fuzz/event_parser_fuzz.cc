// libFuzzer target: EventParser::Parse on arbitrary bytes (a JSONL line or a
// Kafka message value). Beyond "no crash, no sanitizer report", an accepted
// event must satisfy docs/spec.md §1, parsing is deterministic, and the
// plain scan gives what simdjson alone gives. See
// docs/hardening.md for how to run it; the seed corpus is
// tests/fuzz/corpus/event_parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/event.h"
#include "ingest/event_parser.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_trap();  // a crash libFuzzer reports with the input
  }
  (void)what;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static chatkpi::EventParser* parser = new chatkpi::EventParser();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  chatkpi::Event e;
  const absl::Status s = parser->Parse(input, &e);
  if (s.ok()) {
    Check(!e.id.empty() && e.id.size() <= 128, "id length");
    Check(e.ts_ms >= 946684800000 && e.ts_ms < 4102444800000, "ts range");
    switch (e.type) {
      case chatkpi::EventType::kChat:
        Check(!e.buyer.empty() && !e.agent.empty(), "chat fields");
        Check(e.text.size() <= (64 << 10), "text length");
        break;
      case chatkpi::EventType::kOrder:
        Check(!e.order.empty() && !e.buyer.empty(), "order fields");
        Check(e.amount_fen >= 0 && e.amount_fen <= chatkpi::kMaxAmountFen,
              "amount");
        Check(e.status == chatkpi::OrderStatus::kClosed || e.items >= 1,
              "items");
        Check(e.items >= 0 && e.items <= chatkpi::kMaxItems, "items bound");
        break;
      case chatkpi::EventType::kAssessment:
        Check(!e.agent.empty() && !e.metric.empty(), "assessment fields");
        Check(e.period.size() == 7 && e.period[4] == '-', "period");
        Check(e.value >= -chatkpi::kMaxAssessmentValue &&
                  e.value <= chatkpi::kMaxAssessmentValue,
              "value bound");
        break;
    }
  } else {
    Check(s.code() == absl::StatusCode::kInvalidArgument, "reason code");
    Check(!s.message().empty(), "reason text");
  }
  // The same bytes always get the same verdict (the parser reuses buffers).
  chatkpi::Event again;
  const absl::Status s2 = parser->Parse(input, &again);
  Check(s2 == s, "deterministic");
  if (s.ok()) Check(again.id == e.id && again.ts_ms == e.ts_ms, "same event");
  // The plain scan decides nothing: simdjson alone gives the same verdict
  // and the same event.
  static chatkpi::EventParser* json = new chatkpi::EventParser(false);
  chatkpi::Event j;
  const absl::Status sj = json->Parse(input, &j);
  Check(sj == s, "plain scan verdict");
  if (s.ok()) {
    Check(j.type == e.type && j.id == e.id && j.ts_ms == e.ts_ms &&
              j.buyer == e.buyer && j.agent == e.agent &&
              j.inbound == e.inbound && j.auto_reply == e.auto_reply &&
              j.text == e.text && j.order == e.order && j.status == e.status &&
              j.amount_fen == e.amount_fen && j.items == e.items &&
              j.period == e.period && j.metric == e.metric &&
              j.value_text == e.value_text && j.value == e.value,
          "plain scan event");
  }

  // The money parser on its own: never negative, never more than 2 decimals.
  int64_t fen = -1;
  if (size <= 64 && chatkpi::ParseYuanToFen(input, &fen).ok()) {
    Check(fen >= 0, "fen");
  }
  return 0;
}

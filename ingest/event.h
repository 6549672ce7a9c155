// The events of docs/spec.md §1 after validation. One flat struct for all three
// types keeps the parser and the engine free of variants; fields that do not
// belong to an event's type are left empty.
#ifndef CHATKPI_INGEST_EVENT_H_
#define CHATKPI_INGEST_EVENT_H_

#include <cstdint>
#include <string>

namespace chatkpi {

enum class EventType : uint8_t { kChat = 0, kOrder = 1, kAssessment = 2 };
enum class OrderStatus : uint8_t {
  kCreated = 0,
  kPaid = 1,
  kRefunded = 2,
  kClosed = 3
};

struct Event {
  EventType type = EventType::kChat;
  std::string id;
  int64_t ts_ms = 0;

  // chat and order
  std::string buyer;

  // chat
  std::string agent;     // also assessment
  bool inbound = false;  // dir == "in"
  bool auto_reply = false;
  std::string text;

  // order
  std::string order;
  OrderStatus status = OrderStatus::kCreated;
  int64_t amount_fen = 0;
  int64_t items = 0;

  // assessment
  std::string period;  // YYYY-MM
  std::string metric;
  // The number exactly as written (e.g. "12000.50"), so money metrics convert
  // to fen without a float round-trip; `value` is its double for scores.
  std::string value_text;
  double value = 0;

  // StableHash (store/stable_hash.h) of `id` and of the event's file-shard
  // key (`buyer`; an assessment's `agent`), when `hashed`: computed once
  // where the event is queued (FileShards::PushView) for the shard choice,
  // the id index and the distinct-count sketches alike, instead of by each
  // (engine/event_hashes.h). The parser clears `hashed`.
  bool hashed = false;
  uint64_t id_hash = 0;
  uint64_t key_hash = 0;
};

// An `out` the shop's auto-responder sent. It counts for no KPI
// (docs/spec.md §3): it answers no question and is no reply, courteous or
// rude. `auto` means nothing on an `in` (§1), a question whatever it says.
inline bool IsAutomaticReply(const Event& e) {
  return e.type == EventType::kChat && !e.inbound && e.auto_reply;
}

// Where an event came from: "file:line" or "topic/partition/offset". A dead
// letter is keyed by it, so reading the same position twice keeps one.
struct DeadLetter {
  std::string position;
  std::string reason;
  std::string raw;
};

}  // namespace chatkpi

#endif  // CHATKPI_INGEST_EVENT_H_

// The engine's per-buyer and per-order state. Every KPI of docs/spec.md §3 is a
// function of one buyer's messages and orders, so an event costs one buyer
// lookup (DESIGN.md "key everything by buyer").
#ifndef CHATKPI_ENGINE_STATE_H_
#define CHATKPI_ENGINE_STATE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/message_id.h"
#include "ingest/event.h"

namespace chatkpi {

inline constexpr uint32_t kNoAgent = 0xffffffffu;  // unattributed

// A non-auto chat message. Auto replies change no KPI (they neither answer a
// question nor count as a reply or for courtesy), so they stay in the event
// log only.
struct Message {
  // kUnwritten: not in the stored value yet; the next commit appends it
  // (EncodeBuyerRecord). Never stored. kApplying: one of the messages
  // Engine::ApplyChats is counting in; cleared before it returns.
  enum Flags : uint8_t {
    kIn = 1,
    kGood = 2,
    kBad = 4,
    kUnwritten = 8,
    kApplying = 16,
  };
  // The flags a stored message carries; a stored value with others is
  // corrupt.
  static constexpr uint8_t kStored = kIn | kGood | kBad;
  int64_t ts = 0;
  uint32_t agent = 0;  // index into BuyerState::agents
  uint8_t flags = 0;
  MessageId id;  // 16 bytes: a Message takes 32

  bool inbound() const { return flags & kIn; }
};

inline bool MessageBefore(const Message& a, const Message& b) {
  return a.ts != b.ts ? a.ts < b.ts : a.id < b.id;
}

// Makes room for one more element, growing a full vector by a quarter
// instead of doubling it: a state read back holds exactly its elements,
// and the one late event that touches it would otherwise double its memory
// (docs/engine.md, "Memory").
template <typename T>
void ReserveOneMore(std::vector<T>& v) {
  if (v.size() == v.capacity()) v.reserve(v.size() + v.size() / 4 + 4);
}

struct OrderRef {
  std::string order;
  int64_t created_ts = 0;
};

// How many of one buyer's orders are credited to (agent, day), so that the
// distinct-buyer counters move only when a count crosses zero.
struct OrderCount {
  uint32_t agent = kNoAgent;
  int32_t day = 0;
  int32_t ordered = 0;
  int32_t paid = 0;
};

// A buyer's stored value is a sequence of records, each encoded as a whole
// state but holding only some of its messages: a commit writes the whole
// state (a RocksDB Put) or appends a record of the messages added since the
// last write (a Merge, store/concat_merge.h). Decoding takes every record's
// messages and the last record's agents, orders and counts: a commit of a
// shuffled month touches most buyers, and rewriting each whole state made
// the commit grow with the month (docs/engine.md, "Memory").
inline constexpr uint8_t kRewriteWhole = 0xff;
// The records a stored value holds before the next write rewrites it whole.
inline constexpr uint8_t kMaxStoredRecords = 16;

struct BuyerState {
  std::vector<std::string> agents;  // the agents this buyer wrote with
  std::vector<Message> messages;    // all threads, sorted by (ts, id)
  std::vector<OrderRef> orders;     // orders whose buyer is this buyer
  std::vector<OrderCount> order_counts;
  int64_t last_ts = 0;  // newest event time seen for this buyer
  // Bookkeeping, not encoded: how many records the stored value holds (0:
  // none stored), or kRewriteWhole once a message was taken out, which an
  // appended record cannot express.
  uint8_t stored_records = 0;

  uint32_t AgentIndex(std::string_view agent);  // adds a new agent
  OrderCount& CountAt(uint32_t agent, int32_t day);
  void DropZeroCounts();
};

// A buyer's state as the engine holds it.
struct BuyerEntry {
  BuyerState state;
  bool dirty = false;  // changed since the last commit
  // The engine's eviction round in which the state was last loaded or
  // looked up (Engine::Evict, docs/engine.md "Memory").
  uint32_t touched = 0;
  // StateBytes of the state as last counted: at its load and at each
  // commit that wrote it, so exact for a clean state (a state changes only
  // when it gets dirty). Evict reads it instead of walking every state.
  size_t bytes = 0;
};

struct OrderEventRecord {
  int64_t ts = 0;
  std::string id;
  OrderStatus status = OrderStatus::kCreated;
  int64_t amount_fen = 0;
  int64_t items = 0;
  std::string buyer;
};

inline bool OrderEventBefore(const OrderEventRecord& a,
                             const OrderEventRecord& b) {
  return a.ts != b.ts ? a.ts < b.ts : a.id < b.id;
}

struct OrderState {
  std::vector<OrderEventRecord> events;  // sorted by (ts, id)
  int64_t last_ts = 0;

  const std::string& buyer() const { return events.front().buyer; }
  // docs/spec.md §3: the first `created` by (ts, id), else the earliest event.
  int64_t CreatedTs() const;
};

// An order's state as the engine holds it.
struct OrderEntry {
  OrderState state;
  bool dirty = false;    // changed since the last commit
  uint32_t touched = 0;  // as BuyerEntry::touched
  size_t bytes = 0;      // as BuyerEntry::bytes
};

std::string EncodeBuyerState(const BuyerState& s);
// The record a commit appends to the stored value: the state with only its
// kUnwritten messages.
std::string EncodeBuyerRecord(const BuyerState& s);
// Sets s->stored_records to the number of records decoded. False when a
// record does not decode, or records contradict each other (a later one's
// agents not extending the earlier ones', a message in two records).
bool DecodeBuyerState(std::string_view in, BuyerState* s);
std::string EncodeOrderState(const OrderState& s);
// The same records, written into `buffer`, which the caller keeps from one
// state to the next: the view returned (valid until `buffer` changes) holds
// the record, what follows it in `buffer` is left over. A commit encodes
// tens of thousands of states; this costs no allocation per state and no
// zeroing of a fresh string.
std::string_view EncodeBuyerState(const BuyerState& s, std::string* buffer);
std::string_view EncodeBuyerRecord(const BuyerState& s, std::string* buffer);
std::string_view EncodeOrderState(const OrderState& s, std::string* buffer);
bool DecodeOrderState(std::string_view in, OrderState* s);

}  // namespace chatkpi

#endif  // CHATKPI_ENGINE_STATE_H_

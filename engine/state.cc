#include "engine/state.h"

#include <algorithm>

#include "store/coding.h"

namespace chatkpi {

uint32_t BuyerState::AgentIndex(std::string_view agent) {
  // Agents' names tend to share a long prefix ("shop:agent12"), so their
  // last bytes tell them apart before a compare of the whole name.
  for (uint32_t i = 0; i < agents.size(); ++i) {
    const std::string& a = agents[i];
    if (a.size() == agent.size() &&
        (agent.empty() || a.back() == agent.back()) && a == agent) {
      return i;
    }
  }
  agents.emplace_back(agent);
  return static_cast<uint32_t>(agents.size() - 1);
}

OrderCount& BuyerState::CountAt(uint32_t agent, int32_t day) {
  for (OrderCount& c : order_counts) {
    if (c.agent == agent && c.day == day) return c;
  }
  order_counts.push_back(OrderCount{agent, day, 0, 0});
  return order_counts.back();
}

void BuyerState::DropZeroCounts() {
  std::erase_if(order_counts, [](const OrderCount& c) {
    return c.ordered == 0 && c.paid == 0;
  });
}

int64_t OrderState::CreatedTs() const {
  for (const OrderEventRecord& e : events) {
    if (e.status == OrderStatus::kCreated) return e.ts;
  }
  return events.front().ts;
}

// Records start with a format byte so that a later layout can be told apart.
constexpr char kBuyerFormat = 1;
constexpr char kOrderFormat = 1;

namespace {

// At least `bound` writable bytes at the start of `buffer`: it only grows,
// so a reused buffer is neither zeroed nor reallocated again.
char* Room(std::string* buffer, size_t bound) {
  if (buffer->size() < bound)
    buffer->resize(std::max(bound, 2 * buffer->size()));
  return buffer->data();
}

// Encoders size the record first, then write fields through a pointer: a
// state is encoded at every commit that touched it.
std::string_view EncodeBuyer(const BuyerState& s, bool only_unwritten,
                             std::string* buffer) {
  constexpr size_t V = kMaxVarint64;
  const auto included = [only_unwritten](const Message& m) {
    return !only_unwritten || (m.flags & Message::kUnwritten) != 0;
  };
  size_t bound = 1 + 3 * V;
  for (const auto& a : s.agents) bound += V + a.size();
  size_t messages = 0;
  for (const Message& m : s.messages) {
    if (!included(m)) continue;
    bound += 3 * V + 1 + m.id.size();
    ++messages;
  }
  for (const OrderRef& o : s.orders) bound += 2 * V + o.order.size();
  bound += V + s.order_counts.size() * 4 * V;
  char* const start = Room(buffer, bound);
  char* p = start;
  *p++ = kBuyerFormat;
  p = EncodeVarsint64(p, s.last_ts);
  p = EncodeVarint64(p, s.agents.size());
  for (const auto& a : s.agents) p = EncodeLengthPrefixed(p, a);
  p = EncodeVarint64(p, messages);
  int64_t prev = 0;
  for (const Message& m : s.messages) {
    if (!included(m)) continue;
    p = EncodeVarsint64(p, m.ts - prev);  // sorted: small deltas
    prev = m.ts;
    p = EncodeVarint64(p, m.agent);
    *p++ = static_cast<char>(m.flags & Message::kStored);
    p = EncodeLengthPrefixed(p, m.id);
  }
  p = EncodeVarint64(p, s.orders.size());
  for (const OrderRef& o : s.orders) {
    p = EncodeLengthPrefixed(p, o.order);
    p = EncodeVarsint64(p, o.created_ts);
  }
  p = EncodeVarint64(p, s.order_counts.size());
  for (const OrderCount& c : s.order_counts) {
    p = EncodeVarint64(p, c.agent == kNoAgent ? 0 : uint64_t{c.agent} + 1);
    p = EncodeVarsint64(p, c.day);
    p = EncodeVarsint64(p, c.ordered);
    p = EncodeVarsint64(p, c.paid);
  }
  return std::string_view(start, p - start);
}

// Decodes the record at the front of `in` into *s and removes it from `in`.
bool DecodeBuyerRecord(std::string_view* in_out, BuyerState* s) {
  std::string_view in = *in_out;
  *s = BuyerState();
  if (in.empty() || in[0] != kBuyerFormat) return false;
  in.remove_prefix(1);
  uint64_t n;
  std::string_view str;
  if (!GetVarsint64(&in, &s->last_ts) || !GetVarint64(&in, &n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    if (!GetLengthPrefixed(&in, &str)) return false;
    s->agents.emplace_back(str);
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  s->messages.resize(n);
  int64_t prev = 0;
  for (size_t i = 0; i < s->messages.size(); ++i) {
    Message& m = s->messages[i];
    int64_t d;
    uint64_t agent;
    // A delta past int64 is damage (stored times are years 2000 to 2100).
    if (!GetVarsint64(&in, &d) || !GetVarint64(&in, &agent) || in.empty() ||
        __builtin_add_overflow(prev, d, &m.ts)) {
      return false;
    }
    prev = m.ts;
    m.agent = static_cast<uint32_t>(agent);
    m.flags = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (!GetLengthPrefixed(&in, &str) || m.agent >= s->agents.size() ||
        (m.flags & ~Message::kStored) != 0) {
      return false;
    }
    m.id.assign(str);
    if (i > 0 && !MessageBefore(s->messages[i - 1], m)) return false;
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  s->orders.resize(n);
  for (OrderRef& o : s->orders) {
    if (!GetLengthPrefixed(&in, &str) || !GetVarsint64(&in, &o.created_ts)) {
      return false;
    }
    o.order.assign(str);
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  s->order_counts.resize(n);
  for (OrderCount& c : s->order_counts) {
    uint64_t agent;
    int64_t day, ordered, paid;
    if (!GetVarint64(&in, &agent) || !GetVarsint64(&in, &day) ||
        !GetVarsint64(&in, &ordered) || !GetVarsint64(&in, &paid)) {
      return false;
    }
    c.agent = agent == 0 ? kNoAgent : static_cast<uint32_t>(agent - 1);
    c.day = static_cast<int32_t>(day);
    c.ordered = static_cast<int32_t>(ordered);
    c.paid = static_cast<int32_t>(paid);
  }
  *in_out = in;
  return true;
}

// Folds a later record into *s: its messages join the earlier ones, the
// rest is the later record's, whose agents must extend the earlier list
// (the messages' agent indices keep their meaning).
bool FoldBuyerRecord(BuyerState&& later, BuyerState* s) {
  if (later.agents.size() < s->agents.size() ||
      !std::equal(s->agents.begin(), s->agents.end(), later.agents.begin())) {
    return false;
  }
  std::vector<Message> merged;
  merged.reserve(s->messages.size() + later.messages.size());
  auto a = s->messages.begin();
  auto b = later.messages.begin();
  while (a != s->messages.end() || b != later.messages.end()) {
    if (b == later.messages.end() ||
        (a != s->messages.end() && MessageBefore(*a, *b))) {
      merged.push_back(std::move(*a++));
    } else if (a == s->messages.end() || MessageBefore(*b, *a)) {
      merged.push_back(std::move(*b++));
    } else {
      return false;  // the same message in two records
    }
  }
  later.messages = std::move(merged);
  *s = std::move(later);
  return true;
}

}  // namespace

std::string EncodeBuyerState(const BuyerState& s) {
  std::string out;
  out.resize(EncodeBuyerState(s, &out).size());
  return out;
}

std::string EncodeBuyerRecord(const BuyerState& s) {
  std::string out;
  out.resize(EncodeBuyerRecord(s, &out).size());
  return out;
}

std::string EncodeOrderState(const OrderState& s) {
  std::string out;
  out.resize(EncodeOrderState(s, &out).size());
  return out;
}

std::string_view EncodeBuyerState(const BuyerState& s, std::string* buffer) {
  return EncodeBuyer(s, /*only_unwritten=*/false, buffer);
}

std::string_view EncodeBuyerRecord(const BuyerState& s, std::string* buffer) {
  return EncodeBuyer(s, /*only_unwritten=*/true, buffer);
}

bool DecodeBuyerState(std::string_view in, BuyerState* s) {
  if (!DecodeBuyerRecord(&in, s)) return false;
  size_t records = 1;
  BuyerState later;
  while (!in.empty()) {
    if (!DecodeBuyerRecord(&in, &later) ||
        !FoldBuyerRecord(std::move(later), s)) {
      return false;
    }
    ++records;
  }
  // Written whole, the messages are deltas from one to the next: times
  // further apart than int64 holds are damage (stored times are years 2000
  // to 2100), which records of one message each can otherwise carry.
  int64_t span;
  if (!s->messages.empty() &&
      __builtin_sub_overflow(s->messages.back().ts, s->messages.front().ts,
                             &span)) {
    return false;
  }
  s->stored_records =
      static_cast<uint8_t>(std::min<size_t>(records, kRewriteWhole - 1));
  return true;
}

std::string_view EncodeOrderState(const OrderState& s, std::string* buffer) {
  constexpr size_t V = kMaxVarint64;
  size_t bound = 1 + 2 * V;
  for (const OrderEventRecord& e : s.events) {
    bound += 5 * V + 1 + e.id.size() + e.buyer.size();
  }
  char* const start = Room(buffer, bound);
  char* p = start;
  *p++ = kOrderFormat;
  p = EncodeVarsint64(p, s.last_ts);
  p = EncodeVarint64(p, s.events.size());
  for (const OrderEventRecord& e : s.events) {
    p = EncodeVarsint64(p, e.ts);
    p = EncodeLengthPrefixed(p, e.id);
    *p++ = static_cast<char>(e.status);
    p = EncodeVarsint64(p, e.amount_fen);
    p = EncodeVarsint64(p, e.items);
    p = EncodeLengthPrefixed(p, e.buyer);
  }
  return std::string_view(start, p - start);
}

bool DecodeOrderState(std::string_view in, OrderState* s) {
  *s = OrderState();
  if (in.empty() || in[0] != kOrderFormat) return false;
  in.remove_prefix(1);
  uint64_t n;
  if (!GetVarsint64(&in, &s->last_ts) || !GetVarint64(&in, &n) ||
      n > in.size()) {
    return false;
  }
  s->events.resize(n);
  std::string_view str;
  for (OrderEventRecord& e : s->events) {
    if (!GetVarsint64(&in, &e.ts) || !GetLengthPrefixed(&in, &str)) {
      return false;
    }
    e.id.assign(str);
    if (in.empty() || static_cast<uint8_t>(in[0]) > 3) return false;
    e.status = static_cast<OrderStatus>(in[0]);
    in.remove_prefix(1);
    if (!GetVarsint64(&in, &e.amount_fen) || !GetVarsint64(&in, &e.items) ||
        !GetLengthPrefixed(&in, &str)) {
      return false;
    }
    e.buyer.assign(str);
  }
  return in.empty() && !s->events.empty();
}

}  // namespace chatkpi

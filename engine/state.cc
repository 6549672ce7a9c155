#include "engine/state.h"

#include <algorithm>

#include "store/coding.h"

namespace chatkpi {

uint32_t BuyerState::AgentIndex(std::string_view agent) {
  for (uint32_t i = 0; i < agents.size(); ++i) {
    if (agents[i] == agent) return i;
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

std::string EncodeBuyerState(const BuyerState& s) {
  std::string out;
  out.reserve(16 + s.messages.size() * 24);
  out.push_back(kBuyerFormat);
  PutVarsint64(&out, s.last_ts);
  PutVarint64(&out, s.agents.size());
  for (const auto& a : s.agents) PutLengthPrefixed(&out, a);
  PutVarint64(&out, s.messages.size());
  int64_t prev = 0;
  for (const Message& m : s.messages) {
    PutVarsint64(&out, m.ts - prev);  // sorted: small deltas
    prev = m.ts;
    PutVarint64(&out, m.agent);
    out.push_back(static_cast<char>(m.flags));
    PutLengthPrefixed(&out, m.id);
  }
  PutVarint64(&out, s.orders.size());
  for (const OrderRef& o : s.orders) {
    PutLengthPrefixed(&out, o.order);
    PutVarsint64(&out, o.created_ts);
  }
  PutVarint64(&out, s.order_counts.size());
  for (const OrderCount& c : s.order_counts) {
    PutVarint64(&out, c.agent == kNoAgent ? 0 : uint64_t{c.agent} + 1);
    PutVarsint64(&out, c.day);
    PutVarsint64(&out, c.ordered);
    PutVarsint64(&out, c.paid);
  }
  return out;
}

bool DecodeBuyerState(std::string_view in, BuyerState* s) {
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
  for (Message& m : s->messages) {
    int64_t d;
    uint64_t agent;
    if (!GetVarsint64(&in, &d) || !GetVarint64(&in, &agent) || in.empty()) {
      return false;
    }
    m.ts = prev + d;
    prev = m.ts;
    m.agent = static_cast<uint32_t>(agent);
    m.flags = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (!GetLengthPrefixed(&in, &str) || m.agent >= s->agents.size()) {
      return false;
    }
    m.id.assign(str);
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
  return in.empty();
}

std::string EncodeOrderState(const OrderState& s) {
  std::string out;
  out.push_back(kOrderFormat);
  PutVarsint64(&out, s.last_ts);
  PutVarint64(&out, s.events.size());
  for (const OrderEventRecord& e : s.events) {
    PutVarsint64(&out, e.ts);
    PutLengthPrefixed(&out, e.id);
    out.push_back(static_cast<char>(e.status));
    PutVarsint64(&out, e.amount_fen);
    PutVarsint64(&out, e.items);
    PutLengthPrefixed(&out, e.buyer);
  }
  return out;
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

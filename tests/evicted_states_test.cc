// EvictedStates (engine/evicted_states.h): a state put is taken back once,
// only by the engine that put it and as the kind (buyer, order) it was put, and
// the oldest go first when the budget is exceeded, counting a state taken back
// and put again as new; taking many back under budget does not make it keep
// what it gave back.
#include "engine/evicted_states.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

std::unique_ptr<BuyerEntry> StateWith(const std::string& agent, int64_t ts) {
  auto e = std::make_unique<BuyerEntry>();
  e->state.agents.push_back(agent);
  Message m;
  m.ts = ts;
  m.id = "message-id-long-enough-for-the-heap";
  e->state.messages.push_back(m);
  e->state.last_ts = ts;
  return e;
}

// What the pool counts for one StateWith(...): budgets in states.
size_t BytesOfOneState() {
  EvictedStates probe;
  probe.Put(probe.NewOwner(), "x", StateWith("agent", 1));
  return probe.bytes();
}

TEST(EvictedStates, TakenBackOnceAndOnlyByItsOwner) {
  EvictedStates states;
  const uint64_t a = states.NewOwner(), b = states.NewOwner();
  ASSERT_NE(a, b);
  states.Put(a, "buyer", StateWith("agent-a", 7));
  EXPECT_EQ(states.Take<BuyerEntry>(b, "buyer"), nullptr);
  EXPECT_EQ(states.Take<BuyerEntry>(a, "buyer2"), nullptr);
  auto got = states.Take<BuyerEntry>(a, "buyer");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->state.agents, std::vector<std::string>{"agent-a"});
  ASSERT_EQ(got->state.messages.size(), 1u);
  EXPECT_EQ(got->state.messages[0].ts, 7);
  EXPECT_EQ(got->state.last_ts, 7);
  EXPECT_EQ(states.Take<BuyerEntry>(a, "buyer"), nullptr);
  EXPECT_EQ(states.size(), 0u);
  EXPECT_EQ(states.bytes(), 0u);
}

// Orders go through the same pool: a buyer and an order may share a name
// and stay apart.
TEST(EvictedStates, OrdersAndBuyersOfTheSameNameStayApart) {
  EvictedStates states;
  const uint64_t o = states.NewOwner();
  states.Put(o, "x", StateWith("agent", 1));
  EXPECT_EQ(states.Take<OrderEntry>(o, "x"), nullptr);
  auto order = std::make_unique<OrderEntry>();
  order->state.last_ts = 2;
  order->state.events.push_back(OrderEventRecord{});
  states.Put(o, "x", std::move(order));
  EXPECT_EQ(states.size(), 2u);
  auto got_order = states.Take<OrderEntry>(o, "x");
  ASSERT_NE(got_order, nullptr);
  EXPECT_EQ(got_order->state.last_ts, 2);
  EXPECT_EQ(got_order->state.events.size(), 1u);
  auto got_buyer = states.Take<BuyerEntry>(o, "x");
  ASSERT_NE(got_buyer, nullptr);
  EXPECT_EQ(got_buyer->state.last_ts, 1);
  EXPECT_EQ(states.size(), 0u);
  EXPECT_EQ(states.bytes(), 0u);
}

TEST(EvictedStates, OldestGoFirstAndATakenStatePutAgainCountsAsNew) {
  const size_t one = BytesOfOneState();
  ASSERT_GT(one, 0u);
  EvictedStates states(2 * one);  // room for two
  const uint64_t o = states.NewOwner();
  states.Put(o, "x", StateWith("agent", 1));
  states.Put(o, "y", StateWith("agent", 2));
  ASSERT_NE(states.Take<BuyerEntry>(o, "x"), nullptr);
  states.Put(o, "x", StateWith("agent", 3));  // now newer than y
  states.Put(o, "z", StateWith("agent", 4));  // over budget: y goes
  EXPECT_EQ(states.size(), 2u);
  EXPECT_LE(states.bytes(), 2 * one);
  EXPECT_EQ(states.Take<BuyerEntry>(o, "y"), nullptr);
  auto x = states.Take<BuyerEntry>(o, "x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->state.last_ts, 3);
  auto z = states.Take<BuyerEntry>(o, "z");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->state.last_ts, 4);
}

TEST(EvictedStates, ManyTakenBackUnderBudgetLeaveTheRestIntact) {
  EvictedStates states;
  const uint64_t o = states.NewOwner();
  // Enough put-and-take rounds to compact the order several times, with
  // "kept" put halfway: compacting moves it.
  for (int i = 0; i < 10000; ++i) {
    if (i == 5000) states.Put(o, "kept", StateWith("agent", -1));
    const std::string buyer = "buyer-with-a-long-name-" + std::to_string(i);
    states.Put(o, buyer, StateWith("agent", i));
    auto back = states.Take<BuyerEntry>(o, buyer);
    ASSERT_NE(back, nullptr) << i;
    ASSERT_EQ(back->state.last_ts, i);
    ASSERT_EQ(states.size(), i < 5000 ? 0u : 1u) << i;
  }
  auto kept = states.Take<BuyerEntry>(o, "kept");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->state.last_ts, -1);
  EXPECT_EQ(states.bytes(), 0u);
}

// Not what an engine does (it puts only what it took or loaded), but the
// pool must stay whole if it happens: the newer state wins, counted once.
TEST(EvictedStates, ThePutOfAHeldKeyReplacesTheOlderEntry) {
  const size_t one = BytesOfOneState();
  EvictedStates states(2 * one);
  const uint64_t o = states.NewOwner();
  states.Put(o, "x", StateWith("agent", 1));
  states.Put(o, "x", StateWith("agent", 2));
  EXPECT_EQ(states.size(), 1u);
  EXPECT_EQ(states.bytes(), one);
  states.Put(o, "y", StateWith("agent", 3));  // fits: the older x is gone
  auto x = states.Take<BuyerEntry>(o, "x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->state.last_ts, 2);
  EXPECT_EQ(states.Take<BuyerEntry>(o, "x"), nullptr);
  ASSERT_NE(states.Take<BuyerEntry>(o, "y"), nullptr);
  EXPECT_EQ(states.bytes(), 0u);
}

std::unique_ptr<OrderEntry> OrderOf(const std::string& buyer, int events) {
  auto e = std::make_unique<OrderEntry>();
  for (int i = 0; i < events; ++i) {
    OrderEventRecord r;
    r.ts = i;
    r.id = "o-" + std::to_string(i);
    r.buyer = buyer;
    e->state.events.push_back(r);
  }
  return e;
}

// The budget bounds the heap behind the states, so a string too long to be
// held inline (a buyer name of a few CJK characters, 3 bytes each) counts
// its heap block: here 4 copies of a 21-byte name.
TEST(EvictedStates, StringsOnTheHeapCount) {
  const std::string cjk = "买家_周一诺37189";  // 6 + 1 + 9 + 5 bytes
  ASSERT_EQ(cjk.size(), 21u);
  EvictedStates shorter, longer;
  shorter.Put(shorter.NewOwner(), "o1", OrderOf("b1", 4));
  longer.Put(longer.NewOwner(), "o1", OrderOf(cjk, 4));
  EXPECT_GE(longer.bytes(), shorter.bytes() + 4 * (cjk.size() + 1));
}

// Whatever is put, what the pool counts stays under its budget: many more
// distinct states than fit, of growing size, buyers and orders mixed.
TEST(EvictedStates, StaysUnderItsBudget) {
  constexpr size_t kBudget = size_t{1} << 20;
  EvictedStates states(kBudget);
  const uint64_t o = states.NewOwner();
  for (int i = 0; i < 20000; ++i) {
    const std::string name = "buyer-with-a-long-name-" + std::to_string(i);
    auto buyer = StateWith("agent", i);
    for (int m = 0; m < i % 50; ++m) buyer->state.messages.push_back({});
    states.Put(o, name, std::move(buyer));
    states.Put(o, name, OrderOf(name, 1 + i % 5));
    ASSERT_LE(states.bytes(), kBudget) << i;
  }
  // It keeps what fits (states of ~0.3 to ~3 KiB) and drops the rest.
  EXPECT_GT(states.size(), 300u);
  EXPECT_LT(states.size(), 10000u);
}

TEST(EvictedStates, ZeroBudgetKeepsNothing) {
  EvictedStates states(0);
  const uint64_t o = states.NewOwner();
  states.Put(o, "x", StateWith("agent", 1));
  EXPECT_EQ(states.Take<BuyerEntry>(o, "x"), nullptr);
  EXPECT_EQ(states.bytes(), 0u);
}

}  // namespace
}  // namespace chatkpi

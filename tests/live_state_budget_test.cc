// The engine's budget of live state (EngineOptions::live_state_budget_bytes,
// docs/engine.md "Memory"): past it the caller commits, and after each commit
// the engine holds at most half of it, whatever the input's order, while the
// numbers stay those of the reference model.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/evicted_states.h"
#include "engine/local_day.h"
#include "engine/state_bytes.h"
#include "gtest/gtest.h"
#include "tests/engine_run.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::EngineRun;
using testing::ExpectSameAsReference;
using testing::TempDir;
using testing::TestRules;

std::vector<Event> SortedMonth() {
  GeneratorOptions opts;
  opts.seed = 7;
  opts.agents = 4;
  opts.buyers = 120;
  auto events = GenerateEvents(opts);
  EXPECT_TRUE(events.ok()) << events.status();
  if (!events.ok()) return {};
  std::sort(events->begin(), events->end(), [](const Event& a, const Event& b) {
    return a.ts_ms != b.ts_ms ? a.ts_ms < b.ts_ms : a.id < b.id;
  });
  return *events;
}

// Events in time order keep every buyer of the last day inside the horizon
// (over 24 h), more than half of a 4 KiB budget: the budget alone makes the
// engine commit and evict. Measured after each commit, what it holds is at
// most half the budget; between commits it stays under the budget plus
// what one event loads.
TEST(LiveStateBudget, HeldStatesStayUnderTheBudget) {
  const std::vector<Event> events = SortedMonth();
  ASSERT_GT(events.size(), 1000u);
  constexpr size_t kBudget = size_t{4} << 10;
  EngineOptions eo;
  eo.live_state_budget_bytes = kBudget;
  const std::string dir = TempDir("live_budget");
  {
    EngineRun run(dir + "/db", TestRules(), eo);
    Engine& engine = run.engine();
    size_t most = 0;
    for (const Event& e : events) {
      auto applied = engine.Apply(e, e.id);
      ASSERT_TRUE(applied.ok()) << applied.status();
      most = std::max(most, engine.live_state_bytes());
      if (engine.OverStateBudget()) {
        run.Commit();
        ASSERT_LE(engine.live_state_bytes(), kBudget / 2);
      }
    }
    run.Commit();
    EXPECT_LE(engine.live_state_bytes(), kBudget / 2);
    EXPECT_GT(engine.stats().commits, 10);
    // One event loads at most a buyer's and an order's state (a few hundred
    // bytes each here) on top of what was under the budget.
    EXPECT_LT(most, 2 * kBudget);
    ExpectSameAsReference(
        run.Snapshot(absl::CivilDay(2026, 10, 30), absl::CivilDay(2026, 12, 2)),
        ReferenceSnapshot(events, TestRules(),
                          DayNumber(absl::CivilDay(2026, 10, 30)),
                          DayNumber(absl::CivilDay(2026, 12, 2))));
  }
  std::filesystem::remove_all(dir);
}

// Under the default budget the states inside the horizon stay after a
// commit, and what the engine counts for them is at least their entries.
TEST(LiveStateBudget, CountsTheStatesItKeeps) {
  const std::vector<Event> events = SortedMonth();
  const std::string dir = TempDir("live_budget_kept");
  {
    EngineRun run(dir + "/db", TestRules());
    run.Apply(events, 100'000);
    Engine& engine = run.engine();
    ASSERT_GT(engine.cached_buyers(), 0u);
    EXPECT_GE(engine.live_state_bytes(),
              engine.cached_buyers() * sizeof(BuyerEntry) +
                  engine.cached_orders() * sizeof(OrderEntry));
    EXPECT_LT(engine.live_state_bytes(), kDefaultLiveStateBudgetBytes / 2);
  }
  std::filesystem::remove_all(dir);
}

// What one state counts: its vectors by capacity, its strings' heap blocks.
// A message is an entry of the message vector; its id, longer than the 15
// bytes a std::string holds inline, a heap block of its own (its 31 bytes
// + 1 + malloc's 16 = 48).
TEST(LiveStateBudget, StateBytesCountVectorsAndHeapStrings) {
  BuyerState b;
  const size_t empty = StateBytes("buyer", b);
  Message m;
  m.id = std::string(31, 'm');
  b.messages.reserve(4);
  b.messages.push_back(m);
  EXPECT_EQ(StateBytes("buyer", b), empty + 4 * sizeof(Message) + 48);
  m.id = "short";  // inline
  b.messages.push_back(m);
  EXPECT_EQ(StateBytes("buyer", b), empty + 4 * sizeof(Message) + 48);
  // A name of more than 15 bytes has a heap block: 21 + 1 + 16 = 38.
  EXPECT_EQ(StateBytes(std::string(21, 'n'), b), StateBytes("buyer", b) + 38);
}

}  // namespace
}  // namespace chatkpi

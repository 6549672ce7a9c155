// Which buyer and order states an engine evicts after a commit (Engine::
// Evict, docs/engine.md "Memory"): past the horizon only those the batch just
// committed did not touch; over half the live-state budget every one past
// the horizon, then those untouched for the most batches first. A shuffled file
// reaches its newest event time at once; evicting by event time alone sent
// nearly every state to the pool after each commit and took it back in the next
// batch.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/evicted_states.h"
#include "gtest/gtest.h"
#include "tests/engine_run.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::EngineRun;
using testing::ExpectSameAsReference;
using testing::In;
using testing::Local;
using testing::Out;
using testing::TempDir;
using testing::TestRules;

void ApplyAll(EngineRun& run, const std::vector<Event>& events) {
  for (const Event& e : events) {
    auto applied = run.engine().Apply(e, e.id);
    ASSERT_TRUE(applied.ok()) << applied.status();
  }
}

void ExpectReference(EngineRun& run, const std::vector<Event>& events) {
  ExpectSameAsReference(
      run.Snapshot(absl::CivilDay(2026, 10, 30), absl::CivilDay(2026, 12, 2)),
      ReferenceSnapshot(events, TestRules(),
                        DayNumber(absl::CivilDay(2026, 10, 30)),
                        DayNumber(absl::CivilDay(2026, 12, 2))));
}

// The horizon is 25 h under the test rules (attribution window 24 h + 1 h).
// b1 and b2 write on Nov 1; then b3 on Nov 20 and, late, b1 again on Nov 1.
// After that commit both Nov 1 buyers are past the horizon, but only b2
// went a whole batch untouched: b1 stays (a shuffled file comes back to its
// states), b2 goes. A commit later that did not touch b1 sends it to the
// pool too; late events take both back with exact numbers.
TEST(StateEviction, PastTheHorizonOnlyStatesTheLastBatchDidNotTouchGo) {
  const std::string dir = TempDir("state_eviction_horizon");
  std::vector<Event> all;
  {
    EngineRun run(dir + "/db", TestRules());
    Engine& engine = run.engine();
    const std::vector<Event> first = {
        In("c1", Local("2026-11-01 10:00:00"), "b1", "shop:a"),
        In("c2", Local("2026-11-01 10:00:00"), "b2", "shop:a")};
    ApplyAll(run, first);
    run.Commit();
    EXPECT_EQ(engine.cached_buyers(), 2u);
    EXPECT_EQ(engine.stats().evicted_buyers, 0);

    const std::vector<Event> second = {
        In("c3", Local("2026-11-20 10:00:00"), "b3", "shop:a"),
        Out("c4", Local("2026-11-01 10:00:30"), "b1", "shop:a")};
    ApplyAll(run, second);
    run.Commit();
    EXPECT_EQ(engine.cached_buyers(), 2u);        // b1 and b3
    EXPECT_EQ(engine.stats().evicted_buyers, 1);  // b2

    const std::vector<Event> third = {
        Out("c5", Local("2026-11-20 10:00:20"), "b3", "shop:a")};
    ApplyAll(run, third);
    run.Commit();
    EXPECT_EQ(engine.cached_buyers(), 1u);        // b3
    EXPECT_EQ(engine.stats().evicted_buyers, 2);  // b1 now

    // Both come back, late, from the pool: their messages are all there.
    const std::vector<Event> fourth = {
        Out("c6", Local("2026-11-01 10:01:00"), "b1", "shop:a"),
        Out("c7", Local("2026-11-01 10:00:40"), "b2", "shop:a")};
    ApplyAll(run, fourth);
    run.Commit();
    for (const auto* batch : {&first, &second, &third, &fourth}) {
      all.insert(all.end(), batch->begin(), batch->end());
    }
    ExpectReference(run, all);
  }
  std::filesystem::remove_all(dir);
}

// What one buyer here counts: one message of one agent, under names held
// inline (every buyer of these tests counts the same).
size_t OneBuyerBytes(const std::string& dir) {
  EngineRun run(dir, TestRules());
  ApplyAll(run, {In("c1", Local("2026-11-20 10:00:00"), "b1", "shop:a")});
  run.Commit();
  return run.engine().live_state_bytes();
}

// Over half the budget, the state untouched for more batches goes before
// one the last batch touched, even when the latter's last event is older
// (both inside the horizon). A budget of 2.5 buyers keeps one.
TEST(StateEviction, OverTheBudgetStatesUntouchedLongestGoFirst) {
  const std::string dir = TempDir("state_eviction_budget");
  const size_t one = OneBuyerBytes(dir + "/probe");
  ASSERT_GT(one, 0u);
  auto pool = std::make_shared<EvictedStates>();
  EngineOptions eo;
  eo.evicted_states = pool;
  eo.live_state_budget_bytes = one * 5 / 2;
  {
    EngineRun run(dir + "/db", TestRules(), eo);
    Engine& engine = run.engine();
    const std::vector<Event> events = {
        In("c1", Local("2026-11-20 10:00:00"), "b1", "shop:a"),
        In("c2", Local("2026-11-19 12:00:00"), "b2", "shop:a")};
    ApplyAll(run, {events[0]});
    run.Commit();
    ApplyAll(run, {events[1]});
    run.Commit();
    // b2 (touched last, older last event) stays; b1 (untouched by the last
    // batch) is in the pool. The engine is the pool's first owner.
    EXPECT_EQ(engine.cached_buyers(), 1u);
    EXPECT_EQ(engine.live_state_bytes(), one);
    EXPECT_EQ(pool->size(), 1u);
    EXPECT_NE(pool->Take<BuyerEntry>(1, "b1"), nullptr);
    ExpectReference(run, events);
  }
  std::filesystem::remove_all(dir);
}

// An engine over half its budget keeps no state past the horizon, touched
// or not: kept, it would leave the next batch less room. A budget of 4.5
// buyers keeps two: b2 (late, past the horizon) goes before b1, which the
// last batch did not touch but is inside the horizon.
TEST(StateEviction, OverTheBudgetTouchedStatesPastTheHorizonGo) {
  const std::string dir = TempDir("state_eviction_budget_horizon");
  const size_t one = OneBuyerBytes(dir + "/probe");
  ASSERT_GT(one, 0u);
  auto pool = std::make_shared<EvictedStates>();
  EngineOptions eo;
  eo.evicted_states = pool;
  eo.live_state_budget_bytes = one * 9 / 2;
  {
    EngineRun run(dir + "/db", TestRules(), eo);
    Engine& engine = run.engine();
    const std::vector<Event> events = {
        In("c1", Local("2026-11-20 10:00:00"), "b1", "shop:a"),
        In("c2", Local("2026-11-01 10:00:00"), "b2", "shop:a"),
        In("c3", Local("2026-11-20 10:05:00"), "b3", "shop:a")};
    ApplyAll(run, {events[0]});
    run.Commit();
    ApplyAll(run, {events[1], events[2]});
    run.Commit();
    EXPECT_EQ(engine.cached_buyers(), 2u);  // b1 and b3
    EXPECT_EQ(engine.live_state_bytes(), 2 * one);
    EXPECT_EQ(pool->size(), 1u);
    EXPECT_NE(pool->Take<BuyerEntry>(1, "b2"), nullptr);
    ExpectReference(run, events);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// The engine's budget of live state (EngineOptions::live_state_budget_bytes,
// docs/engine.md "Memory"): past it the caller commits, and after each commit
// the engine holds at most half of it, whatever the input's order, while the
// numbers stay those of the reference model.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/evicted_states.h"
#include "engine/file_ingest.h"
#include "engine/local_day.h"
#include "engine/state_bytes.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/engine_run.h"
#include "tests/reference_model.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::EngineRun;
using testing::ExpectSameAsReference;
using testing::TempDir;
using testing::TestRules;
using testing::WriteLines;

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
// bytes a MessageId holds inline, a heap block of its own (its 31 bytes +
// malloc's 16 = 47).
TEST(LiveStateBudget, StateBytesCountVectorsAndHeapStrings) {
  BuyerState b;
  const size_t empty = StateBytes("buyer", b);
  Message m;
  m.id = std::string(31, 'm');
  b.messages.reserve(4);
  b.messages.push_back(m);
  EXPECT_EQ(StateBytes("buyer", b), empty + 4 * sizeof(Message) + 47);
  m.id = "short";  // inline
  b.messages.push_back(m);
  EXPECT_EQ(StateBytes("buyer", b), empty + 4 * sizeof(Message) + 47);
  // A name of more than 15 bytes has a heap block: 21 + 1 + 16 = 38.
  EXPECT_EQ(StateBytes(std::string(21, 'n'), b), StateBytes("buyer", b) + 38);
}

// The file ingest commits when the states held pass the budget, not only
// every --commit-every lines, with one thread and with shards; the numbers
// are the reference's. The store counts its commits. With shards the
// reader sees the states' bytes only as the shard threads apply its
// batches of 16,384 events, and it runs up to three batches ahead of them
// (docs/engine.md, "Parallel ingest"): a month of three batches could be
// read whole before any state is counted, so this one has about ten.
TEST(LiveStateBudget, FileIngestCommitsOnTheBudget) {
  GeneratorOptions gen;
  gen.seed = 3;
  gen.agents = 4;
  gen.buyers = 8000;
  gen.shuffle = true;
  auto lines = GenerateJsonl(gen);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_GT(lines->size(), 8u * 16384);
  const std::string dir = TempDir("live_budget_ingest");
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, *lines);
  for (int threads : {1, 2}) {
    uint64_t commits[2] = {0, 0};
    for (size_t budget : {kDefaultLiveStateBudgetBytes, size_t{64} << 10}) {
      const std::string db = absl::StrCat(dir, "/db", threads, "_", budget);
      {
        auto store = Store::Open(db, StoreOptions());
        ASSERT_TRUE(store.ok()) << store.status();
        EngineOptions eo;
        eo.live_state_budget_bytes = budget;
        auto engine = Engine::Open(TestRules(), store->get(), eo);
        ASSERT_TRUE(engine.ok()) << engine.status();
        FileIngestOptions opts;
        opts.threads = threads;
        opts.commit_every = 1'000'000;  // more than the lines
        FileIngestReport report;
        absl::Status s = IngestFiles(**engine, {file}, opts, &report);
        ASSERT_TRUE(s.ok()) << s;
        commits[budget == kDefaultLiveStateBudgetBytes ? 0 : 1] =
            (*store)->commits();
      }
      testing::ExpectStoreMatchesReference(
          db, file, absl::CivilDay(2026, 10, 30), absl::CivilDay(2026, 12, 2));
    }
    // Under the default budget this month commits only at its end.
    EXPECT_GE(commits[1], commits[0] + 2) << threads << " threads";
  }
  std::filesystem::remove_all(dir);
}

// After each commit the engine counts its states from the bytes it kept per
// state (counted at load and when a commit writes the state), not by
// walking them: the count is what a walk of every state gives, and no
// state is left dirty. Shuffled
// events under a small budget load states from the pool and, past the
// pool's own small budget, from the store, and change them in many
// commits.
TEST(LiveStateBudget, CountAfterACommitIsTheStatesWalked) {
  GeneratorOptions gen;
  gen.seed = 5;
  gen.agents = 4;
  gen.buyers = 300;
  gen.shuffle = true;
  auto events = GenerateEvents(gen);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_GT(events->size(), 1000u);
  EngineOptions eo;
  eo.live_state_budget_bytes = size_t{16} << 10;
  eo.evicted_states = std::make_shared<EvictedStates>(size_t{8} << 10);
  const std::string dir = TempDir("live_budget_walked");
  {
    EngineRun run(dir + "/db", TestRules(), eo);
    Engine& engine = run.engine();
    int commits = 0;
    for (const Event& e : *events) {
      auto applied = engine.Apply(e, e.id);
      ASSERT_TRUE(applied.ok()) << applied.status();
      if (engine.OverStateBudget() || engine.pending() >= 97) {
        run.Commit();
        ++commits;
        ASSERT_EQ(engine.live_state_bytes(), engine.CountStateBytes())
            << "after commit " << commits;
        // The commit wrote every changed state and marked it clean.
        ASSERT_EQ(engine.dirty_states(), 0u) << "after commit " << commits;
      }
    }
    run.Commit();
    EXPECT_EQ(engine.live_state_bytes(), engine.CountStateBytes());
    EXPECT_GT(commits, 10);
    EXPECT_GT(engine.stats().evicted_buyers, 100);
    ExpectSameAsReference(
        run.Snapshot(absl::CivilDay(2026, 10, 30), absl::CivilDay(2026, 12, 2)),
        ReferenceSnapshot(*events, TestRules(),
                          DayNumber(absl::CivilDay(2026, 10, 30)),
                          DayNumber(absl::CivilDay(2026, 12, 2))));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

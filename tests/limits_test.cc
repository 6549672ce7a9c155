// Limits against hostile input (docs/limits.md): the distinct agent/buyer
// counts per day and their warnings (engine/limits.h), and the maximum line
// size of `chatkpi ingest --max-line-bytes`.
#include "engine/limits.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

TEST(Limits, SketchEstimatesDistinctCounts) {
  for (int n : {0, 1, 10, 100, 1000, 10'000, 200'000}) {
    DistinctSketch s;
    for (int round = 0; round < 2; ++round) {  // repeats change nothing
      for (int i = 0; i < n; ++i) s.Add(absl::StrCat("buyer", i));
    }
    const double err = n < 100 ? 1 : 0.05 * n;
    EXPECT_NEAR(s.Estimate(), n, err) << n;
  }
}

TEST(Limits, SketchMergeIsTheUnion) {
  DistinctSketch a, b, both;
  for (int i = 0; i < 3000; ++i) {
    (i % 2 ? a : b).Add(absl::StrCat("agent", i));
    both.Add(absl::StrCat("agent", i));
  }
  a.Merge(b);
  EXPECT_EQ(a.registers(), both.registers());
  DayLoad load;
  load.agents = a;
  load.warned_buyers = true;
  DayLoad back;
  ASSERT_TRUE(DecodeDayLoad(EncodeDayLoad(load), &back));
  EXPECT_EQ(back.agents.registers(), a.registers());
  EXPECT_TRUE(back.warned_buyers);
  EXPECT_FALSE(back.warned_agents);
  EXPECT_FALSE(DecodeDayLoad("garbage", &back));
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  std::vector<std::string> warnings;

  std::unique_ptr<Engine> Open(uint32_t shard = 0) {
    EngineOptions o;
    o.shard = shard;
    o.limits.max_agents_per_day = 50;
    o.limits.max_buyers_per_day = 200;
    o.limits.warn = [this](const std::string& w) { warnings.push_back(w); };
    auto e = Engine::Open(testing::TestRules(), store.get(), o);
    EXPECT_TRUE(e.ok()) << e.status();
    return std::move(*e);
  }
};

Fixture NewFixture(const std::string& name) {
  Fixture f;
  f.dir = TempDir(name);
  auto s = Store::Open(f.dir + "/db", StoreOptions());
  EXPECT_TRUE(s.ok()) << s.status();
  f.store = std::move(*s);
  return f;
}

TEST(Limits, TooManyAgentsInADayWarnsOnceAndStillCounts) {
  Fixture f = NewFixture("limits_agents");
  const int64_t t0 = testing::Local("2026-11-11 09:00:00");
  auto engine = f.Open();
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(engine
                    ->Apply(testing::In(absl::StrCat("c", i), t0 + i, "b1",
                                        absl::StrCat("shop:a", i)),
                            "{}")
                    .ok());
  }
  ASSERT_TRUE(engine->Commit().ok());
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(f.warnings[0], "local day 2026-11-11"))
      << f.warnings[0];
  EXPECT_TRUE(
      absl::StrContains(f.warnings[0], "distinct agents, over the limit of 50"))
      << f.warnings[0];

  // A warning is given once per day, also across a restart.
  engine.reset();
  engine = f.Open();
  for (int i = 80; i < 120; ++i) {
    ASSERT_TRUE(engine
                    ->Apply(testing::In(absl::StrCat("c", i), t0 + i, "b1",
                                        absl::StrCat("shop:a", i)),
                            "{}")
                    .ok());
  }
  ASSERT_TRUE(engine->Commit().ok());
  EXPECT_EQ(f.warnings.size(), 1u);

  // The KPIs are not capped: every agent has its consultation.
  auto snap = ReadSnapshot(*f.store, absl::CivilDay(2026, 11, 11),
                           absl::CivilDay(2026, 11, 11));
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->agents.size(), 120u);

  CardinalityLimits limits;
  limits.max_agents_per_day = 50;
  auto over = DaysOverLimits(*f.store, limits);
  ASSERT_TRUE(over.ok()) << over.status();
  ASSERT_EQ(over->size(), 1u);
  EXPECT_EQ((*over)[0].day, DayNumber(absl::CivilDay(2026, 11, 11)));
  EXPECT_NEAR((*over)[0].agents, 120, 3);
  EXPECT_EQ((*over)[0].buyers, 1);
  std::filesystem::remove_all(f.dir);
}

TEST(Limits, TooManyBuyersCountsOrdersAndChats) {
  Fixture f = NewFixture("limits_buyers");
  const int64_t t0 = testing::Local("2026-11-12 09:00:00");
  auto engine = f.Open();
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(engine
                    ->Apply(testing::In(absl::StrCat("c", i), t0 + i,
                                        absl::StrCat("b", i), "shop:a"),
                            "{}")
                    .ok());
  }
  EXPECT_TRUE(f.warnings.empty());
  for (int i = 0; i < 150; ++i) {  // 75 of them new buyers
    ASSERT_TRUE(engine
                    ->Apply(testing::Order(absl::StrCat("o", i), t0 + i,
                                           absl::StrCat("o", i),
                                           absl::StrCat("b", i + 75),
                                           OrderStatus::kCreated, 100),
                            "{}")
                    .ok());
  }
  ASSERT_TRUE(engine->Commit().ok());
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(f.warnings[0], "distinct buyers"))
      << f.warnings[0];
  std::filesystem::remove_all(f.dir);
}

// Shards (Kafka partitions) keep their own sketches; the store's view of a
// day is their union.
TEST(Limits, ShardsAddUp) {
  Fixture f = NewFixture("limits_shards");
  const int64_t t0 = testing::Local("2026-11-13 09:00:00");
  auto e0 = f.Open(0);
  auto e1 = f.Open(1);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(e0->Apply(testing::In(absl::StrCat("x", i), t0 + i, "b1",
                                      absl::StrCat("shop:x", i)),
                          "{}")
                    .ok());
    ASSERT_TRUE(e1->Apply(testing::In(absl::StrCat("y", i), t0 + i, "b2",
                                      absl::StrCat("shop:y", i)),
                          "{}")
                    .ok());
  }
  ASSERT_TRUE(e0->Commit().ok());
  ASSERT_TRUE(e1->Commit().ok());
  EXPECT_TRUE(f.warnings.empty());  // each shard alone is under the limit
  CardinalityLimits limits;
  limits.max_agents_per_day = 50;
  size_t days = 0;
  auto json = DaysOverLimitsJson(*f.store, limits, &days);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(days, 1u);
  EXPECT_TRUE(absl::StrContains(*json, "\"day\": \"2026-11-13\", \"agents\": "))
      << *json;
  EXPECT_TRUE(absl::StrContains(*json, "\"buyers\": 2}")) << *json;
  auto over = DaysOverLimits(*f.store, limits);
  ASSERT_TRUE(over.ok());
  ASSERT_EQ(over->size(), 1u);
  EXPECT_NEAR((*over)[0].agents, 80, 2);
  std::filesystem::remove_all(f.dir);
}

// The day counts a file shard's commit writes land while the next batch is
// applied; a late event of such a day must not read it back before then
// (store/announced_write.h), so the day stays in memory one commit longer.
TEST(Limits, ADayTheLastCommitWroteStaysThroughOneEviction) {
  Fixture f = NewFixture("limits_day_in_flight");
  auto estimate_stored = [&](int32_t day) -> int64_t {
    auto stored = f.store->Get(Family::kMeta, DayLoadKey(0, day));
    EXPECT_TRUE(stored.ok() && stored->has_value());
    DayLoad load;
    EXPECT_TRUE(stored.ok() && stored->has_value() &&
                DecodeDayLoad(**stored, &load));
    return load.agents.Estimate();
  };
  DayCardinality days(f.store.get(), /*shard=*/0, CardinalityLimits());
  ASSERT_TRUE(days.Observe(5, "shop:a", "b1").ok());
  Commit first(f.store.get());
  days.AddTo(&first);
  days.Committed();  // as a file shard does, before `first` lands (never, here)
  days.Evict(10);
  // Still in memory: the day has both agents, though the store holds
  // nothing of it.
  ASSERT_TRUE(days.Observe(5, "shop:b", "b1").ok());
  Commit second(f.store.get());
  days.AddTo(&second);
  ASSERT_TRUE(f.store->Write(&second).ok());
  days.Committed();
  EXPECT_EQ(estimate_stored(5), 2);

  // Another day's commit: day 5 is neither changed nor in it, and goes.
  ASSERT_TRUE(days.Observe(12, "shop:a", "b1").ok());
  Commit third(f.store.get());
  days.AddTo(&third);
  ASSERT_TRUE(f.store->Write(&third).ok());
  days.Committed();
  days.Evict(10);
  // Read back from the store now: what the store holds, not what was in
  // memory.
  DayLoad other;
  for (const char* agent : {"shop:x", "shop:y", "shop:z"}) {
    other.agents.Add(agent);
  }
  Commit replaced(f.store.get());
  replaced.Put(Family::kMeta, DayLoadKey(0, 5), EncodeDayLoad(other));
  ASSERT_TRUE(f.store->Write(&replaced).ok());
  ASSERT_TRUE(days.Observe(5, "shop:c", "b1").ok());
  Commit fourth(f.store.get());
  days.AddTo(&fourth);
  ASSERT_TRUE(f.store->Write(&fourth).ok());
  EXPECT_EQ(estimate_stored(5), 4);
  std::filesystem::remove_all(f.dir);
}

// Days 64 apart share a slot of the recent days (engine/limits.h): each
// keeps its own counts however the observations interleave.
TEST(Limits, DaysThatShareARecentSlotKeepTheirOwnCounts) {
  Fixture f = NewFixture("limits_shared_slot");
  DayCardinality days(f.store.get(), /*shard=*/0, CardinalityLimits());
  for (const char* agent : {"shop:a", "shop:b", "shop:c"}) {
    ASSERT_TRUE(days.Observe(5, "shop:a", "b1").ok());
    ASSERT_TRUE(days.Observe(69, agent, "b2").ok());
    ASSERT_TRUE(days.Observe(133, "shop:z", absl::StrCat("c-", agent)).ok());
  }
  Commit c(f.store.get());
  days.AddTo(&c);
  ASSERT_TRUE(f.store->Write(&c).ok());
  auto stored = [&](int32_t day) {
    DayLoad load;
    auto v = f.store->Get(Family::kMeta, DayLoadKey(0, day));
    EXPECT_TRUE(v.ok() && v->has_value() && DecodeDayLoad(**v, &load));
    return std::make_pair(load.agents.Estimate(), load.buyers.Estimate());
  };
  EXPECT_EQ(stored(5), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(stored(69), std::make_pair(int64_t{3}, int64_t{1}));
  EXPECT_EQ(stored(133), std::make_pair(int64_t{1}, int64_t{3}));
  std::filesystem::remove_all(f.dir);
}

TEST(Limits, IngestAndStatsReportDaysOverTheLimits) {
  const std::string dir = TempDir("limits_cli");
  const std::string file = dir + "/ev.jsonl";
  auto gen = RunProcess({ChatkpiBinary(), "gen", "--seed", "5", "--agents", "8",
                         "--buyers", "100", "--out", file});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto r = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db",
                       "--max-agents-per-day", "5", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "chatkpi: warning: local day 2026-11-"))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "over the limit of 5")) << r.err;

  auto stats = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(
      absl::StrContains(stats.out,
                        "\"limits\": {\"max_agents_per_day\": 10000, "
                        "\"max_buyers_per_day\": 1000000, \"days_over\": []}"))
      << stats.out;
  stats = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db",
                      "--max-agents-per-day", "5"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(
      absl::StrContains(stats.out, "\"days_over\": [{\"day\": \"2026-11-"))
      << stats.out;
  EXPECT_TRUE(absl::StrContains(stats.err, "warning")) << stats.err;

  r = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db2",
                  "--max-buyers-per-day", "0", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(Limits, MaxLineBytesMakesLongerLinesDeadLetters) {
  const std::string dir = TempDir("limits_line");
  const std::string ok =
      R"({"type":"chat","id":"a","ts":1762135200000,"buyer":"b","agent":"shop:x","dir":"in"})";
  const std::string long_line =
      R"({"type":"chat","id":"b","ts":1762135201000,"buyer":"b","agent":"shop:x","dir":"in","text":")" +
      std::string(300, 'x') + R"("})";
  WriteFile(dir + "/ev.jsonl", ok + "\n" + long_line + "\n" + ok + "\n");
  auto r = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db",
                       "--max-line-bytes", "200", dir + "/ev.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(
      absl::StrContains(r.err, "1 new events, 1 duplicates, 1 dead letters"))
      << r.err;
  auto stats = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db"});
  EXPECT_TRUE(absl::StrContains(stats.out, "\"line too long\": 1"))
      << stats.out;

  // The default (1 MiB) takes the line.
  r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db2", dir + "/ev.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "2 new events")) << r.err;

  for (const char* bad : {"10", "x", "2000000000"}) {
    r = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db3",
                    "--max-line-bytes", bad, dir + "/ev.jsonl"});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// Randomized equivalence: for many seeds, generated
// events taken in sorted, shuffled, with redeliveries, and in two runs with a
// restart between all give the snapshot of the batch reference model.
#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"
#include "query/response_figures.h"
#include "store/store.h"
#include "tests/engine_run.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::EngineRun;
using testing::TempDir;
using testing::TestRules;

// Compares every counter of every agent, and the unattributed row.
void ExpectSameAsReference(const PeriodSnapshot& got, const RefSnapshot& want,
                           const std::string& what) {
  std::map<std::string, Counters> agents;
  for (const AgentRow& r : got.agents) agents[r.agent] = r.counters;
  ASSERT_EQ(agents.size(), want.agents.size()) << what;
  for (const auto& [agent, c] : want.agents) {
    auto it = agents.find(agent);
    ASSERT_NE(it, agents.end()) << what << " missing agent " << agent;
    for (int i = 0; i < kNumCounters; ++i) {
      EXPECT_EQ(it->second[i], c[i])
          << what << " agent " << agent << " " << kCounterNames[i];
    }
    // The per-second counts, and every figure read from them (threshold
    // counts and rates, percentiles).
    EXPECT_EQ(it->second.response_s.bins(), c.response_s.bins())
        << what << " agent " << agent << " response seconds";
    EXPECT_EQ(it->second.first_response_s.bins(), c.first_response_s.bins())
        << what << " agent " << agent << " first response seconds";
    const auto got_figures = ResponseFigures(it->second, got.thresholds_s);
    const auto want_figures = ResponseFigures(c, got.thresholds_s);
    ASSERT_EQ(got_figures.size(), want_figures.size());
    for (size_t i = 0; i < got_figures.size(); ++i) {
      EXPECT_EQ(got_figures[i].value, want_figures[i].value)
          << what << " agent " << agent << " " << want_figures[i].key;
    }
  }
  for (int i = 0; i < kNumCounters; ++i) {
    EXPECT_EQ(got.unattributed[i], want.unattributed[i])
        << what << " unattributed " << kCounterNames[i];
  }
}

struct Period {
  absl::CivilDay from, to;
};

std::vector<Period> Periods() {
  // The whole month with a margin (cross-midnight chats spill over), and a
  // few single days and weeks.
  return {{absl::CivilDay(2026, 10, 30), absl::CivilDay(2026, 12, 2)},
          {absl::CivilDay(2026, 11, 1), absl::CivilDay(2026, 11, 1)},
          {absl::CivilDay(2026, 11, 11), absl::CivilDay(2026, 11, 11)},
          {absl::CivilDay(2026, 11, 7), absl::CivilDay(2026, 11, 14)},
          {absl::CivilDay(2026, 11, 30), absl::CivilDay(2026, 12, 1)}};
}

void CheckAll(EngineRun& run, const RefDays& ref, const std::string& what) {
  for (const Period& p : Periods()) {
    ExpectSameAsReference(
        run.Snapshot(p.from, p.to),
        ReferencePeriod(ref, DayNumber(p.from), DayNumber(p.to)),
        what + " " + absl::FormatCivilTime(p.from) + ".." +
            absl::FormatCivilTime(p.to));
  }
}

class RandomizedTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RandomizedTest, AllArrivalOrdersMatchReference) {
  const uint64_t seed = GetParam();
  GeneratorOptions opts;
  opts.seed = seed;
  opts.agents = 3 + seed % 4;
  opts.buyers = 40 + (seed * 7) % 40;
  auto generated = GenerateEvents(opts);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::vector<Event> events = *generated;
  ASSERT_GT(events.size(), 100u);

  Rules rules = TestRules();
  if (seed % 3 == 1) rules.attribution_model = AttributionModel::kFirst;
  if (seed % 5 == 2) {
    rules.response_slow_s = 30;
    rules.response_window_s = 600;
    rules.attribution_window_s = 3 * 86400;
  }
  // Service hours (docs/spec.md §3): responses in business time. Every
  // other seed, with windows that split the day, cross midnight (as two
  // windows), differ by weekday and skip closed dates.
  if (seed % 2 == 0) {
    ServiceHours& h = rules.service_hours;
    h.has_hours = true;
    h.per_weekday = seed % 4 == 0;
    for (size_t d = 0; d < 7; ++d) {
      h.week[d] = {{9 * 60, 12 * 60}, {13 * 60 + 30, 21 * 60}};
    }
    if (h.per_weekday) {
      h.week[5] = {{0, 2 * 60}, {20 * 60, 24 * 60}};  // Saturday
      h.week[6] = {};                                 // Sunday: closed
    }
    h.closed_dates = {absl::CivilDay(2026, 11, 11),
                      absl::CivilDay(2026, 11, 20)};
    if (seed % 6 == 0) h.has_hours = false;  // closed dates alone
    rules.response_thresholds_s = {1, 30, 60, 180, 600};
  }
  const RefDays ref = ReferenceDays(events, rules);
  const std::string base = TempDir("rand");
  std::mt19937_64 rng(seed);

  {  // (a) sorted by (ts, id)
    std::vector<Event> sorted = events;
    std::sort(sorted.begin(), sorted.end(), [](const Event& a, const Event& b) {
      return a.ts_ms != b.ts_ms ? a.ts_ms < b.ts_ms : a.id < b.id;
    });
    EngineRun run(base + "/sorted", rules);
    run.Apply(sorted, 97);
    CheckAll(run, ref, "sorted");
    // Evicted buyers read back from the store, not kept in memory: all of
    // them, or those that a small budget had to drop.
    for (size_t budget : {size_t{0}, size_t{16} << 10}) {
      EngineOptions eo;
      eo.evicted_states = std::make_shared<EvictedStates>(budget);
      EngineRun uncached(absl::StrCat(base, "/sorted", budget), rules, eo);
      uncached.Apply(sorted, 97);
      CheckAll(uncached, ref, absl::StrCat("sorted, evicted budget ", budget));
    }
    // Commits and evictions driven by a small budget of live state: states
    // inside the horizon go to the pool (or, with a pool of 0, back to the
    // store) and are taken back.
    for (size_t pool : {size_t{0}, size_t{64} << 10}) {
      EngineOptions eo;
      eo.evicted_states = std::make_shared<EvictedStates>(pool);
      eo.live_state_budget_bytes = size_t{16} << 10;
      EngineRun budgeted(absl::StrCat(base, "/sorted_live", pool), rules, eo);
      budgeted.Apply(sorted, 100'000);
      EXPECT_GT(budgeted.engine().stats().commits, 2);
      CheckAll(budgeted, ref, absl::StrCat("sorted, live budget, pool ", pool));
    }
  }
  std::vector<Event> shuffled = events;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  {  // (b) shuffled
    EngineRun run(base + "/shuffled", rules);
    run.Apply(shuffled, 1000);
    CheckAll(run, ref, "shuffled");
    EngineOptions eo;
    eo.live_state_budget_bytes = size_t{16} << 10;
    EngineRun budgeted(base + "/shuffled_live", rules, eo);
    budgeted.Apply(shuffled, 100'000);
    EXPECT_GT(budgeted.engine().stats().commits, 2);
    CheckAll(budgeted, ref, "shuffled, live budget");
  }
  {  // (c) 10% redeliveries, some with other content under the same id
    std::vector<Event> dup = shuffled;
    std::uniform_int_distribution<size_t> pick(0, shuffled.size() - 1);
    for (size_t i = 0; i < shuffled.size() / 10; ++i) {
      Event copy = shuffled[pick(rng)];
      if (i % 4 == 0) copy.ts_ms += 1000;  // same id, other content
      dup.insert(dup.begin() + pick(rng) % dup.size(), copy);
    }
    // The first occurrence of an id is the one that counts.
    std::vector<Event> firsts;
    std::set<std::string> seen;
    for (const Event& e : dup) {
      if (seen.insert(e.id).second) firsts.push_back(e);
    }
    const RefDays dup_ref = ReferenceDays(firsts, rules);
    EngineRun run(base + "/dup", rules);
    run.Apply(dup, 333);
    EXPECT_EQ(run.engine().stats().duplicates,
              static_cast<int64_t>(dup.size() - firsts.size()));
    CheckAll(run, dup_ref, "duplicates");
  }
  {  // (d) two runs with a restart between, the second repeating a tail
    EngineRun run(base + "/split", rules);
    const size_t half = shuffled.size() / 2;
    std::vector<Event> first(shuffled.begin(), shuffled.begin() + half);
    run.Apply(first, 250);
    run.Restart();
    std::vector<Event> second(shuffled.begin() + half / 2, shuffled.end());
    run.Apply(second, 250);
    CheckAll(run, ref, "split");
  }
  std::filesystem::remove_all(base);
}

// One agent: every chat of a day lands in the same day's row and month's
// row, so their response histograms take the bins of thousands of events
// (late ones among them, which move a response from one second to
// another) between two commits, in a month committed once or often, and
// across a restart.
TEST(BusyRows, OneAgentsRowsMatchReference) {
  GeneratorOptions opts;
  opts.seed = 5;
  opts.agents = 1;
  opts.buyers = 300;
  auto generated = GenerateEvents(opts);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::vector<Event> events = *generated;
  ASSERT_GT(events.size(), 3000u);
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.ts_ms != b.ts_ms ? a.ts_ms < b.ts_ms : a.id < b.id;
  });
  const Rules rules = TestRules();
  const RefDays ref = ReferenceDays(events, rules);
  const std::string base = TempDir("busy_rows");
  std::mt19937_64 rng(5);
  std::vector<Event> shuffled = events;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (size_t every : {size_t{1'000'000}, size_t{53}}) {
    EngineRun sorted(absl::StrCat(base, "/sorted", every), rules);
    sorted.Apply(events, every);
    CheckAll(sorted, ref, absl::StrCat("sorted, commit every ", every));
    EngineRun run(absl::StrCat(base, "/shuffled", every), rules);
    run.Apply(shuffled, every);
    CheckAll(run, ref, absl::StrCat("shuffled, commit every ", every));
  }
  // A second run on the same store after a restart: the rows read back,
  // then more bins folded into them.
  EngineRun split(base + "/split", rules);
  const size_t half = shuffled.size() / 2;
  split.Apply(std::vector<Event>(shuffled.begin(), shuffled.begin() + half),
              1'000'000);
  split.Restart();
  split.Apply(std::vector<Event>(shuffled.begin() + half / 2, shuffled.end()),
              1'000'000);
  CheckAll(split, ref, "split");
  std::filesystem::remove_all(base);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomizedTest,
                         ::testing::Range<uint64_t>(1, 25));

}  // namespace
}  // namespace chatkpi

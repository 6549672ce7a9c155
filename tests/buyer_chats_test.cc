// A buyer's chats counted together (Engine::ClaimChatForLater, then
// Engine::ApplyChats), as the file shards count the chats of one buyer in a
// batch: the same counters as the batch reference model, for chats late
// and in time order, across midnight, with orders an `in` re-attributes.
#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"
#include "tests/engine_run.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi::testing {
namespace {

bool Groupable(const Event& e) {
  return e.type == EventType::kChat && (e.inbound || !e.auto_reply);
}

// Applies `events` in windows of `window`: in each, every buyer's chats are
// claimed as they come and counted together once the window is through,
// the other events applied as they come (deferred ones after the window,
// as the file shards do). Commits after every window.
void ApplyGrouped(EngineRun& run, const std::vector<Event>& events,
                  size_t window) {
  Engine& engine = run.engine();
  for (size_t begin = 0; begin < events.size(); begin += window) {
    const size_t end = std::min(events.size(), begin + window);
    std::map<std::string, std::vector<const Event*>> held;
    std::vector<const Event*> deferred;
    for (size_t i = begin; i < end; ++i) {
      const Event& e = events[i];
      auto applied = Groupable(e) ? engine.ClaimChatForLater(e, e.id, {})
                                  : engine.ApplyBesideSiblings(e, e.id, {});
      ASSERT_TRUE(applied.ok()) << applied.status();
      if (*applied == Engine::Applied::kDeferred) deferred.push_back(&e);
      if (*applied == Engine::Applied::kNew && Groupable(e)) {
        held[e.buyer].push_back(&e);
      }
    }
    for (auto& [buyer, chats] : held) {
      absl::Status s = engine.ApplyChats(chats);
      ASSERT_TRUE(s.ok()) << s;
    }
    for (const Event* e : deferred) {
      auto applied = engine.Apply(*e, e->id);
      ASSERT_TRUE(applied.ok()) << applied.status();
    }
    run.Commit();
  }
}

// Expects agent "a"'s row of `run`'s snapshot of `day` to hold each
// (counter, value) of `want`.
void ExpectDay(EngineRun& run, absl::CivilDay day,
               std::initializer_list<std::pair<Counter, int64_t>> want) {
  const PeriodSnapshot s = run.Snapshot(day, day);
  const AgentRow* a = FindAgent(s, "a");
  ASSERT_NE(a, nullptr) << day;
  for (const auto& [counter, value] : want) {
    EXPECT_EQ(a->counters[counter], value)
        << day << " " << CounterTitle(counter, ColumnLanguage::kEnglish);
  }
}

// Hand-computed (docs/spec.md §3): a question asked at 23:59:00 on the
// 10th, answered at 00:00:30 on the 11th together with a second question
// (00:10:00, answered 00:10:20) and an automatic reply. The 10th: one
// consultation, not replied that day, one question answered in 90 s (the
// day's first response). The 11th: one consultation, replied, one question
// answered in 20 s (its first response).
TEST(BuyerChats, OneBuyersChatsAcrossMidnightCountedTogether) {
  const std::string dir = TempDir("buyer_chats_midnight");
  EngineRun run(dir, TestRules());
  const std::vector<Event> first = {
      In("q1", Local("2026-11-10 23:59:00"), "b", "a")};
  ApplyGrouped(run, first, 100);
  const std::vector<Event> later = {
      Out("a1", Local("2026-11-11 00:00:30"), "b", "a"),
      Chat("auto", Local("2026-11-11 00:00:31"), "b", "a", false, "", true),
      In("q2", Local("2026-11-11 00:10:00"), "b", "a"),
      Out("a2", Local("2026-11-11 00:10:20"), "b", "a")};
  ApplyGrouped(run, later, 100);

  ExpectDay(run, absl::CivilDay(2026, 11, 10),
            {{kConsultations, 1},
             {kReplied, 0},
             {kQuestions, 1},
             {kAnswered, 1},
             {kResponseMsSum, 90'000},
             {kFirstResponses, 1},
             {kFirstResponseMsSum, 90'000}});
  ExpectDay(run, absl::CivilDay(2026, 11, 11),
            {{kConsultations, 1},
             {kReplied, 1},
             {kQuestions, 1},
             {kAnswered, 1},
             {kResponseMsSum, 20'000},
             {kFirstResponseMsSum, 20'000}});
  std::filesystem::remove_all(dir);
}

// A late `out` in a group splits a stretch of questions that began the
// day before, so the 11th gets a question of its own. Stored: 10th 23:50
// in, 11th 00:20 in (one question of the 10th). Then, together: 11th
// 00:20:40 out and 10th 23:55 out (late). Now the 10th's question is
// answered in 300 s and the 11th's in 40 s: not slow (docs/spec.md §3:
// slow is over 40 s).
TEST(BuyerChats, LateOutSplittingAnEarlierDaysStretch) {
  const std::string dir = TempDir("buyer_chats_late");
  EngineRun run(dir, TestRules());
  const std::vector<Event> first = {
      In("q1", Local("2026-11-10 23:50:00"), "b", "a"),
      In("q2", Local("2026-11-11 00:20:00"), "b", "a")};
  ApplyGrouped(run, first, 100);
  std::vector<Event> later = {
      Out("a2", Local("2026-11-11 00:20:40"), "b", "a"),
      Out("a1", Local("2026-11-10 23:55:00"), "b", "a")};
  ApplyGrouped(run, later, 100);

  ExpectDay(run, absl::CivilDay(2026, 11, 10),
            {{kQuestions, 1}, {kResponseMsSum, 300'000}, {kReplied, 1}});
  ExpectDay(run, absl::CivilDay(2026, 11, 11),
            {{kConsultations, 1},
             {kQuestions, 1},
             {kAnswered, 1},
             {kResponseMsSum, 40'000},
             {kSlow, 0}});
  std::filesystem::remove_all(dir);
}

// Conversations of two agents that start between 23:30 and 23:40 and go on
// past midnight, in time order: many a group's first message answers or
// joins a question of the day before, so the days a group changes reach
// back to it.
TEST(BuyerChats, ConversationsAcrossMidnightMatchReference) {
  std::mt19937_64 rng(7);
  std::vector<Event> events;
  for (int buyer = 0; buyer < 60; ++buyer) {
    const std::string name = absl::StrCat("buyer", buyer);
    int64_t t = Local("2026-11-10 23:30:00") +
                static_cast<int64_t>(rng() % 5) * 86'400'000 +
                static_cast<int64_t>(rng() % 600'000);
    for (int m = 0; m < 12; ++m) {
      t += 1'000 + static_cast<int64_t>(rng() % 400'000);
      const std::string id = absl::StrCat("b", buyer, "m", m);
      const std::string agent = absl::StrCat("a", rng() % 2);
      events.push_back(rng() % 2 == 0 ? In(id, t, name, agent)
                                      : Out(id, t, name, agent, "亲"));
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.ts_ms != b.ts_ms ? a.ts_ms < b.ts_ms : a.id < b.id;
  });
  const Rules rules = TestRules();
  const RefSnapshot want = ReferencePeriod(
      ReferenceDays(events, rules), DayNumber(absl::CivilDay(2026, 11, 10)),
      DayNumber(absl::CivilDay(2026, 11, 16)));
  for (size_t window : {size_t{5}, size_t{50}, size_t{1000}}) {
    const std::string dir = TempDir(absl::StrCat("buyer_chats_night", window));
    {
      EngineRun run(dir, rules);
      ApplyGrouped(run, events, window);
      ExpectSameAsReference(run.Snapshot(absl::CivilDay(2026, 11, 10),
                                         absl::CivilDay(2026, 11, 16)),
                            want);
    }
    std::filesystem::remove_all(dir);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "window " << window;
      return;
    }
  }
}

// Generated months, in time order and shuffled, with redeliveries and
// conflicting copies, grouped in windows of several sizes (1: each chat
// alone), against the batch reference model.
TEST(BuyerChats, GroupedMonthsMatchReference) {
  for (uint64_t seed : {11, 12, 13}) {
    GeneratorOptions opts;
    opts.seed = seed;
    opts.agents = 3 + seed % 3;
    opts.buyers = 30 + seed;
    auto generated = GenerateEvents(opts);
    ASSERT_TRUE(generated.ok()) << generated.status();
    std::vector<Event> sorted = *generated;
    std::sort(sorted.begin(), sorted.end(), [](const Event& a, const Event& b) {
      return a.ts_ms != b.ts_ms ? a.ts_ms < b.ts_ms : a.id < b.id;
    });
    Rules rules = TestRules();
    if (seed == 12) rules.attribution_model = AttributionModel::kFirst;
    const RefSnapshot want = ReferencePeriod(
        ReferenceDays(sorted, rules), DayNumber(absl::CivilDay(2026, 10, 30)),
        DayNumber(absl::CivilDay(2026, 12, 2)));
    std::vector<Event> shuffled = sorted;
    std::mt19937_64 rng(seed);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // Redeliveries (the first copy counts) of events already in the list.
    std::vector<Event> redelivered = shuffled;
    for (size_t i = 0; i < shuffled.size() / 10; ++i) {
      redelivered.insert(redelivered.begin() + rng() % redelivered.size(),
                         shuffled[rng() % shuffled.size()]);
    }
    const std::vector<std::pair<std::string, const std::vector<Event>*>>
        inputs = {{"sorted", &sorted},
                  {"shuffled", &shuffled},
                  {"redelivered", &redelivered}};
    for (const auto& [name, events] : inputs) {
      for (size_t window : {size_t{1}, size_t{7}, size_t{300}, size_t{5000}}) {
        const std::string what =
            absl::StrCat("seed ", seed, " ", name, " window ", window);
        const std::string dir = TempDir(absl::StrCat("buyer_chats", seed));
        {
          EngineRun run(dir, rules);
          ApplyGrouped(run, *events, window);
          ExpectSameAsReference(run.Snapshot(absl::CivilDay(2026, 10, 30),
                                             absl::CivilDay(2026, 12, 2)),
                                want);
          if (::testing::Test::HasFailure()) {
            ADD_FAILURE() << what;
            return;
          }
        }
        std::filesystem::remove_all(dir);
      }
    }
  }
}

}  // namespace
}  // namespace chatkpi::testing

// The engine's per-event arithmetic against its plain definitions: the
// counters of a message inserted in its thread, at its end or late,
// folded in one pass (InsertedThreadDayDelta), against the recount of the
// day with and without it; the branch-free overflow checks of Counters::Add and
// Subtract against the checked sums counter by counter; and rows found by
// agent numbers that the engine frees and reuses, against the batch
// reference model.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "base/checked_math.h"
#include "engine/counters.h"
#include "engine/local_day.h"
#include "engine/state.h"
#include "engine/thread_kpis.h"
#include "gtest/gtest.h"
#include "tests/engine_run.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::EngineRun;
using testing::In;
using testing::Local;
using testing::Out;
using testing::TempDir;
using testing::TestRules;

constexpr int64_t kDayMs = 86400'000;
// A day boundary of the UTC calendar the fold test counts in.
constexpr int64_t kMidnight = 20'000 * kDayMs;

std::string Describe(const BuyerState& b, const Message& x) {
  std::string s;
  for (const Message& m : b.messages) {
    absl::StrAppend(&s, m.ts - kMidnight, "/", m.agent, "/", int{m.flags}, "/",
                    std::string(m.id.view()), " ");
  }
  absl::StrAppend(&s, "+ ", x.ts - kMidnight, "/", x.agent, "/", int{x.flags},
                  "/", std::string(x.id.view()));
  return s;
}

// Random threads of three agents around two midnights, with ties of time
// (told apart by id), gaps past the response window and answers that
// cross midnight; each gets one more message, at the end of its thread or
// anywhere before (a late message), whose counters with the fold must be
// those of the recount for every day up to the message's.
void CheckInsertedDeltas(const ChatParams& p, uint64_t seed, int* appended,
                         int* late) {
  std::mt19937_64 rng(seed);
  LocalCalendar cal(absl::UTCTimeZone());
  BuyerState b;
  b.agents = {"shop:a", "shop:b", "shop:c"};
  const int n = static_cast<int>(rng() % 14);
  std::vector<int64_t> steps_ms = {0,         0,         1,         999,
                                   1000,      30'000,    41'000,    600'000,
                                   3'599'000, 3'601'000, 7'200'000, kDayMs / 3};
  int64_t ts = kMidnight - kDayMs / 2 + static_cast<int64_t>(rng() % kDayMs);
  int next_id = 0;
  auto message = [&](uint32_t agent) {
    Message m;
    m.ts = ts;
    m.agent = agent;
    const int kind = static_cast<int>(rng() % 5);
    m.flags = kind < 2 ? Message::kIn
                       : (kind == 3 ? Message::kGood
                                    : (kind == 4 ? Message::kBad : 0));
    if (kind == 4 && rng() % 2 == 0) m.flags |= Message::kGood;
    // Ids that sort either way against those before them.
    m.id = absl::StrCat(rng() % 2 == 0 ? "m" : "k", 100 + next_id++);
    return m;
  };
  for (int i = 0; i < n; ++i) {
    ts += steps_ms[rng() % steps_ms.size()];
    b.messages.push_back(message(static_cast<uint32_t>(rng() % 3)));
  }
  std::sort(b.messages.begin(), b.messages.end(), MessageBefore);
  for (int round = 0; round < 4; ++round) {
    const uint32_t agent = static_cast<uint32_t>(rng() % 3);
    int64_t last = kMidnight - kDayMs;  // of the agent's thread
    for (const Message& m : b.messages) {
      if (m.agent == agent) last = m.ts;
    }
    if (rng() % 2 == 0 || b.messages.empty()) {
      ts = std::max(last, ts - 5000) + steps_ms[rng() % steps_ms.size()];
    } else {  // at, or just beside, the time of a message already there
      ts = b.messages[rng() % b.messages.size()].ts +
           steps_ms[rng() % 4] * (rng() % 2 == 0 ? 1 : -1);
    }
    const Message x = message(agent);
    const size_t pos = std::upper_bound(b.messages.begin(), b.messages.end(), x,
                                        MessageBefore) -
                       b.messages.begin();
    bool at_end = true;
    for (size_t j = pos; j < b.messages.size(); ++j) {
      at_end &= b.messages[j].agent != agent;
    }
    BuyerState with = b;
    with.messages.insert(with.messages.begin() + pos, x);
    const int32_t last_day = cal.DayOf(x.ts);
    for (int32_t d = cal.DayOf(kMidnight - kDayMs); d <= last_day; ++d) {
      const int64_t start = cal.DayStartMs(d);
      const int64_t end = cal.DayStartMs(d + 1);
      Counters want = ThreadDayCounters(with, agent, start, end, p);
      ASSERT_TRUE(
          want.Subtract(ThreadDayCounters(b, agent, start, end, p)).ok());
      const Counters got = InsertedThreadDayDelta(b, x, pos, start, end, p);
      ASSERT_EQ(got, want) << "seed " << seed << " day "
                           << d - cal.DayOf(kMidnight) << " at " << pos << ": "
                           << Describe(b, x);
      ++*(at_end ? appended : late);
    }
    b = std::move(with);
  }
}

// A late `out`, worked out by hand from docs/spec.md §3: a thread of
// in 10:00:00, out 10:01:40 (answered in 100 s), in 10:03:20, out 10:04:20
// (60 s) gets an `out` at 10:00:30. The first question is now answered in
// 30 s, by a first response that is no longer slow; the out at 10:01:40
// closes nothing. Questions, answers and consultations do not change.
TEST(RowArithmetic, LateOutAnswersTheFirstQuestionSooner) {
  ChatParams p;  // an hour's window, slow past 40 s
  const int64_t t0 = kMidnight + 10 * 3600'000;
  BuyerState b;
  b.agents = {"shop:a"};
  auto message = [&](int64_t s, bool in, const char* id) {
    Message m;
    m.ts = t0 + s * 1000;
    m.agent = 0;
    m.flags = in ? Message::kIn : 0;
    m.id = id;
    return m;
  };
  b.messages = {message(0, true, "m1"), message(100, false, "m2"),
                message(200, true, "m3"), message(260, false, "m4")};
  const Message late = message(30, false, "m5");
  Counters want;
  want[kResponseMsSum] = 30'000 - 100'000;
  want[kFirstResponseMsSum] = 30'000 - 100'000;
  want[kSlow] = -1;
  want.response_s.Add(30, 1);
  want.response_s.Add(100, -1);
  want.first_response_s.Add(30, 1);
  want.first_response_s.Add(100, -1);
  EXPECT_EQ(
      InsertedThreadDayDelta(b, late, 1, kMidnight, kMidnight + kDayMs, p),
      want);
}

TEST(RowArithmetic, InsertedMessageFoldEqualsRecount) {
  ChatParams calendar;  // the defaults: an hour's window, slow past 40 s
  ChatParams business = calendar;
  ServiceHours hours;
  hours.has_hours = true;
  for (size_t d = 0; d < 7; ++d) {
    hours.week[d] = {{9 * 60, 12 * 60}, {13 * 60 + 30, 21 * 60}};
  }
  business.business =
      std::make_shared<const BusinessClock>(hours, absl::UTCTimeZone());
  int appended = 0, late = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    CheckInsertedDeltas(seed % 2 == 0 ? business : calendar, seed, &appended,
                        &late);
    if (HasFatalFailure()) return;
  }
  // Both kinds, many times over.
  EXPECT_GT(appended, 8000);
  EXPECT_GT(late, 5000);
  EXPECT_GT(appended, 10000);
}

// Counters::Add and Subtract find overflow from the sums' sign bits; the
// result, the error and the counter it names must be those of
// CheckedAdd/CheckedSub in counter order, and a failed call changes nothing.
TEST(RowArithmetic, BranchFreeOverflowChecksMatchCheckedSums) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::vector<int64_t> edges = {kMin, kMin + 1, kMin / 2, -2,  -1, 0, 1,
                                      2,    kMax / 2, kMax - 1, kMax};
  std::mt19937_64 rng(42);
  auto value = [&] {
    return rng() % 3 == 0 ? static_cast<int64_t>(rng())
                          : edges[rng() % edges.size()];
  };
  int failures = 0;
  for (int round = 0; round < 20000; ++round) {
    Counters a, b;
    for (int i = 0; i < kNumCounters; ++i) {
      // Mostly small, so that a round overflows in one counter or a few.
      a[i] = rng() % 4 == 0 ? value() : static_cast<int64_t>(rng() % 100);
      b[i] = rng() % 4 == 0 ? value() : -static_cast<int64_t>(rng() % 100);
    }
    for (bool add : {true, false}) {
      Counters want = a;
      int first_overflow = -1;
      for (int i = 0; i < kNumCounters && first_overflow < 0; ++i) {
        const bool ok = add ? CheckedAdd(a[i], b[i], &want[i])
                            : CheckedSub(a[i], b[i], &want[i]);
        if (!ok) first_overflow = i;
      }
      Counters got = a;
      const absl::Status s = add ? got.Add(b) : got.Subtract(b);
      if (first_overflow < 0) {
        ASSERT_TRUE(s.ok()) << s;
        ASSERT_EQ(got, want);
      } else {
        ++failures;
        ASSERT_EQ(s.code(), absl::StatusCode::kOutOfRange);
        const std::string name =
            "counter '" + std::string(kCounterNames[first_overflow]) + "'";
        ASSERT_NE(std::string(s.message()).find(name), std::string::npos) << s;
        ASSERT_EQ(got, a);  // nothing half-added
      }
    }
  }
  EXPECT_GT(failures, 1000);
}

// Rows are found by per-engine agent numbers, which an agent gives up once
// none of its rows is held (rows and month rollups past the horizon leave
// memory at a commit) and another agent then takes. An agent whose rows
// left comes back late, under a new number, to rows read back from the
// store; every figure, of the days and of whole months (read from the
// rollups), must stay the reference model's.
TEST(RowArithmetic, AgentNumbersFreedAndReusedKeepEveryRow) {
  std::vector<Event> events;
  int id = 0;
  auto chat = [&](bool in, absl::CivilSecond at, const std::string& buyer,
                  const std::string& agent) {
    const std::string name = absl::StrCat("c", id++);
    const int64_t ts = Local(absl::FormatCivilTime(at));
    events.push_back(in ? In(name, ts, buyer, agent)
                        : Out(name, ts, buyer, agent, "亲，好的"));
  };
  // shop:old works on Sep 30 only; then shop:a every day into November,
  // which moves shop:old's day and September rows out of memory.
  chat(true, absl::CivilSecond(2026, 9, 30, 10, 0, 0), "u1", "shop:old");
  chat(false, absl::CivilSecond(2026, 9, 30, 10, 0, 20), "u1", "shop:old");
  for (absl::CivilDay d(2026, 10, 1); d <= absl::CivilDay(2026, 11, 3); ++d) {
    const std::string buyer = absl::StrCat("u", d - absl::CivilDay(2026, 9, 1));
    const absl::CivilSecond nine(d.year(), d.month(), d.day(), 9, 0, 0);
    chat(true, nine, buyer, "shop:a");
    chat(false, nine + 45, buyer, "shop:a");
  }
  // A new agent, which may take shop:old's freed number.
  chat(true, absl::CivilSecond(2026, 11, 3, 12, 0, 0), "u90", "shop:new");
  chat(false, absl::CivilSecond(2026, 11, 3, 12, 0, 5), "u90", "shop:new");
  // shop:old comes back late to Sep 30 (its rows read back from the store)
  // and works on Nov 3; shop:new and shop:a go on.
  chat(true, absl::CivilSecond(2026, 9, 30, 11, 0, 0), "u2", "shop:old");
  chat(false, absl::CivilSecond(2026, 9, 30, 11, 0, 50), "u2", "shop:old");
  chat(true, absl::CivilSecond(2026, 11, 3, 13, 0, 0), "u91", "shop:old");
  chat(false, absl::CivilSecond(2026, 11, 3, 13, 0, 10), "u91", "shop:old");
  chat(true, absl::CivilSecond(2026, 11, 3, 14, 0, 0), "u92", "shop:new");
  chat(false, absl::CivilSecond(2026, 11, 3, 14, 0, 30), "u92", "shop:new");
  chat(true, absl::CivilSecond(2026, 11, 3, 15, 0, 0), "u93", "shop:a");

  const Rules rules = TestRules();
  const RefDays ref = ReferenceDays(events, rules);
  EngineRun run(TempDir("agent_numbers"), rules);
  run.Apply(events, 2);  // a commit (and an eviction) every two events
  // Whole months (rollups), single days and a span of days.
  const std::vector<std::pair<absl::CivilDay, absl::CivilDay>> periods = {
      {absl::CivilDay(2026, 9, 1), absl::CivilDay(2026, 9, 30)},
      {absl::CivilDay(2026, 11, 1), absl::CivilDay(2026, 11, 30)},
      {absl::CivilDay(2026, 9, 1), absl::CivilDay(2026, 11, 30)},
      {absl::CivilDay(2026, 9, 30), absl::CivilDay(2026, 9, 30)},
      {absl::CivilDay(2026, 11, 3), absl::CivilDay(2026, 11, 3)},
      {absl::CivilDay(2026, 10, 30), absl::CivilDay(2026, 11, 3)}};
  for (const auto& [from, to] : periods) {
    const std::string what = absl::StrCat(absl::FormatCivilTime(from), "..",
                                          absl::FormatCivilTime(to));
    const RefSnapshot want =
        ReferencePeriod(ref, DayNumber(from), DayNumber(to));
    const PeriodSnapshot got = run.Snapshot(from, to);
    ASSERT_EQ(got.agents.size(), want.agents.size()) << what;
    for (const AgentRow& r : got.agents) {
      auto it = want.agents.find(r.agent);
      ASSERT_NE(it, want.agents.end()) << what << " " << r.agent;
      EXPECT_EQ(r.counters, it->second) << what << " " << r.agent;
    }
  }
  // By hand: shop:old answered in 20 s and 50 s on Sep 30 (50 s > 40 s is
  // slow) and in 10 s on Nov 3.
  const PeriodSnapshot all =
      run.Snapshot(absl::CivilDay(2026, 9, 1), absl::CivilDay(2026, 11, 30));
  bool found = false;
  for (const AgentRow& r : all.agents) {
    if (r.agent != "shop:old") continue;
    found = true;
    EXPECT_EQ(r.counters[kConsultations], 3);
    EXPECT_EQ(r.counters[kAnswered], 3);
    EXPECT_EQ(r.counters[kResponseMsSum], 20'000 + 50'000 + 10'000);
    EXPECT_EQ(r.counters[kSlow], 1);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace chatkpi

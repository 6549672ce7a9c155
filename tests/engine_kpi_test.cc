// Hand-computed §3 counters and ratios, one scenario per test. Every expected
// value is worked out from docs/spec.md in the comments, not read off the
// engine.
#include <algorithm>
#include <random>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::FindAgent;
using testing::In;
using testing::Local;
using testing::Order;
using testing::Out;
using testing::RunEngine;
using testing::TestRules;

const absl::CivilDay kNov10(2026, 11, 10);
const absl::CivilDay kNov11(2026, 11, 11);
const std::string kA = "shop:a";
const std::string kB = "shop:b";

Counters Expect(std::initializer_list<std::pair<Counter, int64_t>> values) {
  Counters c;
  for (auto [k, v] : values) c[k] = v;
  return c;
}

void ExpectCounters(const PeriodSnapshot& s, const std::string& agent,
                    const Counters& want) {
  const AgentRow* row = FindAgent(s, agent);
  ASSERT_NE(row, nullptr) << agent;
  for (int i = 0; i < kNumCounters; ++i) {
    EXPECT_EQ(row->counters[i], want[i]) << agent << " " << kCounterNames[i];
  }
}

// Runs the events in the given order, reversed and shuffled: the counters
// must not depend on arrival order (docs/spec.md §4).
std::vector<PeriodSnapshot> AllOrders(std::vector<Event> events,
                                      absl::CivilDay from, absl::CivilDay to,
                                      const Rules& rules = TestRules()) {
  std::vector<PeriodSnapshot> out;
  out.push_back(RunEngine(events, rules, from, to));
  std::reverse(events.begin(), events.end());
  out.push_back(RunEngine(events, rules, from, to, 1));
  std::mt19937 rng(7);
  std::shuffle(events.begin(), events.end(), rng);
  out.push_back(RunEngine(events, rules, from, to, 2));
  return out;
}

TEST(EngineKpi, SeveralInsBeforeOneAnswer) {
  // Three `in` form one question opened at 09:00:00; the answer at 09:00:30
  // closes it: 30 s, not slow (<= 40 s). "亲" makes the reply courteous.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 09:00:00"), "u1", kA),
      In("c2", Local("2026-11-10 09:00:10"), "u1", kA),
      In("c3", Local("2026-11-10 09:00:20"), "u1", kA),
      Out("c4", Local("2026-11-10 09:00:30"), "u1", kA, "亲，在的"),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kReplied, 1},
                           {kQuestions, 1},
                           {kAnswered, 1},
                           {kResponseMsSum, 30000},
                           {kFirstResponses, 1},
                           {kFirstResponseMsSum, 30000},
                           {kCourteous, 1}}));
    const Counters& c = FindAgent(s, kA)->counters;
    EXPECT_EQ(ComputeRatio(c, kAvgResponseS), 30.0);
    EXPECT_EQ(ComputeRatio(c, kReplyRate), 1.0);
    EXPECT_EQ(ComputeRatio(c, kSlowRate), 0.0);
    EXPECT_EQ(ComputeRatio(c, kCourtesyRate), 1.0);
    EXPECT_EQ(ComputeRatio(c, kConversionRate), 0.0);
    EXPECT_FALSE(ComputeRatio(c, kOrderSuccessRate).has_value());
  }
}

TEST(EngineKpi, AutoReplyDoesNotAnswer) {
  // The auto reply at +1 s neither closes the question nor counts as a reply;
  // the human answer at +50 s does: 50 s > 40 s is slow.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 10:00:00"), "u1", kA),
      testing::Chat("c2", Local("2026-11-10 10:00:01"), "u1", kA, false,
                    "您好，自动回复", true),
      Out("c3", Local("2026-11-10 10:00:50"), "u1", kA, "在"),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kReplied, 1},
                           {kQuestions, 1},
                           {kAnswered, 1},
                           {kResponseMsSum, 50000},
                           {kSlow, 1},
                           {kFirstResponses, 1},
                           {kFirstResponseMsSum, 50000}}));
    // The auto reply's "您好" does not make the consultation courteous.
    EXPECT_EQ(FindAgent(s, kA)->counters[kCourteous], 0);
  }
}

TEST(EngineKpi, OnlyAutoRepliesIsNotReplied) {
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 10:00:00"), "u1", kA),
      testing::Chat("c2", Local("2026-11-10 10:00:01"), "u1", kA, false, "亲",
                    true),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(
        s, kA,
        Expect({{kConsultations, 1}, {kQuestions, 1}, {kUnanswered, 1}}));
    EXPECT_EQ(ComputeRatio(FindAgent(s, kA)->counters, kReplyRate), 0.0);
    EXPECT_FALSE(
        ComputeRatio(FindAgent(s, kA)->counters, kAvgResponseS).has_value());
  }
}

TEST(EngineKpi, AutoFlagOnAnInIsIgnored) {
  // docs/spec.md §1: only `out` messages can be automatic; on an `in` the
  // flag is ignored. So the `in` at 10:00:00 marked automatic is a question
  // like any other: answered at 10:00:20 in 20 s, not slow (<= 40 s). The
  // second `in`, at 10:05:00, is also marked; its answer at 10:06:00 takes
  // 60 s, slow. No good keyword in either answer: not courteous.
  std::vector<Event> ev = {
      testing::Chat("c1", Local("2026-11-10 10:00:00"), "u1", kA, true, "在吗",
                    true),
      Out("c2", Local("2026-11-10 10:00:20"), "u1", kA, "在"),
      testing::Chat("c3", Local("2026-11-10 10:05:00"), "u1", kA, true,
                    "发货了吗", true),
      Out("c4", Local("2026-11-10 10:06:00"), "u1", kA, "今天发"),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kReplied, 1},
                           {kQuestions, 2},
                           {kAnswered, 2},
                           {kResponseMsSum, 80000},
                           {kSlow, 1},
                           {kFirstResponses, 1},
                           {kFirstResponseMsSum, 20000}}));
  }
}

TEST(EngineKpi, AnswerPastWindowIsUnanswered) {
  // 3601 s > response.window_s = 3600: unanswered, but the out still closes
  // the question and is a reply that day. A second question at 12:30 is
  // answered after exactly 3600 s (<= window): answered, slow.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 11:00:00"), "u1", kA),
      Out("c2", Local("2026-11-10 12:00:01"), "u1", kA, "不知道"),
      In("c3", Local("2026-11-10 12:30:00"), "u1", kA),
      Out("c4", Local("2026-11-10 13:30:00"), "u1", kA, "谢谢"),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kReplied, 1},
                           {kQuestions, 2},
                           {kAnswered, 1},
                           {kUnanswered, 1},
                           {kResponseMsSum, 3600000},
                           {kSlow, 1},
                           // first question of the day was unanswered
                           {kFirstResponses, 0},
                           // "不知道" is rude, so not courteous despite "谢谢"
                           {kRude, 1}}));
  }
}

TEST(EngineKpi, QuestionOpenAtTheEnd) {
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 13:00:00"), "u1", kA),
      In("c2", Local("2026-11-10 13:05:00"), "u1", kA),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(
        s, kA,
        Expect({{kConsultations, 1}, {kQuestions, 1}, {kUnanswered, 1}}));
  }
}

TEST(EngineKpi, LateAnswerRetractsUnanswered) {
  // Counted unanswered while open; the answer arriving later turns it into
  // answered (retract and recount), whatever the commit boundaries.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 13:00:00"), "u1", kA),
      Out("c2", Local("2026-11-10 13:00:05"), "u1", kA),
  };
  auto s = RunEngine(ev, TestRules(), kNov10, kNov10, 1);
  ExpectCounters(s, kA,
                 Expect({{kConsultations, 1},
                         {kReplied, 1},
                         {kQuestions, 1},
                         {kAnswered, 1},
                         {kResponseMsSum, 5000},
                         {kFirstResponses, 1},
                         {kFirstResponseMsSum, 5000}}));
}

TEST(EngineKpi, ThreadCrossingLocalMidnight) {
  // Local (UTC+8) 23:59:30 on Nov 10 opens a question answered at 00:00:20
  // on Nov 11: 50 s, slow, and it belongs to Nov 10. Nov 10 has a
  // consultation but no reply that day. Nov 11 has an `out` but no `in`
  // until 00:05, which opens a new question answered at 00:05:10.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 23:59:30"), "u1", kA),
      Out("c2", Local("2026-11-11 00:00:20"), "u1", kA),
      In("c3", Local("2026-11-11 00:05:00"), "u1", kA),
      Out("c4", Local("2026-11-11 00:05:10"), "u1", kA),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kQuestions, 1},
                           {kAnswered, 1},
                           {kResponseMsSum, 50000},
                           {kSlow, 1},
                           {kFirstResponses, 1},
                           {kFirstResponseMsSum, 50000}}));
  }
  for (const auto& s : AllOrders(ev, kNov11, kNov11)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kReplied, 1},
                           {kQuestions, 1},
                           {kAnswered, 1},
                           {kResponseMsSum, 10000},
                           {kFirstResponses, 1},
                           {kFirstResponseMsSum, 10000}}));
  }
  // The period is the sum of its days.
  for (const auto& s : AllOrders(ev, kNov10, kNov11)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 2},
                           {kReplied, 1},
                           {kQuestions, 2},
                           {kAnswered, 2},
                           {kResponseMsSum, 60000},
                           {kSlow, 1},
                           {kFirstResponses, 2},
                           {kFirstResponseMsSum, 60000}}));
    EXPECT_EQ(ComputeRatio(FindAgent(s, kA)->counters, kAvgResponseS), 30.0);
  }
}

TEST(EngineKpi, UtcMidnightIsNotLocalMidnight) {
  // 23:30 and 08:30 local on the same day straddle UTC midnight (00:30 UTC
  // is 08:30 local): one local day, one consultation.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 07:30:00"), "u1", kA),
      Out("c2", Local("2026-11-10 07:30:10"), "u1", kA),
      In("c3", Local("2026-11-10 08:30:00"), "u1", kA),
      Out("c4", Local("2026-11-10 08:30:20"), "u1", kA),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kReplied, 1},
                           {kQuestions, 2},
                           {kAnswered, 2},
                           {kResponseMsSum, 30000},
                           {kFirstResponses, 1},
                           {kFirstResponseMsSum, 10000}}));
  }
}

std::vector<Event> TwoAgentOrder() {
  // u1 asks agent a at 08:00 and agent b at 09:00, orders at 10:00 and pays
  // 128.50 yuan for 2 items at 10:05.
  return {
      In("c1", Local("2026-11-10 08:00:00"), "u1", kA),
      Out("c2", Local("2026-11-10 08:00:05"), "u1", kA),
      In("c3", Local("2026-11-10 09:00:00"), "u1", kB),
      Out("c4", Local("2026-11-10 09:00:05"), "u1", kB),
      Order("o1", Local("2026-11-10 10:00:00"), "A1", "u1",
            OrderStatus::kCreated, 12850, 2),
      Order("o2", Local("2026-11-10 10:05:00"), "A1", "u1", OrderStatus::kPaid,
            12850, 2),
  };
}

TEST(EngineKpi, OrderWithTwoAgentsUnderLast) {
  for (const auto& s : AllOrders(TwoAgentOrder(), kNov10, kNov10)) {
    const Counters& b = FindAgent(s, kB)->counters;
    EXPECT_EQ(b[kOrders], 1);
    EXPECT_EQ(b[kOrderedBuyers], 1);
    EXPECT_EQ(b[kPaidOrders], 1);
    EXPECT_EQ(b[kPaidBuyers], 1);
    EXPECT_EQ(b[kPaidItems], 2);
    EXPECT_EQ(b[kSalesFen], 12850);
    EXPECT_EQ(ComputeRatio(b, kConversionRate), 1.0);
    EXPECT_EQ(ComputeRatio(b, kOrderSuccessRate), 1.0);
    EXPECT_EQ(ComputeRatio(b, kAvgOrderValue), 128.5);
    const Counters& a = FindAgent(s, kA)->counters;
    EXPECT_EQ(a[kOrders], 0);
    EXPECT_EQ(ComputeRatio(a, kConversionRate), 0.0);
    EXPECT_TRUE(s.unattributed.IsZero());
  }
}

TEST(EngineKpi, OrderWithTwoAgentsUnderFirst) {
  Rules rules = TestRules();
  rules.attribution_model = AttributionModel::kFirst;
  for (const auto& s : AllOrders(TwoAgentOrder(), kNov10, kNov10, rules)) {
    EXPECT_EQ(FindAgent(s, kA)->counters[kOrders], 1);
    EXPECT_EQ(FindAgent(s, kA)->counters[kSalesFen], 12850);
    EXPECT_EQ(FindAgent(s, kB)->counters[kOrders], 0);
  }
}

TEST(EngineKpi, AttributionWindowBoundaries) {
  // created at Nov 11 10:00. An `in` exactly 86400 s before is inside the
  // window; one 86400.001 s before is not.
  std::vector<Event> inside = {
      In("c1", Local("2026-11-10 10:00:00"), "u1", kA),
      Order("o1", Local("2026-11-11 10:00:00"), "A1", "u1",
            OrderStatus::kCreated, 100, 1),
  };
  for (const auto& s : AllOrders(inside, kNov10, kNov11)) {
    EXPECT_EQ(FindAgent(s, kA)->counters[kOrders], 1);
  }
  std::vector<Event> outside = {
      In("c1", Local("2026-11-10 10:00:00") - 1, "u1", kA),
      Order("o1", Local("2026-11-11 10:00:00"), "A1", "u1",
            OrderStatus::kCreated, 100, 1),
  };
  for (const auto& s : AllOrders(outside, kNov10, kNov11)) {
    EXPECT_EQ(FindAgent(s, kA)->counters[kOrders], 0);
    EXPECT_EQ(s.unattributed[kOrders], 1);
    EXPECT_EQ(s.unattributed[kOrderedBuyers], 1);
  }
  // A message after the order was created does not attribute it.
  std::vector<Event> after = {
      Order("o1", Local("2026-11-11 10:00:00"), "A1", "u1",
            OrderStatus::kCreated, 100, 1),
      In("c1", Local("2026-11-11 10:00:01"), "u1", kA),
  };
  for (const auto& s : AllOrders(after, kNov11, kNov11)) {
    EXPECT_EQ(FindAgent(s, kA)->counters[kOrders], 0);
    EXPECT_EQ(s.unattributed[kOrders], 1);
  }
}

TEST(EngineKpi, MissingCreatedSecondPaidPartialRefunds) {
  // Order B2 has no `created`: its created time is its earliest event, the
  // paid at 10:00 (2 decimals: 0.29 yuan = 29 fen... here 99.99 yuan). The
  // second `paid` changes nothing. Two partial refunds count on their own
  // days: Nov 10 (1 item, 30.00) and Nov 11 (1 item, 20.50).
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 09:00:00"), "u1", kA),
      Order("o1", Local("2026-11-10 10:00:00"), "B2", "u1", OrderStatus::kPaid,
            9999, 3),
      Order("o2", Local("2026-11-10 10:00:30"), "B2", "u1", OrderStatus::kPaid,
            9999, 3),
      Order("o3", Local("2026-11-10 18:00:00"), "B2", "u1",
            OrderStatus::kRefunded, 3000, 1),
      Order("o4", Local("2026-11-11 09:00:00"), "B2", "u1",
            OrderStatus::kRefunded, 2050, 1),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kQuestions, 1},
                           {kUnanswered, 1},
                           {kOrders, 1},
                           {kOrderedBuyers, 1},
                           {kPaidOrders, 1},
                           {kPaidBuyers, 1},
                           {kPaidItems, 3},
                           {kSalesFen, 9999},
                           {kRefunds, 1},
                           {kRefundedItems, 1},
                           {kRefundFen, 3000}}));
    EXPECT_DOUBLE_EQ(*ComputeRatio(FindAgent(s, kA)->counters, kRefundRate),
                     1.0 / 3.0);
  }
  for (const auto& s : AllOrders(ev, kNov10, kNov11)) {
    const Counters& a = FindAgent(s, kA)->counters;
    EXPECT_EQ(a[kRefunds], 2);
    EXPECT_EQ(a[kRefundedItems], 2);
    EXPECT_EQ(a[kRefundFen], 5050);
    EXPECT_EQ(a[kPaidOrders], 1);
  }
}

TEST(EngineKpi, LateCreatedMovesTheOrder) {
  // Paid first at Nov 11 10:00 (attributed by the Nov 11 09:00 `in` to b),
  // then the `created` of Nov 10 08:30 arrives: created time moves back a
  // day, the window now only covers a's 08:00 message.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 08:00:00"), "u1", kA),
      In("c2", Local("2026-11-11 09:00:00"), "u1", kB),
      Order("o2", Local("2026-11-11 10:00:00"), "C3", "u1", OrderStatus::kPaid,
            5000, 1),
      Order("o1", Local("2026-11-10 08:30:00"), "C3", "u1",
            OrderStatus::kCreated, 5000, 1),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov11)) {
    const Counters& a = FindAgent(s, kA)->counters;
    EXPECT_EQ(a[kOrders], 1);
    EXPECT_EQ(a[kPaidOrders], 1);
    EXPECT_EQ(a[kSalesFen], 5000);
    EXPECT_EQ(FindAgent(s, kB)->counters[kOrders], 0);
  }
}

TEST(EngineKpi, SilentOrderAndClosed) {
  // No chat at all: unattributed. A `closed` event counts in no KPI but is
  // an event of its order (created time and buyer).
  std::vector<Event> ev = {
      Order("o1", Local("2026-11-10 10:00:00"), "S1", "u9",
            OrderStatus::kCreated, 25800, 1),
      Order("o2", Local("2026-11-10 10:01:00"), "S1", "u9", OrderStatus::kPaid,
            25800, 1),
      Order("o3", Local("2026-11-10 11:00:00"), "S2", "u9",
            OrderStatus::kClosed, 0, 1),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    EXPECT_TRUE(s.agents.empty());
    EXPECT_EQ(s.unattributed[kOrders], 2);  // S2 exists: created = its closed
    EXPECT_EQ(s.unattributed[kOrderedBuyers], 1);
    EXPECT_EQ(s.unattributed[kPaidOrders], 1);
    EXPECT_EQ(s.unattributed[kPaidBuyers], 1);
    EXPECT_EQ(s.unattributed[kSalesFen], 25800);
  }
}

TEST(EngineKpi, DistinctBuyersPerDay) {
  // Two orders of one buyer with one agent on one day: orders 2, ordered
  // buyers 1; a second buyer adds one.
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 09:00:00"), "u1", kA),
      In("c2", Local("2026-11-10 09:00:00"), "u2", kA),
      Order("o1", Local("2026-11-10 10:00:00"), "D1", "u1",
            OrderStatus::kCreated, 100),
      Order("o2", Local("2026-11-10 11:00:00"), "D2", "u1",
            OrderStatus::kCreated, 100),
      Order("o3", Local("2026-11-10 11:00:00"), "D3", "u2",
            OrderStatus::kCreated, 100),
      Order("o4", Local("2026-11-10 11:30:00"), "D1", "u1", OrderStatus::kPaid,
            100),
      Order("o5", Local("2026-11-10 11:30:00"), "D2", "u1", OrderStatus::kPaid,
            200),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    const Counters& a = FindAgent(s, kA)->counters;
    EXPECT_EQ(a[kConsultations], 2);
    EXPECT_EQ(a[kOrders], 3);
    EXPECT_EQ(a[kOrderedBuyers], 2);
    EXPECT_EQ(a[kPaidOrders], 2);
    EXPECT_EQ(a[kPaidBuyers], 1);
    EXPECT_EQ(a[kSalesFen], 300);
    EXPECT_EQ(ComputeRatio(a, kConversionRate), 1.0);
    EXPECT_EQ(ComputeRatio(a, kOrderSuccessRate), 0.5);
    EXPECT_EQ(ComputeRatio(a, kPayConversionRate), 0.5);
    EXPECT_EQ(ComputeRatio(a, kAvgOrderValue), 3.0);
  }
}

TEST(EngineKpi, RedeliveryChangesNothing) {
  std::vector<Event> ev = {
      In("c1", Local("2026-11-10 09:00:00"), "u1", kA),
      Out("c2", Local("2026-11-10 09:00:10"), "u1", kA),
      // Same id, other content: still a redelivery.
      Out("c2", Local("2026-11-10 09:00:05"), "u1", kB),
      In("c1", Local("2026-11-10 09:00:00"), "u1", kA),
  };
  auto s = RunEngine(ev, TestRules(), kNov10, kNov10, 1);
  ExpectCounters(s, kA,
                 Expect({{kConsultations, 1},
                         {kReplied, 1},
                         {kQuestions, 1},
                         {kAnswered, 1},
                         {kResponseMsSum, 10000},
                         {kFirstResponses, 1},
                         {kFirstResponseMsSum, 10000}}));
  EXPECT_EQ(FindAgent(s, kB), nullptr);
}

TEST(EngineKpi, ReplyBeforeFirstInDoesNotCount) {
  // The agent writes first at 08:00; the buyer asks at 09:00 and gets no
  // answer that day: consultation without reply.
  std::vector<Event> ev = {
      Out("c1", Local("2026-11-10 08:00:00"), "u1", kA, "您好"),
      In("c2", Local("2026-11-10 09:00:00"), "u1", kA),
  };
  for (const auto& s : AllOrders(ev, kNov10, kNov10)) {
    ExpectCounters(s, kA,
                   Expect({{kConsultations, 1},
                           {kQuestions, 1},
                           {kUnanswered, 1},
                           // courtesy looks at all non-auto outs of the day
                           {kCourteous, 1}}));
  }
}

}  // namespace
}  // namespace chatkpi

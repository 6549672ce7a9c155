// Hand-computed cases for the reference model. Each expected number is worked
// out from docs/spec.md §3 in the comments, so that the model, which the engine's
// randomized tests trust, is itself checked against the text.
#include "tests/reference_model.h"

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

const absl::TimeZone kShanghai = absl::FixedTimeZone(8 * 3600);

Rules TestRules() {
  Rules r;
  r.timezone = kShanghai;
  return r;
}

// Local time 2026-11-<day> h:m:s.ms in UTC+8, as epoch ms.
int64_t T(int day, int h, int m, int s, int ms = 0) {
  return absl::ToUnixMillis(absl::FromCivil(
             absl::CivilSecond(2026, 11, day, h, m, s), kShanghai)) +
         ms;
}

int32_t D(int day) { return DayNumber(absl::CivilDay(2026, 11, day)); }

Event In(std::string id, int64_t ts, std::string agent, std::string buyer,
         std::string text = "在吗") {
  Event e;
  e.type = EventType::kChat;
  e.id = std::move(id);
  e.ts_ms = ts;
  e.agent = std::move(agent);
  e.buyer = std::move(buyer);
  e.inbound = true;
  e.text = std::move(text);
  return e;
}

Event Out(std::string id, int64_t ts, std::string agent, std::string buyer,
          std::string text = "好的", bool auto_reply = false) {
  Event e = In(std::move(id), ts, std::move(agent), std::move(buyer),
               std::move(text));
  e.inbound = false;
  e.auto_reply = auto_reply;
  return e;
}

Event Ord(std::string id, int64_t ts, std::string order, std::string buyer,
          OrderStatus status, int64_t fen = 0, int64_t items = 1) {
  Event e;
  e.type = EventType::kOrder;
  e.id = std::move(id);
  e.ts_ms = ts;
  e.order = std::move(order);
  e.buyer = std::move(buyer);
  e.status = status;
  e.amount_fen = fen;
  e.items = items;
  return e;
}

Counters C(std::initializer_list<std::pair<Counter, int64_t>> values) {
  Counters c;
  for (const auto& [k, v] : values) c[k] = v;
  return c;
}

// Only the order counters, for cases that are about orders.
Counters OrderPart(Counters c) {
  for (int i = 0; i < kFirstOrderCounter; ++i) c[i] = 0;
  c.response_s = ResponseHistogram();
  c.first_response_s = ResponseHistogram();
  return c;
}

// The counters alone: the per-second response counts are checked by the
// tests that are about them (Seconds below).
Counters At(const RefDays& days, const std::string& agent, int32_t day) {
  auto it = days.find({agent, day});
  Counters c;
  if (it != days.end()) c.v = it->second.v;
  return c;
}

std::vector<std::pair<int64_t, int64_t>> Seconds(const RefDays& days,
                                                 const std::string& agent,
                                                 int32_t day, bool first) {
  auto it = days.find({agent, day});
  if (it == days.end()) return {};
  return first ? it->second.first_response_s.bins()
               : it->second.response_s.bins();
}

TEST(ReferenceModelTest, QuestionsOfOneThread) {
  const std::vector<Event> events = {
      // q1 opens 10:00:00; the auto reply does not close it, the second `in`
      // joins it, the 10:00:30 answer closes it: 30000 ms, not slow.
      In("e01", T(1, 10, 0, 0), "A", "b"),
      Out("e02", T(1, 10, 0, 1), "A", "b", "亲，不知道的问题请留言", true),
      In("e03", T(1, 10, 0, 5), "A", "b"),
      Out("e04", T(1, 10, 0, 30), "A", "b", "亲，在的"),
      // q2: 41 s > slow_s 40, slow.
      In("e05", T(1, 10, 5, 0), "A", "b"),
      Out("e06", T(1, 10, 5, 41), "A", "b", "有的"),
      // An `out` with nothing open changes no question.
      Out("e07", T(1, 10, 6, 0), "A", "b", "稍等"),
      // q3: exactly window_s is still answered (3600000 ms), and slow.
      In("e08", T(1, 11, 0, 0), "A", "b"),
      Out("e09", T(1, 12, 0, 0), "A", "b"),
      // q4: one ms over the window: unanswered, and it is closed.
      In("e10", T(1, 13, 0, 0), "A", "b"),
      Out("e11", T(1, 14, 0, 0, 1), "A", "b"),
      // q5: still open at the end: unanswered.
      In("e12", T(1, 15, 0, 0), "A", "b"),
  };
  const RefDays days = ReferenceDays(events, TestRules());
  // questions 5 = answered 3 (q1..q3) + unanswered 2 (q4, q5);
  // response_ms_sum = 30000 + 41000 + 3600000; slow = q2, q3.
  // One consultation, replied; its first question q1 answered in 30000 ms.
  // Non-auto outs contain 亲 and no bad word: courteous. The auto reply's
  // 不知道 does not count.
  // Response seconds (rounded up): q1 30, q2 41, q3 3600; first: q1 30.
  using Bins = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(Seconds(days, "A", D(1), false),
            (Bins{{30, 1}, {41, 1}, {3600, 1}}));
  EXPECT_EQ(Seconds(days, "A", D(1), true), (Bins{{30, 1}}));
  EXPECT_EQ(At(days, "A", D(1)), C({{kConsultations, 1},
                                    {kReplied, 1},
                                    {kQuestions, 5},
                                    {kAnswered, 3},
                                    {kUnanswered, 2},
                                    {kResponseMsSum, 3671000},
                                    {kSlow, 2},
                                    {kFirstResponses, 1},
                                    {kFirstResponseMsSum, 30000},
                                    {kCourteous, 1}}));
  EXPECT_EQ(days.size(), 1u);
}

TEST(ReferenceModelTest, RulesChangeWindows) {
  const std::vector<Event> events = {
      In("e1", T(1, 10, 0, 0), "A", "b"),
      Out("e2", T(1, 10, 0, 6), "A", "b"),  // 6 s: answered, slow under 5 s
      In("e3", T(1, 10, 1, 0), "A", "b"),
      Out("e4", T(1, 10, 2, 1), "A", "b"),  // 61 s > window 60: unanswered
  };
  Rules rules = TestRules();
  rules.response_window_s = 60;
  rules.response_slow_s = 5;
  const RefDays days = ReferenceDays(events, rules);
  // No good keyword in "好的" (default keywords): neither courteous nor rude.
  EXPECT_EQ(At(days, "A", D(1)), C({{kConsultations, 1},
                                    {kReplied, 1},
                                    {kQuestions, 2},
                                    {kAnswered, 1},
                                    {kUnanswered, 1},
                                    {kResponseMsSum, 6000},
                                    {kSlow, 1},
                                    {kFirstResponses, 1},
                                    {kFirstResponseMsSum, 6000}}));
}

TEST(ReferenceModelTest, ThreadAcrossMidnight) {
  const std::vector<Event> events = {
      // b1: q1 opens on day 1, a day-2 `in` joins it, answered on day 2.
      In("a1", T(1, 23, 59, 50), "A", "b1"),
      In("a2", T(2, 0, 0, 10), "A", "b1"),
      Out("a3", T(2, 0, 0, 20), "A", "b1", "您好"),
      // b1: q2 opens on day 2, answered in 10 s.
      In("a4", T(2, 0, 10, 0), "A", "b1"),
      Out("a5", T(2, 0, 10, 10), "A", "b1", "谢谢"),
      // b2: the same shape without a second question, and a rude answer.
      In("b1", T(1, 23, 59, 55), "A", "b2"),
      In("b2", T(2, 0, 0, 5), "A", "b2"),
      Out("b3", T(2, 0, 0, 15), "A", "b2", "自己看"),
  };
  const RefDays days = ReferenceDays(events, TestRules());
  // Day 1: both buyers consult; q1 of b1 (30 s) and of b2 (20 s) open on
  // day 1 and are each one's first question; no `out` on day 1, so neither
  // replied nor courteous.
  EXPECT_EQ(At(days, "A", D(1)), C({{kConsultations, 2},
                                    {kQuestions, 2},
                                    {kAnswered, 2},
                                    {kResponseMsSum, 50000},
                                    {kFirstResponses, 2},
                                    {kFirstResponseMsSum, 50000}}));
  // Day 2: both consult again and both got an `out` after their first day-2
  // `in` (replied 2). Only b1 has a question opened on day 2 (q2, 10 s); b2's
  // day-2 `in` merely joined day 1's question, so b2 has no first response.
  // b1's outs 您好/谢谢: courteous; b2's 自己看: rude.
  EXPECT_EQ(At(days, "A", D(2)), C({{kConsultations, 2},
                                    {kReplied, 2},
                                    {kQuestions, 1},
                                    {kAnswered, 1},
                                    {kResponseMsSum, 10000},
                                    {kFirstResponses, 1},
                                    {kFirstResponseMsSum, 10000},
                                    {kCourteous, 1},
                                    {kRude, 1}}));
}

TEST(ReferenceModelTest, RepliedAndCourtesy) {
  const std::vector<Event> events = {
      // b1: a reminder before the buyer's first `in` of the day does not make
      // the consultation replied, but it is one of the day's outs for
      // courtesy (亲, no bad word).
      Out("a1", T(3, 9, 0, 0), "A", "b1", "亲，您的订单还没付款哦"),
      In("a2", T(3, 10, 0, 0), "A", "b1"),
      // b2: an `out` at the same ms as the first `in`, sorting before it by
      // id: it closes nothing (q stays open: unanswered) yet ts >= first in,
      // so the consultation is replied.
      In("x2", T(3, 10, 0, 0), "A", "b2"),
      Out("x1", T(3, 10, 0, 0), "A", "b2", "好的"),
      // b3: good and bad words in one answer: rude, not courteous.
      In("c1", T(3, 11, 0, 0), "A", "b3"),
      Out("c2", T(3, 11, 0, 10), "A", "b3", "亲，这个不知道"),
      // b4: one good answer and one bad one: rude, not courteous.
      In("d1", T(3, 12, 0, 0), "A", "b4"),
      Out("d2", T(3, 12, 0, 10), "A", "b4", "您好"),
      Out("d3", T(3, 12, 0, 20), "A", "b4", "滚"),
      // b5: only an auto reply answers it: not replied, unanswered.
      In("e1", T(3, 13, 0, 0), "A", "b5"),
      Out("e2", T(3, 13, 0, 1), "A", "b5", "您好，欢迎光临", true),
  };
  const RefDays days = ReferenceDays(events, TestRules());
  // consultations 5; replied b2, b3, b4 = 3; questions: b1, b2, b3, b4, b5
  // one each; answered b3 (10 s) and b4 (10 s); courteous b1; rude b3, b4.
  EXPECT_EQ(At(days, "A", D(3)), C({{kConsultations, 5},
                                    {kReplied, 3},
                                    {kQuestions, 5},
                                    {kAnswered, 2},
                                    {kUnanswered, 3},
                                    {kResponseMsSum, 20000},
                                    {kFirstResponses, 2},
                                    {kFirstResponseMsSum, 20000},
                                    {kCourteous, 1},
                                    {kRude, 2}}));
}

std::vector<Event> OrderEvents() {
  return {
      // b1 asks A at 10:00 and B at 12:00 on day 1.
      In("c1", T(1, 10, 0, 0), "A", "b1"),
      In("c2", T(1, 12, 0, 0), "B", "b1"),
      Out("c3", T(1, 12, 30, 0), "B", "b1"),
      // o1 created day 1 13:00: last -> B, first -> A. Paid day 2 (12900 fen,
      // 2 items); the second paid changes nothing. Refunds on days 3 and 4.
      Ord("o1", T(1, 13, 0, 0), "O1", "b1", OrderStatus::kCreated, 12900, 2),
      Ord("o2", T(2, 9, 0, 0), "O1", "b1", OrderStatus::kPaid, 12900, 2),
      Ord("o3", T(2, 10, 0, 0), "O1", "b1", OrderStatus::kPaid, 99999, 9),
      Ord("o4", T(3, 8, 0, 0), "O1", "b1", OrderStatus::kRefunded, 5000, 1),
      Ord("o5", T(4, 8, 0, 0), "O1", "b1", OrderStatus::kRefunded, 2000, 1),
      // o2 created day 2 12:00, exactly 86400 s after B's 12:00 message (the
      // window is inclusive) and more than that after A's: B in both models.
      Ord("o6", T(2, 12, 0, 0), "O2", "b1", OrderStatus::kCreated, 100, 1),
      // b2 never chats: O3 (paid the same day) and O7 are unattributed.
      Ord("o7", T(1, 15, 0, 0), "O3", "b2", OrderStatus::kCreated, 5850, 1),
      Ord("o8", T(1, 15, 5, 0), "O3", "b2", OrderStatus::kPaid, 5850, 1),
      Ord("o9", T(1, 16, 0, 0), "O7", "b2", OrderStatus::kCreated, 300, 1),
      // b3 asks A; O4 has no created event: created = its paid ts (20:30).
      // O5 has only a closed event; it still counts as an order.
      In("d1", T(1, 20, 0, 0), "A", "b3"),
      Ord("p1", T(1, 20, 30, 0), "O4", "b3", OrderStatus::kPaid, 29, 1),
      Ord("p2", T(1, 21, 0, 0), "O5", "b3", OrderStatus::kClosed, 500, 1),
      // b4: an `in` at the created ts attributes (inclusive); a later one
      // and an `out` of B inside the window do not.
      Out("f0", T(1, 8, 0, 0), "B", "b4"),
      In("f1", T(1, 9, 0, 0), "A", "b4"),
      Ord("f2", T(1, 9, 0, 0), "O6", "b4", OrderStatus::kCreated, 100, 1),
      In("f3", T(1, 9, 30, 0), "B", "b4"),
  };
}

TEST(ReferenceModelTest, OrdersLastTouch) {
  const RefDays days = ReferenceDays(OrderEvents(), TestRules());
  // A day 1: O4, O5 (b3), O6 (b4) = 3 orders of 2 buyers; O4 paid 29 fen.
  EXPECT_EQ(OrderPart(At(days, "A", D(1))), C({{kOrders, 3},
                                               {kOrderedBuyers, 2},
                                               {kPaidOrders, 1},
                                               {kPaidBuyers, 1},
                                               {kPaidItems, 1},
                                               {kSalesFen, 29}}));
  EXPECT_EQ(OrderPart(At(days, "B", D(1))),
            C({{kOrders, 1}, {kOrderedBuyers, 1}}));
  EXPECT_EQ(OrderPart(At(days, "B", D(2))), C({{kOrders, 1},
                                               {kOrderedBuyers, 1},
                                               {kPaidOrders, 1},
                                               {kPaidBuyers, 1},
                                               {kPaidItems, 2},
                                               {kSalesFen, 12900}}));
  EXPECT_EQ(OrderPart(At(days, "B", D(3))),
            C({{kRefunds, 1}, {kRefundedItems, 1}, {kRefundFen, 5000}}));
  EXPECT_EQ(OrderPart(At(days, "B", D(4))),
            C({{kRefunds, 1}, {kRefundedItems, 1}, {kRefundFen, 2000}}));
  // Unattributed day 1: O3 and O7, one buyer; O3 paid 5850.
  EXPECT_EQ(At(days, "", D(1)), C({{kOrders, 2},
                                   {kOrderedBuyers, 1},
                                   {kPaidOrders, 1},
                                   {kPaidBuyers, 1},
                                   {kPaidItems, 1},
                                   {kSalesFen, 5850}}));
  EXPECT_TRUE(OrderPart(At(days, "A", D(2))).IsZero());
}

TEST(ReferenceModelTest, OrdersFirstTouch) {
  Rules rules = TestRules();
  rules.attribution_model = AttributionModel::kFirst;
  const RefDays days = ReferenceDays(OrderEvents(), rules);
  // O1 moves to A (A's 10:00 message is the earliest in its window); O2
  // stays with B, whose message is the only one in its window.
  EXPECT_EQ(OrderPart(At(days, "A", D(1))), C({{kOrders, 4},
                                               {kOrderedBuyers, 3},
                                               {kPaidOrders, 1},
                                               {kPaidBuyers, 1},
                                               {kPaidItems, 1},
                                               {kSalesFen, 29}}));
  EXPECT_TRUE(OrderPart(At(days, "B", D(1))).IsZero());
  EXPECT_EQ(OrderPart(At(days, "A", D(2))), C({{kPaidOrders, 1},
                                               {kPaidBuyers, 1},
                                               {kPaidItems, 2},
                                               {kSalesFen, 12900}}));
  EXPECT_EQ(OrderPart(At(days, "B", D(2))),
            C({{kOrders, 1}, {kOrderedBuyers, 1}}));
  EXPECT_EQ(OrderPart(At(days, "A", D(3))),
            C({{kRefunds, 1}, {kRefundedItems, 1}, {kRefundFen, 5000}}));
}

TEST(ReferenceModelTest, OrderBuyerAndCreatedTime) {
  const std::vector<Event> events = {
      In("c1", T(5, 9, 0, 0), "A", "b1"),
      In("c2", T(5, 9, 0, 0), "B", "b2"),
      // The first event by (ts, id) is the closed one (b2 at 08:00), so the
      // order is b2's; its created time is the created event's 10:00, and
      // b2's 09:00 message to B attributes it on day 5.
      Ord("o2", T(5, 10, 0, 0), "O1", "b1", OrderStatus::kCreated, 100, 1),
      Ord("o1", T(5, 8, 0, 0), "O1", "b2", OrderStatus::kClosed, 100, 1),
      // Three created events: the first by (ts, id), q1 on day 6, sets the
      // created time. b3 never chats: unattributed.
      Ord("q2", T(6, 0, 30, 0), "O2", "b3", OrderStatus::kCreated, 100, 1),
      Ord("q1", T(6, 0, 30, 0), "O2", "b3", OrderStatus::kCreated, 100, 1),
      Ord("q3", T(7, 1, 0, 0), "O2", "b3", OrderStatus::kCreated, 100, 1),
  };
  const RefDays days = ReferenceDays(events, TestRules());
  EXPECT_EQ(OrderPart(At(days, "B", D(5))),
            C({{kOrders, 1}, {kOrderedBuyers, 1}}));
  EXPECT_TRUE(OrderPart(At(days, "A", D(5))).IsZero());
  EXPECT_EQ(At(days, "", D(6)), C({{kOrders, 1}, {kOrderedBuyers, 1}}));
  EXPECT_TRUE(At(days, "", D(7)).IsZero());
}

TEST(ReferenceModelTest, DuplicateIdsKeepTheFirst) {
  const std::vector<Event> events = {
      In("c1", T(1, 10, 0, 0), "A", "b"),
      // Same id, other agent and buyer: a redelivery, ignored.
      In("c1", T(1, 11, 0, 0), "B", "x"),
      Out("c2", T(1, 10, 0, 10), "A", "b"),
      Out("c2", T(1, 10, 0, 50), "A", "b"),
      Ord("o1", T(1, 12, 0, 0), "O1", "b", OrderStatus::kPaid, 1000, 1),
      Ord("o1", T(1, 12, 0, 0), "O1", "b", OrderStatus::kPaid, 5000, 3),
  };
  const RefDays days = ReferenceDays(events, TestRules());
  // One answered question of 10 s; the order (created = paid ts) is A's.
  EXPECT_EQ(At(days, "A", D(1)), C({{kConsultations, 1},
                                    {kReplied, 1},
                                    {kQuestions, 1},
                                    {kAnswered, 1},
                                    {kResponseMsSum, 10000},
                                    {kFirstResponses, 1},
                                    {kFirstResponseMsSum, 10000},
                                    {kOrders, 1},
                                    {kOrderedBuyers, 1},
                                    {kPaidOrders, 1},
                                    {kPaidBuyers, 1},
                                    {kPaidItems, 1},
                                    {kSalesFen, 1000}}));
  EXPECT_EQ(days.count({"B", D(1)}), 0u);
}

TEST(ReferenceModelTest, AssessmentsAreIgnored) {
  Event a;
  a.type = EventType::kAssessment;
  a.id = "a1";
  a.ts_ms = T(1, 10, 0, 0);
  a.agent = "A";
  a.period = "2026-11";
  a.metric = "execution";
  a.value_text = "8";
  a.value = 8;
  EXPECT_TRUE(ReferenceDays({a}, TestRules()).empty());
}

TEST(ReferenceModelTest, PeriodSumsDaysAndDropsZeroRows) {
  std::vector<Event> events = OrderEvents();
  const RefDays days = ReferenceDays(events, TestRules());

  // Day 1 only: A has b1's and b3's and b4's chat plus 3 orders; B has b1's
  // and b4's chat and O1.
  const RefSnapshot day1 = ReferencePeriod(days, D(1), D(1));
  ASSERT_EQ(day1.agents.size(), 2u);
  EXPECT_EQ(day1.agents.at("A")[kOrders], 3);
  EXPECT_EQ(day1.agents.at("A")[kConsultations], 3);  // b1, b3, b4
  EXPECT_EQ(day1.agents.at("B")[kConsultations], 2);  // b1, b4
  EXPECT_EQ(day1.unattributed[kOrders], 2);

  // Days 1..4: B's order counters add up over the days; ordered_buyers is a
  // sum of per-day distinct counts (b1 on day 1 and again on day 2).
  const RefSnapshot all = ReferencePeriod(days, D(1), D(4));
  EXPECT_EQ(OrderPart(all.agents.at("B")), C({{kOrders, 2},
                                              {kOrderedBuyers, 2},
                                              {kPaidOrders, 1},
                                              {kPaidBuyers, 1},
                                              {kPaidItems, 2},
                                              {kSalesFen, 12900},
                                              {kRefunds, 2},
                                              {kRefundedItems, 2},
                                              {kRefundFen, 7000}}));
  EXPECT_EQ(all.unattributed, day1.unattributed);

  // Day 3 alone: only B's refund; A has nothing and is left out.
  const RefSnapshot day3 = ReferencePeriod(days, D(3), D(3));
  ASSERT_EQ(day3.agents.size(), 1u);
  EXPECT_EQ(day3.agents.count("B"), 1u);
  EXPECT_TRUE(day3.unattributed.IsZero());

  EXPECT_TRUE(ReferencePeriod(days, D(10), D(20)).agents.empty());
}

TEST(ReferenceModelTest, LoadedTimeZoneAgreesWithFixedOffset) {
  Rules rules = TestRules();
  if (!absl::LoadTimeZone("Asia/Shanghai", &rules.timezone)) {
    GTEST_SKIP() << "tzdata not installed";
  }
  const std::vector<Event> events = OrderEvents();
  EXPECT_EQ(ReferenceDays(events, rules), ReferenceDays(events, TestRules()));
}

TEST(ReferenceModelTest, BusinessTimeUnderServiceHours) {
  // Open 09:00-21:00, closed on 2026-11-11. q1 asked 08:30, answered 09:02:
  // 2 min. q2 asked 20:59:30 on the 10th, answered 09:00:15 on the 12th:
  // 30 s + 0 + 15 s = 45 s (slow). Both belong to the day they opened.
  Rules rules = TestRules();
  rules.service_hours.has_hours = true;
  for (auto& day : rules.service_hours.week) day = {{9 * 60, 21 * 60}};
  rules.service_hours.closed_dates = {absl::CivilDay(2026, 11, 11)};
  const std::vector<Event> events = {
      In("h1", T(9, 8, 30, 0), "A", "b"),
      Out("h2", T(9, 9, 2, 0), "A", "b"),
      In("h3", T(10, 20, 59, 30), "A", "c"),
      Out("h4", T(12, 9, 0, 15), "A", "c"),
  };
  const RefDays days = ReferenceDays(events, rules);
  EXPECT_EQ(At(days, "A", D(9))[kResponseMsSum], 120'000);
  EXPECT_EQ(At(days, "A", D(9))[kSlow], 1);
  EXPECT_EQ(At(days, "A", D(10))[kAnswered], 1);
  EXPECT_EQ(At(days, "A", D(10))[kResponseMsSum], 45'000);
  EXPECT_EQ(At(days, "A", D(10))[kSlow], 1);
  using Bins = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(Seconds(days, "A", D(10), true), (Bins{{45, 1}}));
}

}  // namespace
}  // namespace chatkpi

// Scoring (docs/spec.md §5) against hand-computed scores for the two shipped
// schemes. Every expected number below is worked out in the comment beside
// it, from the scheme files in query/schemes/.
#include "query/scoring.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/scheme.h"

#ifndef CHATKPI_SOURCE_DIR
#define CHATKPI_SOURCE_DIR "."
#endif

namespace chatkpi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Scheme LoadShipped(const std::string& name) {
  auto s = LoadSchemeFile(
      absl::StrCat(CHATKPI_SOURCE_DIR, "/query/schemes/", name, ".toml"));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : Scheme{};
}

const Scheme& Kpi100() {
  static const Scheme* s = new Scheme(LoadShipped("kpi100"));
  return *s;
}
const Scheme& Ecom10() {
  static const Scheme* s = new Scheme(LoadShipped("ecom10"));
  return *s;
}

PeriodSnapshot MonthSnapshot(const std::string& month) {
  absl::CivilMonth m;
  EXPECT_TRUE(absl::ParseCivilTime(month, &m));
  PeriodSnapshot s;
  s.from = absl::CivilDay(m);
  s.to = absl::CivilDay(m + 1) - 1;
  s.rules_version = "default";
  return s;
}

Assessment In(const std::string& agent, const std::string& period,
              const std::string& metric, double value) {
  return {agent, period, metric, value, std::llround(value * 100)};
}

const AgentScore& Find(const ScoreReport& r, const std::string& agent) {
  for (const AgentScore& a : r.agents) {
    if (a.agent == agent) return a;
  }
  ADD_FAILURE() << "no agent " << agent;
  static const AgentScore kNone;
  return kNone;
}

const ItemScore& Item(const AgentScore& a, const std::string& name) {
  for (const ItemScore& i : a.items) {
    if (i.name == name) return i;
  }
  ADD_FAILURE() << "no item " << name;
  static const ItemScore kNone;
  return kNone;
}

ScoreReport MustScore(const Scheme& scheme, const MonthInputs& in) {
  auto r = Score(scheme, in);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : ScoreReport{};
}

// ---------------------------------------------------------------------------
// Shipped schemes.

TEST(SchemeFile, ShippedSchemesParse) {
  EXPECT_EQ(Kpi100().name, "kpi100");
  EXPECT_EQ(Kpi100().items.size(), 8u);
  EXPECT_EQ(Kpi100().total_weight_centi, 10000);
  EXPECT_FALSE(Kpi100().has_pay);
  EXPECT_EQ(Ecom10().name, "ecom10");
  EXPECT_EQ(Ecom10().items.size(), 10u);
  EXPECT_TRUE(Ecom10().has_pay);
  EXPECT_EQ(Ecom10().brackets.size(), 4u);
  EXPECT_EQ(Ecom10().public_rate_ppm, 5000);  // 0.5%
}

// ---------------------------------------------------------------------------
// Commission brackets (ecom10), S in yuan:
//   S < 15000: 1.5% S;  15000 <= S <= 20000: (S-15000) 2% + 150;
//   20000 < S <= 25000: (S-20000) 4% + 250;  S > 25000: 2% S.

TEST(Commission, BracketBoundaries) {
  const Scheme& s = Ecom10();
  // 14999.99 * 1.5% = 224.99985 yuan = 22499.985 fen -> 22500.
  EXPECT_EQ(*PersonalCommissionFen(s, 1499999), 22500);
  // 15000: (0) * 2% + 150 = 150 yuan (the plan's step down from 225).
  EXPECT_EQ(*PersonalCommissionFen(s, 1500000), 15000);
  // 20000: 5000 * 2% + 150 = 250 yuan.
  EXPECT_EQ(*PersonalCommissionFen(s, 2000000), 25000);
  // 20000.01: 0.01 * 4% + 250 = 250.0004 yuan -> 25000 fen.
  EXPECT_EQ(*PersonalCommissionFen(s, 2000001), 25000);
  // 25000: 5000 * 4% + 250 = 450 yuan.
  EXPECT_EQ(*PersonalCommissionFen(s, 2500000), 45000);
  // 25000.01 * 2% = 500.0002 yuan -> 50000 fen.
  EXPECT_EQ(*PersonalCommissionFen(s, 2500001), 50000);
  // Half a fen rounds up: 100.01 * 1.5% = 1.50015 yuan = 150.015 fen -> 150;
  // 100.03 * 1.5% = 150.045 fen -> 150; 33.3 * 1.5% = 49.95 fen -> 50.
  EXPECT_EQ(*PersonalCommissionFen(s, 10001), 150);
  EXPECT_EQ(*PersonalCommissionFen(s, 3330), 50);
  // 100 fen * 1.5% = 1.5 fen -> 2 (half up).
  EXPECT_EQ(*PersonalCommissionFen(s, 100), 2);
  EXPECT_EQ(*PersonalCommissionFen(s, 0), 0);
  EXPECT_EQ(*PersonalCommissionFen(s, -5000), 0);  // refunds > sales
}

// ---------------------------------------------------------------------------
// Response time curve: full at <= 30 s, 0 at >= 90 s, linear between.

TEST(ResponseTime, CurveEndpoints) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  // Agent "sN" answers 10 questions averaging N seconds.
  for (int secs : {20, 30, 60, 90, 100}) {
    AgentRow row;
    row.agent = absl::StrCat("s", secs);
    row.counters[kAnswered] = 10;
    row.counters[kQuestions] = 10;
    row.counters[kResponseMsSum] = int64_t{secs} * 10 * 1000;
    in.snapshot.agents.push_back(row);
  }
  ScoreReport kpi = MustScore(Kpi100(), in);
  // kpi100 weight 5: 5 * (90 - t) / 60, clamped to [0, 5].
  EXPECT_EQ(Item(Find(kpi, "s20"), "response_time").points_centi, 500);
  EXPECT_EQ(Item(Find(kpi, "s30"), "response_time").points_centi, 500);
  EXPECT_EQ(Item(Find(kpi, "s60"), "response_time").points_centi, 250);
  EXPECT_EQ(Item(Find(kpi, "s90"), "response_time").points_centi, 0);
  EXPECT_EQ(Item(Find(kpi, "s100"), "response_time").points_centi, 0);
  EXPECT_EQ(*Item(Find(kpi, "s60"), "response_time").actual, 60.0);
  EXPECT_EQ(*Item(Find(kpi, "s60"), "response_time").target, 30.0);

  ScoreReport ecom = MustScore(Ecom10(), in);
  // ecom10 weight 10.
  EXPECT_EQ(Item(Find(ecom, "s30"), "response_time").points_centi, 1000);
  EXPECT_EQ(Item(Find(ecom, "s60"), "response_time").points_centi, 500);
  EXPECT_EQ(Item(Find(ecom, "s90"), "response_time").points_centi, 0);
}

// ---------------------------------------------------------------------------
// kpi100.

// An agent who earns every kpi100 item in full except the manual ones:
//   target completion: net 10000 / target 10000 = 1          -> 30
//   conversion: 50 ordered / 100 consulted = 0.5 / 0.5        -> 30
//   order success: 45 paid / 50 ordered = 0.9 / 0.9           -> 10
//   avg order value: 10000 yuan / 45 = 222 > 150 (capped)     -> 5
//   reply rate: 100 / 100                                     -> 5
//   response time: 30 s                                       -> 5
// = 85, plus followup (0..5) and execution (0..10).
AgentRow FullKpiRow(const std::string& agent) {
  AgentRow row;
  row.agent = agent;
  Counters& c = row.counters;
  c[kConsultations] = 100;
  c[kReplied] = 100;
  c[kQuestions] = 100;
  c[kAnswered] = 100;
  c[kResponseMsSum] = 100 * 30000;
  c[kOrders] = 50;
  c[kOrderedBuyers] = 50;
  c[kPaidOrders] = 45;
  c[kPaidBuyers] = 45;
  c[kPaidItems] = 45;
  c[kSalesFen] = 1000000;
  return row;
}

MonthInputs KpiMonth(const std::string& month, const std::string& agent,
                     double followup, double execution) {
  MonthInputs in;
  in.month = month;
  in.snapshot = MonthSnapshot(month);
  in.snapshot.agents.push_back(FullKpiRow(agent));
  in.assessments = {In(agent, month, "sales_target", 10000),
                    In(agent, month, "followup", followup),
                    In(agent, month, "execution", execution)};
  return in;
}

TEST(Kpi100, ItemsByHand) {
  ScoreReport r = MustScore(Kpi100(), KpiMonth("2026-11", "a", 3.5, 12));
  const AgentScore& a = Find(r, "a");
  ASSERT_TRUE(a.assessed);
  EXPECT_EQ(Item(a, "target_completion").points_centi, 3000);
  EXPECT_EQ(*Item(a, "target_completion").actual, 10000.0);
  EXPECT_EQ(*Item(a, "target_completion").target, 10000.0);
  EXPECT_EQ(Item(a, "conversion_rate").points_centi, 3000);
  EXPECT_EQ(Item(a, "order_success_rate").points_centi, 1000);
  EXPECT_EQ(Item(a, "avg_order_value").points_centi, 500);
  EXPECT_EQ(Item(a, "reply_rate").points_centi, 500);
  EXPECT_EQ(Item(a, "response_time").points_centi, 500);
  EXPECT_EQ(Item(a, "followup").points_centi, 350);
  EXPECT_EQ(Item(a, "execution").points_centi, 1000);  // 12 clamped to 10
  EXPECT_EQ(a.total_centi, 9850);
  EXPECT_EQ(a.rank, 1);
  EXPECT_EQ(a.grade, "");  // one assessment is not enough for a grade
  EXPECT_FALSE(a.pay.has_value());
}

TEST(Kpi100, PartialTargetCompletionAndMissingTarget) {
  MonthInputs in = KpiMonth("2026-11", "a", 0, 0);
  in.snapshot.agents[0].counters[kRefundFen] = 300000;  // net 7000 yuan
  in.snapshot.agents.push_back(FullKpiRow("b"));        // no sales_target
  ScoreReport r = MustScore(Kpi100(), in);
  // 30 * 7000 / 10000 = 21.
  EXPECT_EQ(Item(Find(r, "a"), "target_completion").points_centi, 2100);
  const AgentScore& b = Find(r, "b");
  EXPECT_EQ(Item(b, "target_completion").points_centi, 0);
  EXPECT_FALSE(Item(b, "target_completion").target.has_value());
  EXPECT_THAT(b.missing_inputs,
              ElementsAre("sales_target", "followup", "execution"));
}

TEST(Kpi100, TwoPeriodTier_90Then85IsIntermediate) {
  // Month 1: 85 + followup 5 + execution 0 = 90.
  ScoreReport oct = MustScore(Kpi100(), KpiMonth("2026-10", "a", 5, 0));
  ASSERT_EQ(Find(oct, "a").total_centi, 9000);
  EXPECT_EQ(Find(oct, "a").grade, "");
  // Month 2: 85 + 0 + 0 = 85. Both >= 80, not both >= 90: 中级客服.
  MonthInputs nov = KpiMonth("2026-11", "a", 0, 0);
  nov.previous = {oct};
  ScoreReport r = MustScore(Kpi100(), nov);
  const AgentScore& a = Find(r, "a");
  EXPECT_EQ(a.total_centi, 8500);
  EXPECT_EQ(a.grade, "中级客服");
  EXPECT_EQ(a.grade_id, "intermediate");
  EXPECT_THAT(a.flags, IsEmpty());
}

TEST(Kpi100, TwoPeriodTier_SeniorJuniorAndGap) {
  ScoreReport oct = MustScore(Kpi100(), KpiMonth("2026-10", "a", 5, 10));
  ASSERT_EQ(Find(oct, "a").total_centi, 10000);
  MonthInputs nov = KpiMonth("2026-11", "a", 5, 0);  // 90
  nov.previous = {oct};
  EXPECT_EQ(Find(MustScore(Kpi100(), nov), "a").grade, "高级客服");
  nov = KpiMonth("2026-11", "a", 0, 0);  // 85, then 70s below
  ScoreReport oct75 = oct;
  oct75.agents[0].total_centi = 7500;
  nov.previous = {oct75};
  EXPECT_EQ(Find(MustScore(Kpi100(), nov), "a").grade, "初级客服");
  // A month missing between them: the two are not consecutive.
  ScoreReport sep = oct;
  sep.month = "2026-09";
  nov.previous = {sep};
  EXPECT_EQ(Find(MustScore(Kpi100(), nov), "a").grade, "");
}

// 69 points: completion 7000/10000 -> 21; conversion 40/100 = 0.4 -> 24;
// order success 36/40 = 0.9 -> 10; AOV 7000/36 = 194 -> 5; reply -> 5;
// response 42 s -> 5 * 48 / 60 = 4; followup 0; execution 0.
MonthInputs Kpi69(const std::string& month) {
  MonthInputs in = KpiMonth(month, "a", 0, 0);
  Counters& c = in.snapshot.agents[0].counters;
  c[kOrders] = c[kOrderedBuyers] = 40;
  c[kPaidOrders] = c[kPaidBuyers] = c[kPaidItems] = 36;
  c[kSalesFen] = 700000;
  c[kResponseMsSum] = 100 * 42000;
  return in;
}

TEST(Kpi100, WarningThenDismissal) {
  ScoreReport oct = MustScore(Kpi100(), Kpi69("2026-10"));
  const AgentScore& first = Find(oct, "a");
  EXPECT_EQ(first.total_centi, 6900);
  EXPECT_THAT(first.flags, ElementsAre("warning"));
  EXPECT_EQ(first.grade, "");

  MonthInputs nov = Kpi69("2026-11");
  nov.previous = {oct};
  const AgentScore a = Find(MustScore(Kpi100(), nov), "a");
  EXPECT_EQ(a.total_centi, 6900);
  EXPECT_THAT(a.flags, ElementsAre("warning", "dismissal"));
  EXPECT_EQ(a.grade, "");

  // 69 after a 90: a warning only.
  ScoreReport good = MustScore(Kpi100(), KpiMonth("2026-10", "a", 5, 0));
  nov.previous = {good};
  EXPECT_THAT(Find(MustScore(Kpi100(), nov), "a").flags,
              ElementsAre("warning"));
}

// `n` agents with distinct kpi100 totals 85 + i * 0.25 (no warnings): full
// KPI rows, and execution marks i * 0.25 as assessments[i].
MonthInputs ManyAgents(int n) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  for (int i = 0; i < n; ++i) {
    const std::string agent = absl::StrCat("agent", 100 + i);
    in.assessments.push_back(In(agent, "2026-11", "execution", i * 0.25));
    in.snapshot.agents.push_back(FullKpiRow(agent));
  }
  for (int i = 0; i < n; ++i) {
    in.assessments.push_back(
        In(absl::StrCat("agent", 100 + i), "2026-11", "sales_target", 10000));
  }
  return in;
}

int CountFlag(const ScoreReport& r, const std::string& flag) {
  int n = 0;
  for (const AgentScore& a : r.agents) {
    for (const std::string& f : a.flags) n += f == flag;
  }
  return n;
}

TEST(Kpi100, AwardQuotaSevenAgents) {
  // 7 * 5% = 0.35 -> 0 best; 7 * 10% = 0.7 -> 0 excellent.
  ScoreReport r = MustScore(Kpi100(), ManyAgents(7));
  EXPECT_EQ(r.assessed_count, 7);
  EXPECT_EQ(r.best_quota, 0);
  EXPECT_EQ(r.excellent_quota, 0);
  EXPECT_EQ(CountFlag(r, "best"), 0);
  EXPECT_EQ(CountFlag(r, "excellent"), 0);
}

TEST(Kpi100, AwardQuotaFortyAgents) {
  // 40 * 5% = 2 best (ranks 1-2); 40 * 10% = 4 excellent (ranks 3-6).
  ScoreReport r = MustScore(Kpi100(), ManyAgents(40));
  EXPECT_EQ(r.best_quota, 2);
  EXPECT_EQ(r.excellent_quota, 4);
  EXPECT_EQ(CountFlag(r, "best"), 2);
  EXPECT_EQ(CountFlag(r, "excellent"), 4);
  EXPECT_EQ(r.agents[0].agent, "agent139");  // 85 + 9.75
  EXPECT_EQ(r.agents[0].total_centi, 9475);
  EXPECT_EQ(r.agents[0].rank, 1);
  EXPECT_THAT(r.agents[0].flags, ElementsAre("best"));
  EXPECT_THAT(r.agents[1].flags, ElementsAre("best"));
  for (int i = 2; i < 6; ++i) {
    EXPECT_THAT(r.agents[i].flags, ElementsAre("excellent")) << i;
  }
  EXPECT_THAT(r.agents[6].flags, IsEmpty());
}

TEST(Kpi100, AwardQuotaTieAtTheEdgeIsNotSplit) {
  MonthInputs in = ManyAgents(40);
  in.assessments[38].value = 9.75;  // agent138 ties agent139 at 9.75 ...
  in.assessments[37].value = 9.75;  // ... and so does agent137: 3 at rank 1
  ScoreReport r = MustScore(Kpi100(), in);
  // Three tied firsts cannot fit 2 best places: no best; they take 3 of
  // the 4 excellent places, then rank 4 takes the last.
  EXPECT_EQ(r.agents[0].rank, 1);
  EXPECT_EQ(r.agents[2].rank, 1);
  EXPECT_EQ(r.agents[3].rank, 4);
  EXPECT_EQ(CountFlag(r, "best"), 0);
  EXPECT_EQ(CountFlag(r, "excellent"), 4);
  EXPECT_THAT(r.agents[3].flags, ElementsAre("excellent"));
  EXPECT_THAT(r.agents[4].flags, IsEmpty());
}

TEST(Scoring, TiesShareARank) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.assessments = {In("a", "2026-11", "execution", 8),
                    In("b", "2026-11", "execution", 8),
                    In("c", "2026-11", "execution", 5)};
  ScoreReport r = MustScore(Kpi100(), in);
  EXPECT_EQ(Find(r, "a").rank, 1);
  EXPECT_EQ(Find(r, "b").rank, 1);
  EXPECT_EQ(Find(r, "c").rank, 3);
}

TEST(Scoring, AbsentOverTheLimitIsNotAssessed) {
  MonthInputs in = KpiMonth("2026-11", "a", 5, 10);
  in.snapshot.agents.push_back(FullKpiRow("b"));
  in.assessments.push_back(In("a", "2026-11", "absent_days", 61));
  in.assessments.push_back(In("b", "2026-11", "absent_days", 60));
  ScoreReport r = MustScore(Kpi100(), in);
  const AgentScore& a = Find(r, "a");
  EXPECT_FALSE(a.assessed);
  EXPECT_THAT(a.flags, ElementsAre("absent"));
  EXPECT_THAT(a.items, IsEmpty());
  EXPECT_EQ(a.rank, 0);
  const AgentScore& b = Find(r, "b");  // 60 days is not over the limit
  EXPECT_TRUE(b.assessed);
  EXPECT_EQ(b.rank, 1);
  EXPECT_EQ(r.assessed_count, 1);
  EXPECT_EQ(r.agents.back().agent, "a");  // not assessed: listed last
}

TEST(Scoring, RefusesASnapshotOfAnotherPeriod) {
  MonthInputs in = KpiMonth("2026-11", "a", 0, 0);
  in.snapshot.to = in.snapshot.to - 1;
  EXPECT_FALSE(Score(Kpi100(), in).ok());
  in = KpiMonth("2026-11", "a", 0, 0);
  in.month = "2026-1";
  EXPECT_FALSE(Score(Kpi100(), in).ok());
}

TEST(Scoring, AssessmentsOfOtherMonthsAreIgnored) {
  MonthInputs in = KpiMonth("2026-11", "a", 0, 0);
  in.assessments.push_back(In("a", "2026-10", "execution", 10));
  EXPECT_EQ(Find(MustScore(Kpi100(), in), "a").total_centi, 8500);
}

// ---------------------------------------------------------------------------
// ecom10.

// Agent A (every number by hand, ecom10 targets):
//   consultations 600 / 600                         -> 10
//   deals 150 paid buyers / 150                     -> 10
//   deal rate 150 / 600 = 0.25 / 0.25               -> 10
//   response time 24 s (<= 30)                      -> 10
//   courtesy 540 / 600 = 0.9 / 0.9                  -> 10
//   refund rate 5 / 100 = 0.05: 10 * (0.1-0.05)/0.1 -> 5
//   listing accuracy 1 - 1/50 = 0.98                -> 9.8
//   sets sold 12, 1 each, uncapped                  -> 12
//   self 9, supervisor 8.5                          -> 17.5
//   total 94.3: 优秀 (85 <= t < 95), base 2500 yuan.
//   net sales 20100.01 - 100 = 20000.01: commission 250.00.
// Agent B:
//   consultations 300 / 600 -> 5; deals 60 / 150 -> 4;
//   deal rate 60/300 = 0.2 / 0.25 -> 8; response 60 s -> 5;
//   courtesy 270/300 = 0.9 -> 10; refund rate 0/60 -> 10;
//   listings missing -> 0; sets 3 -> 3; self 8, supervisor 7 -> 15.
//   total 60: 不合格 (< 65), base 2000, warning. Net 15000: commission 150.
// Agent C: absent 70 days, not assessed.
// Agent D (assessment inputs only): self 10 + supervisor 10 + sets 12 = 32.
// Public: silent orders 999 yuan net: 99900 fen * 0.5% = 499.5 fen / 3
//   assessed = 166.5 -> 167 fen each (half up, once).
// Team net: 2000001 + 1500000 + 0 + 99900 = 3599901 fen; previous month
//   2399934: growth exactly 50% -> 100 yuan each.
// Sets sold: A and D tie at 12 -> 50 yuan each.
// A was rank 1 in 2026-09 and 2026-10: third month running -> 200 yuan.
MonthInputs EcomMonth() {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  AgentRow a;
  a.agent = "shop:a";
  Counters& ca = a.counters;
  ca[kConsultations] = 600;
  ca[kReplied] = 600;
  ca[kQuestions] = ca[kAnswered] = 500;
  ca[kResponseMsSum] = 500 * 24000;
  ca[kCourteous] = 540;
  ca[kOrders] = ca[kOrderedBuyers] = 160;
  ca[kPaidOrders] = ca[kPaidBuyers] = 150;
  ca[kPaidItems] = 100;
  ca[kSalesFen] = 2010001;
  ca[kRefunds] = 1;
  ca[kRefundedItems] = 5;
  ca[kRefundFen] = 10000;
  AgentRow b;
  b.agent = "shop:b";
  Counters& cb = b.counters;
  cb[kConsultations] = 300;
  cb[kQuestions] = cb[kAnswered] = 200;
  cb[kResponseMsSum] = 200 * 60000;
  cb[kCourteous] = 270;
  cb[kOrders] = cb[kOrderedBuyers] = 70;
  cb[kPaidOrders] = cb[kPaidBuyers] = cb[kPaidItems] = 60;
  cb[kSalesFen] = 1500000;
  AgentRow c;
  c.agent = "shop:c";
  c.counters[kConsultations] = 2;
  in.snapshot.agents = {a, b, c};
  in.snapshot.unattributed[kOrders] = 3;
  in.snapshot.unattributed[kSalesFen] = 109900;
  in.snapshot.unattributed[kRefundFen] = 10000;
  const std::string m = "2026-11";
  in.assessments = {
      In("shop:a", m, "listings", 50),
      In("shop:a", m, "listing_errors", 1),
      In("shop:a", m, "sets_sold", 12),
      In("shop:a", m, "self", 9),
      In("shop:a", m, "supervisor", 8.5),
      In("shop:a", m, "seniority_pay", 200),
      In("shop:b", m, "sets_sold", 3),
      In("shop:b", m, "self", 8),
      In("shop:b", m, "supervisor", 7),
      In("shop:c", m, "absent_days", 70),
      In("shop:c", m, "seniority_pay", 100),
      In("shop:d", m, "self", 10),
      In("shop:d", m, "supervisor", 10),
      In("shop:d", m, "sets_sold", 12),
  };
  // Earlier months: A first in both; October's team net sales for growth.
  for (const char* month : {"2026-09", "2026-10"}) {
    ScoreReport prev;
    prev.month = month;
    prev.scheme = "ecom10";
    AgentScore top;
    top.agent = "shop:a";
    top.assessed = true;
    top.total_centi = 9000;
    top.rank = 1;
    AgentScore other = top;
    other.agent = "shop:b";
    other.total_centi = 8000;
    other.rank = 2;
    prev.agents = {top, other};
    prev.team_net_sales_fen = 2399934;
    in.previous.push_back(prev);
  }
  return in;
}

TEST(Ecom10, ItemsGradesAndPayByHand) {
  ScoreReport r = MustScore(Ecom10(), EcomMonth());
  EXPECT_EQ(r.assessed_count, 3);
  EXPECT_EQ(r.public_net_sales_fen, 99900);
  EXPECT_EQ(r.team_net_sales_fen, 3599901);

  const AgentScore& a = Find(r, "shop:a");
  EXPECT_EQ(Item(a, "consultations").points_centi, 1000);
  EXPECT_EQ(Item(a, "deals").points_centi, 1000);
  EXPECT_EQ(Item(a, "deal_rate").points_centi, 1000);
  EXPECT_EQ(Item(a, "response_time").points_centi, 1000);
  EXPECT_EQ(Item(a, "service_attitude").points_centi, 1000);
  EXPECT_EQ(Item(a, "refund_rate").points_centi, 500);
  EXPECT_EQ(Item(a, "listing_accuracy").points_centi, 980);
  EXPECT_EQ(Item(a, "sets_sold").points_centi, 1200);
  EXPECT_EQ(*Item(a, "sets_sold").target, 10.0);
  EXPECT_EQ(Item(a, "self").points_centi, 900);
  EXPECT_EQ(Item(a, "supervisor").points_centi, 850);
  EXPECT_EQ(a.total_centi, 9430);
  EXPECT_EQ(a.rank, 1);
  EXPECT_EQ(a.grade, "优秀");
  EXPECT_EQ(a.job_level, "一级客服");
  EXPECT_EQ(a.net_sales_fen, 2000001);
  ASSERT_TRUE(a.pay.has_value());
  EXPECT_EQ(a.pay->base_fen, 250000);
  EXPECT_EQ(a.pay->personal_commission_fen, 25000);
  EXPECT_EQ(a.pay->public_commission_fen, 167);
  EXPECT_EQ(a.pay->awards_fen, 5000 + 10000 + 20000);
  EXPECT_EQ(a.pay->seniority_fen, 20000);
  EXPECT_EQ(a.pay->total_fen, 250000 + 25000 + 167 + 35000 + 20000);
  EXPECT_THAT(a.flags,
              ElementsAre("top_sets_sold", "sales_growth", "rank1_streak"));

  const AgentScore& b = Find(r, "shop:b");
  EXPECT_EQ(Item(b, "consultations").points_centi, 500);
  EXPECT_EQ(Item(b, "deals").points_centi, 400);
  EXPECT_EQ(Item(b, "deal_rate").points_centi, 800);
  EXPECT_EQ(Item(b, "response_time").points_centi, 500);
  EXPECT_EQ(Item(b, "service_attitude").points_centi, 1000);
  EXPECT_EQ(Item(b, "refund_rate").points_centi, 1000);
  EXPECT_EQ(Item(b, "listing_accuracy").points_centi, 0);
  EXPECT_THAT(b.missing_inputs, ElementsAre("listings", "listing_errors"));
  EXPECT_EQ(b.total_centi, 6000);
  EXPECT_EQ(b.rank, 2);
  EXPECT_EQ(b.grade, "不合格");
  EXPECT_EQ(b.pay->base_fen, 200000);
  EXPECT_EQ(b.pay->personal_commission_fen, 15000);
  EXPECT_EQ(b.pay->public_commission_fen, 167);
  EXPECT_EQ(b.pay->awards_fen, 10000);
  EXPECT_EQ(b.pay->total_fen, 225167);
  EXPECT_THAT(b.flags, ElementsAre("warning", "sales_growth"));

  const AgentScore& c = Find(r, "shop:c");
  EXPECT_FALSE(c.assessed);
  EXPECT_THAT(c.flags, ElementsAre("absent"));
  EXPECT_EQ(c.pay->total_fen, 0);

  const AgentScore& d = Find(r, "shop:d");
  EXPECT_EQ(d.total_centi, 3200);
  EXPECT_EQ(d.rank, 3);
  EXPECT_EQ(d.pay->total_fen, 200000 + 167 + 5000 + 10000);
  EXPECT_THAT(d.flags, ElementsAre("warning", "top_sets_sold", "sales_growth"));

  // Order: by rank, then the agent not assessed.
  ASSERT_EQ(r.agents.size(), 4u);
  EXPECT_EQ(r.agents[0].agent, "shop:a");
  EXPECT_EQ(r.agents[1].agent, "shop:b");
  EXPECT_EQ(r.agents[2].agent, "shop:d");
  EXPECT_EQ(r.agents[3].agent, "shop:c");
}

// Listing accuracy is 1 - errors / listings: more errors than listings is
// a mistake in one of the two inputs. Scored, it read as a negative
// accuracy worth 0 points, with exit 0; it stops the month instead.
TEST(Ecom10, MoreListingErrorsThanListingsStopTheMonth) {
  MonthInputs in = EcomMonth();
  for (Assessment& a : in.assessments) {
    if (a.agent == "shop:a" && a.metric == "listing_errors") a.value = 51;
  }
  auto r = Score(Ecom10(), in);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      r.status().message(),
      HasSubstr("agent 'shop:a': listing_errors 51 exceed listings 50"));
  // As many errors as listings is an accuracy of 0, and scores.
  for (Assessment& a : in.assessments) {
    if (a.agent == "shop:a" && a.metric == "listing_errors") a.value = 50;
  }
  ScoreReport ok = MustScore(Ecom10(), in);
  EXPECT_EQ(Item(Find(ok, "shop:a"), "listing_accuracy").points_centi, 0);
}

TEST(Ecom10, PublicCommissionSplit) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  for (const char* agent : {"x", "y", "z"}) {
    in.assessments.push_back(In(agent, "2026-11", "self", 5));
  }
  auto public_each = [&](int64_t sales, int64_t refund) {
    in.snapshot.unattributed[kSalesFen] = sales;
    in.snapshot.unattributed[kRefundFen] = refund;
    ScoreReport r = MustScore(Ecom10(), in);
    int64_t each = r.agents[0].pay->public_commission_fen;
    for (const AgentScore& a : r.agents) {
      EXPECT_EQ(a.pay->public_commission_fen, a.assessed ? each : 0);
    }
    return each;
  };
  // 1000 yuan * 0.5% = 5 yuan / 3 = 166.67 fen -> 167.
  EXPECT_EQ(public_each(100000, 0), 167);
  // 1200 yuan - 200 refunded = 1000: same.
  EXPECT_EQ(public_each(120000, 20000), 167);
  // 600 yuan * 0.5% = 300 fen / 3 = 100.
  EXPECT_EQ(public_each(60000, 0), 100);
  // 998.99 yuan: 499.495 fen / 3 = 166.498 -> 166.
  EXPECT_EQ(public_each(99899, 0), 166);
  // More refunded than sold: nothing to share.
  EXPECT_EQ(public_each(1000, 5000), 0);
  // An absent agent takes no share: 300 fen / 2 = 150.
  in.assessments.push_back(In("z", "2026-11", "absent_days", 90));
  EXPECT_EQ(public_each(60000, 0), 150);
}

TEST(Ecom10, CommissionBoundariesThroughScore) {
  for (auto [net, want] :
       std::vector<std::pair<int64_t, int64_t>>{{1499999, 22500},
                                                {1500000, 15000},
                                                {2000000, 25000},
                                                {2000001, 25000},
                                                {2500000, 45000},
                                                {2500001, 50000}}) {
    MonthInputs in;
    in.month = "2026-11";
    in.snapshot = MonthSnapshot("2026-11");
    AgentRow row;
    row.agent = "a";
    row.counters[kSalesFen] = net + 12345;
    row.counters[kRefundFen] = 12345;
    in.snapshot.agents = {row};
    ScoreReport r = MustScore(Ecom10(), in);
    EXPECT_EQ(r.agents[0].pay->personal_commission_fen, want) << net;
  }
}

TEST(Ecom10, GrowthAwardThresholds) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.snapshot.unattributed[kSalesFen] = 125000;  // team net 1250 yuan
  in.assessments = {In("x", "2026-11", "self", 5)};
  auto awards = [&](int64_t prev) {
    in.previous_team_net_sales_fen = prev;
    return MustScore(Ecom10(), in).agents[0].pay->awards_fen;
  };
  EXPECT_EQ(awards(100000), 5000);  // exactly +25%
  EXPECT_EQ(awards(100001), 0);     // +24.9998%
  EXPECT_EQ(awards(83334), 5000);   // +49.9994%
  EXPECT_EQ(awards(83333), 10000);  // +50.0006%: the higher award only
  EXPECT_EQ(awards(0), 0);          // no base to grow from
  in.previous_team_net_sales_fen.reset();
  EXPECT_EQ(MustScore(Ecom10(), in).agents[0].pay->awards_fen, 0);
}

TEST(Ecom10, LeaveAfterThreeFailingMonths) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.assessments = {In("x", "2026-11", "self", 5)};  // total 5
  auto fail = [](const char* month, int64_t total) {
    ScoreReport r;
    r.month = month;
    AgentScore a;
    a.agent = "x";
    a.assessed = true;
    a.total_centi = total;
    a.rank = 2;
    r.agents = {a};
    return r;
  };
  in.previous = {fail("2026-10", 6000)};
  EXPECT_THAT(Find(MustScore(Ecom10(), in), "x").flags, ElementsAre("warning"));
  in.previous = {fail("2026-10", 6000), fail("2026-09", 6499)};
  EXPECT_THAT(Find(MustScore(Ecom10(), in), "x").flags,
              ElementsAre("warning", "leave"));
  in.previous = {fail("2026-10", 6000), fail("2026-09", 6500)};
  EXPECT_THAT(Find(MustScore(Ecom10(), in), "x").flags, ElementsAre("warning"));
}

TEST(Ecom10, Rank1AwardOncePerThreeMonths) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.assessments = {In("x", "2026-11", "self", 5)};
  auto first = [](const char* month) {
    ScoreReport r;
    r.month = month;
    AgentScore a;
    a.agent = "x";
    a.assessed = true;
    a.rank = 1;
    r.agents = {a};
    return r;
  };
  in.previous = {first("2026-10")};  // two months running
  EXPECT_EQ(MustScore(Ecom10(), in).agents[0].pay->awards_fen, 0);
  in.previous = {first("2026-10"), first("2026-09")};
  EXPECT_EQ(MustScore(Ecom10(), in).agents[0].pay->awards_fen, 20000);
  in.previous = {first("2026-10"), first("2026-09"), first("2026-08")};
  EXPECT_EQ(MustScore(Ecom10(), in).agents[0].pay->awards_fen, 0);
}

TEST(Ecom10, GradeBands) {
  auto grade = [](double self, double supervisor, double sets) {
    MonthInputs in;
    in.month = "2026-11";
    in.snapshot = MonthSnapshot("2026-11");
    in.assessments = {In("x", "2026-11", "self", self),
                      In("x", "2026-11", "supervisor", supervisor),
                      In("x", "2026-11", "sets_sold", sets)};
    const AgentScore a = MustScore(Ecom10(), in).agents[0];
    return std::make_pair(a.grade, a.pay->base_fen);
  };
  // Totals from self + supervisor + sets (each 1 point).
  EXPECT_EQ(grade(10, 10, 75),
            std::make_pair(std::string("卓越"), int64_t{300000}));  // 95
  EXPECT_EQ(grade(10, 10, 74.99).first, "优秀");                    // 94.99
  EXPECT_EQ(grade(10, 10, 65).first, "优秀");                       // 85
  EXPECT_EQ(grade(10, 10, 64).first, "良好");                       // 84
  EXPECT_EQ(grade(10, 10, 55),
            std::make_pair(std::string("良好"), int64_t{250000}));  // 75
  EXPECT_EQ(grade(10, 10, 45),
            std::make_pair(std::string("一般"), int64_t{200000}));  // 65
  EXPECT_EQ(grade(10, 10, 44).first, "不合格");                     // 64
  EXPECT_EQ(grade(10, 10, 100).first, "卓越");  // 120: sets are uncapped
}

// ---------------------------------------------------------------------------
// Rendering.

std::vector<std::string> CsvLines(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, "\r\n");
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

TEST(Render, CsvHasBomAndTotalsEqualJson) {
  ScoreReport r = MustScore(Ecom10(), EcomMonth());
  const std::string json = ScoreReportToJson(r);
  const std::string csv = ScoreReportToCsv(r);
  ASSERT_TRUE(absl::StartsWith(csv, "\xEF\xBB\xBF"));
  std::vector<std::string> lines = CsvLines(csv.substr(3));
  ASSERT_EQ(lines.size(), 1 + 4 + 1u);  // header, agents, team total
  std::vector<std::string> head = absl::StrSplit(lines[0], ',');
  std::vector<std::string> team = absl::StrSplit(lines.back(), ',');
  ASSERT_EQ(head.size(), team.size());
  auto column = [&](const std::string& name) {
    for (size_t i = 0; i < head.size(); ++i) {
      if (head[i] == name) return team[i];
    }
    ADD_FAILURE() << name;
    return std::string();
  };
  // Hand sums: A 330167, B 225167, C 0, D 215167.
  // Money columns are yuan with 2 decimals, the unit in the header.
  EXPECT_EQ(column("total_pay(元)"), "7705.01");
  EXPECT_EQ(column("base_pay(元)"), "6500.00");
  EXPECT_EQ(column("public_commission(元)"), "5.01");
  EXPECT_EQ(column("total"), "186.3");  // 94.3 + 60 + 32
  EXPECT_EQ(column("sets_sold_points"), "27");
  EXPECT_THAT(json, HasSubstr("\"team_totals\": {\"agents\": 4, \"assessed\": "
                              "3, \"total\": 186.3"));
  EXPECT_THAT(json, HasSubstr("\"pay\": {\"base_fen\": 650000, "
                              "\"personal_commission_fen\": 40000, "
                              "\"public_commission_fen\": 501, \"awards_fen\": "
                              "60000, \"seniority_fen\": 20000, "
                              "\"total_fen\": 770501, \"awards\": "
                              // top sets a + d: 2 x 50; growth 3 x 100;
                              // rank 1 streak a: 200 (yuan).
                              "{\"top_sets_sold_fen\": 10000, "
                              "\"sales_growth_fen\": 30000, "
                              "\"rank1_streak_fen\": 20000}}}"));
  EXPECT_THAT(json, HasSubstr("{\"agent\": \"shop:a\", \"assessed\": true, "
                              "\"total\": 94.3, \"rank\": 1, \"grade\": "
                              "\"优秀\""));
  EXPECT_THAT(json, HasSubstr("{\"name\": \"response_time\", \"actual\": 24, "
                              "\"target\": 30, \"points\": 10}"));
  EXPECT_THAT(json, HasSubstr("{\"agent\": \"shop:c\", \"assessed\": false, "
                              "\"total\": null, \"rank\": null"));
  // month, scheme, rules version, agent, name, assessed, total, rank,
  // grade, job level, training, promotion, flags.
  EXPECT_THAT(lines[1],
              HasSubstr("2026-11,ecom10,default,shop:a,,1,94.3,1,优秀,一级客服,"
                        "较强,,top_sets_sold;sales_growth;rank1_streak,"));

  const std::string zh = ScoreReportToCsv(r, ColumnLanguage::kChinese);
  ASSERT_TRUE(absl::StartsWith(zh, "\xEF\xBB\xBF"));
  std::vector<std::string> zh_lines = CsvLines(zh.substr(3));
  EXPECT_THAT(zh_lines[0],
              HasSubstr("月份,方案,规则版本,客服,姓名,参与考核,总分,"
                        "排名,等级"));
  EXPECT_THAT(zh_lines[0], HasSubstr("响应时间得分"));
  EXPECT_THAT(zh_lines.back(), HasSubstr("团队合计,,3,186.3,"));
  EXPECT_THAT(zh_lines.back(), HasSubstr(",7705.01"));
}

TEST(Render, Kpi100HasNoPay) {
  ScoreReport r = MustScore(Kpi100(), KpiMonth("2026-11", "a", 3.5, 10));
  const std::string json = ScoreReportToJson(r);
  EXPECT_THAT(json, HasSubstr("\"scheme\": \"kpi100\""));
  EXPECT_THAT(json, HasSubstr("\"total\": 98.5"));
  EXPECT_THAT(json, HasSubstr("\"grade\": null"));
  EXPECT_THAT(json, HasSubstr("\"pay\": null"));
  EXPECT_THAT(ScoreReportToCsv(r), ::testing::Not(HasSubstr("total_pay")));
}

TEST(Render, PointsPrintWithTwoDecimalsAtMost) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.assessments = {In("x", "2026-11", "self", 9.05),
                    In("y", "2026-11", "self", 0.5),
                    In("z", "2026-11", "self", 0.123)};  // 0.12 (rounded)
  const std::string json = ScoreReportToJson(MustScore(Ecom10(), in));
  EXPECT_THAT(json, HasSubstr("\"agent\": \"x\", \"assessed\": true, "
                              "\"total\": 9.05,"));
  EXPECT_THAT(json, HasSubstr("\"agent\": \"y\", \"assessed\": true, "
                              "\"total\": 0.5,"));
  EXPECT_THAT(json, HasSubstr("\"agent\": \"z\", \"assessed\": true, "
                              "\"total\": 0.12,"));
  EXPECT_THAT(json, HasSubstr("\"name\": \"self\", \"actual\": 0.123, "
                              "\"target\": 10, \"points\": 0.12}"));
}

TEST(Render, RatiosPrintAsShortestRoundTripText) {
  // Conversion rate 26 / 81 = 0.320987654320987654...: the score prints the
  // double's shortest round-trip text, as snapshot does for the same ratio
  // (base/number_text.h), not six rounded decimals ("0.320988").
  MonthInputs in = KpiMonth("2026-11", "a", 0, 0);
  Counters& c = in.snapshot.agents[0].counters;
  c[kConsultations] = 81;
  c[kReplied] = 81;
  c[kOrderedBuyers] = 26;
  c[kPaidBuyers] = 26;
  const ScoreReport r = MustScore(Kpi100(), in);
  EXPECT_THAT(ScoreReportToJson(r),
              HasSubstr("{\"name\": \"conversion_rate\", "
                        "\"actual\": 0.32098765432098764, "));
  EXPECT_THAT(ScoreReportToCsv(r), HasSubstr(",0.32098765432098764,"));
}

TEST(Render, CsvQuotesAwkwardAgentIds) {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.assessments = {In("shop:a,\"b\"", "2026-11", "execution", 1)};
  ScoreReport r = MustScore(Kpi100(), in);
  EXPECT_THAT(ScoreReportToCsv(r), HasSubstr("\"shop:a,\"\"b\"\"\",,1,1,"));
  EXPECT_THAT(ScoreReportToJson(r), HasSubstr("\"shop:a,\\\"b\\\"\""));
}

// ---------------------------------------------------------------------------
// Scheme validation: each refusal names its line.

constexpr char kMini[] = R"(name = mini
total_weight = 10
absence_limit_days = none

[item a]
metric = execution
curve = manual
weight = 4

[item b]
metric = reply_rate
curve = ratio
target = 1
weight = 6
)";

absl::Status ParseError(const std::string& text) {
  auto s = ParseScheme(text, "t.scheme");
  return s.ok() ? absl::OkStatus() : s.status();
}

TEST(SchemeValidation, MinimalSchemeParses) {
  EXPECT_TRUE(ParseError(kMini).ok()) << ParseError(kMini);
}

TEST(SchemeValidation, WeightsMustSumToTheDeclaredTotal) {
  std::string text = kMini;
  text.replace(text.find("weight = 6"), 10, "weight = 5");
  absl::Status st = ParseError(text);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("t.scheme line 2:"));
  EXPECT_THAT(st.message(), HasSubstr("total_weight is 10 but the item "
                                      "weights sum to 9"));
}

TEST(SchemeValidation, UnknownMetricNamesItsLine) {
  std::string text = kMini;
  text.replace(text.find("reply_rate"), 10, "reply_ratio");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("t.scheme line 11: unknown metric 'reply_ratio'"));
}

TEST(SchemeValidation, UnknownCurveKeyAndSection) {
  std::string text = kMini;
  text.replace(text.find("curve = manual"), 14, "curve = smooth");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 7: unknown curve 'smooth'"));
  text = kMini;
  text.replace(text.find("weight = 4"), 10, "wieght = 4");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 8: unknown key 'wieght' in [item a]"));
  EXPECT_THAT(ParseError(std::string(kMini) + "[bonus]\n").message(),
              HasSubstr("line 15: unknown section [bonus]"));
  EXPECT_THAT(ParseError(std::string(kMini) + "[item a]\n").message(),
              HasSubstr("line 15: section repeats the one on line 5"));
  text = kMini;
  text.replace(text.find("weight = 4"), 10, "");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 5: missing 'weight' in [item a]"));
  text = kMini;
  text.replace(text.find("target = 1"), 10, "full_at = 1");
  EXPECT_THAT(ParseError(text).message(), HasSubstr("line 10: curve ratio "
                                                    "needs a target"));
}

std::string WithPay(const std::string& brackets) {
  return std::string(kMini) +
         "\n[grade all]\ntitle = all\nmin_total = 0\nbase_pay = 1000\n"
         "\n[commission]\n" +
         brackets + "public_rate = 0%\n";
}

TEST(SchemeValidation, Brackets) {
  // Lines: kMini is 14 lines, then blank, [grade] 16..19, blank, [commission]
  // on 21, brackets from 22.
  EXPECT_TRUE(ParseError(WithPay("bracket = [0, 100) rate 1%\n"
                                 "bracket = [100, inf) rate 2%\n"))
                  .ok());
  EXPECT_THAT(ParseError(WithPay("bracket = [0, 100] rate 1%\n"
                                 "bracket = [100, inf) rate 2%\n"))
                  .message(),
              HasSubstr("line 23: bracket overlaps the one on line 22"));
  EXPECT_THAT(ParseError(WithPay("bracket = [0, 100] rate 1%\n"
                                 "bracket = [50, inf) rate 2%\n"))
                  .message(),
              HasSubstr("line 23: bracket overlaps"));
  EXPECT_THAT(ParseError(WithPay("bracket = [0, 100) rate 1%\n"
                                 "bracket = (100, inf) rate 2%\n"))
                  .message(),
              HasSubstr("line 23: bracket leaves a gap after the one on "
                        "line 22"));
  EXPECT_THAT(ParseError(WithPay("bracket = [0, 100] rate 1%\n"
                                 "bracket = (100.01, inf) rate 2%\n"))
                  .message(),
              HasSubstr("line 23: bracket leaves a gap"));
  EXPECT_THAT(ParseError(WithPay("bracket = [0, 100] rate 1%\n")).message(),
              HasSubstr("line 22: the last bracket must be unbounded"));
  EXPECT_THAT(ParseError(WithPay("bracket = [1, inf) rate 1%\n")).message(),
              HasSubstr("line 22: the first bracket must start at [0"));
  EXPECT_THAT(ParseError(WithPay("bracket = [0, inf) rate 1.5\n")).message(),
              HasSubstr("line 22: bracket rate '1.5' must be a percentage"));
  EXPECT_THAT(
      ParseError(WithPay("bracket = [0, inf) rate 1% over 0 plus 1.234\n"))
          .message(),
      HasSubstr("line 22: bracket plus '1.234' is not a number >= 0 with at "
                "most 2 decimals"));
}

TEST(SchemeValidation, GradesAndPay) {
  std::string text = std::string(kMini) +
                     "[grade a]\ntitle = A\nmin_total = 80\n"
                     "[grade b]\ntitle = B\nmin_total = 80\n";
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 20: min_total 80 is also the band on line 15"));
  text = std::string(kMini) + "[grade a]\ntitle = A\nmin_total = 80\n" +
         "[commission]\nbracket = [0, inf) rate 1%\npublic_rate = 0%\n";
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 15: grade 'a' needs base_pay"));
  text = std::string(kMini) + "[awards]\ntop_sets_sold = 50\n";
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 15: [awards] needs a [commission] section"));
  text = std::string(kMini) + "[grading]\ndismissal_after = 2\n";
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("line 16: 'dismissal_after' needs 'warning_below'"));
}

TEST(SchemeValidation, ShippedFileWithAWrongWeightNamesItsLine) {
  std::ifstream in(
      absl::StrCat(CHATKPI_SOURCE_DIR, "/query/schemes/kpi100.toml"));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  size_t at = text.find("weight = 30");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 11, "weight = 31");
  int total_line = 1;
  for (size_t i = 0; i < text.find("total_weight"); ++i) {
    total_line += text[i] == '\n';
  }
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr(absl::StrCat("t.scheme:", total_line,
                                     ":1: total_weight is 100 but the item "
                                     "weights sum to 101")));
}

TEST(SchemeValidation, AcceptsBomAndCrlf) {
  std::string text = "\xEF\xBB\xBF";
  for (char c : std::string(kMini)) {
    if (c == '\n') text += '\r';
    text += c;
  }
  EXPECT_TRUE(ParseError(text).ok()) << ParseError(text);
}

}  // namespace
}  // namespace chatkpi

namespace chatkpi {
namespace {

// A scheme may score any response figure of docs/spec.md §3, at any
// threshold (the per-second counts answer every threshold).
TEST(ResponseFigureMetrics, RateAndMedianScore) {
  auto scheme = ParseScheme(R"(name = fast
total_weight = 10
absence_limit_days = none

[item within_2min]
metric = response_rate_120s
curve = ratio
target = 0.8
weight = 6

[item median]
metric = median_response_s
curve = linear
full_at = 30
zero_at = 90
weight = 4
)",
                            "fast.scheme");
  ASSERT_TRUE(scheme.ok()) << scheme.status();
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  // Five questions, four answered in {20, 60, 60, 150} s, one unanswered.
  AgentRow row;
  row.agent = "a";
  row.counters[kQuestions] = 5;
  row.counters[kAnswered] = 4;
  row.counters[kUnanswered] = 1;
  row.counters[kResponseMsSum] = 290'000;
  for (int64_t s : {20, 60, 60, 150}) row.counters.response_s.Add(s, 1);
  in.snapshot.agents.push_back(row);
  const ScoreReport report = MustScore(*scheme, in);
  const AgentScore& a = Find(report, "a");
  // Within 120 s: 3 of 5 questions = 0.6; 6 * min(0.6 / 0.8, 1) = 4.5.
  EXPECT_EQ(*Item(a, "within_2min").actual, 0.6);
  EXPECT_EQ(Item(a, "within_2min").points_centi, 450);
  // Median of {20, 60, 60, 150}: rank 2 -> 60; 4 * (90 - 60) / 60 = 2.
  EXPECT_EQ(*Item(a, "median").actual, 60.0);
  EXPECT_EQ(Item(a, "median").points_centi, 200);
}

// A shop's own mark is entered as `assessment.NAME` (chatkpi assess,
// assessment events) and scored by the metric of that name: the scheme
// looked it up without its prefix, so it never counted (total 0, the input
// "missing", exit 0).
TEST(ShopOwnMark, ScoresTheInputOfItsWholeName) {
  auto scheme = ParseScheme(R"(name = "own"
total_weight = 100
absence_limit_days = 60

[item.quality]
metric = "assessment.quality"
curve = "manual"
weight = 100
)",
                            "own.toml");
  ASSERT_TRUE(scheme.ok()) << scheme.status();
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot = MonthSnapshot("2026-11");
  in.assessments = {In("a1", "2026-11", "assessment.quality", 95),
                    In("a2", "2026-11", "quality", 80)};
  const ScoreReport r = MustScore(*scheme, in);
  // Manual, weight 100: the mark is the points.
  EXPECT_EQ(*Item(Find(r, "a1"), "quality").actual, 95.0);
  EXPECT_EQ(Find(r, "a1").total_centi, 9500);
  EXPECT_THAT(Find(r, "a1").missing_inputs, IsEmpty());
  // `quality` alone is another input, not the shop's mark.
  EXPECT_EQ(Find(r, "a2").total_centi, 0);
  EXPECT_THAT(Find(r, "a2").missing_inputs, ElementsAre("assessment.quality"));
}

// A scheme that pays and grades on two consecutive months: in an agent's
// first assessed month (or after a gap) there is no grade yet, and the base
// was 0. It is the band every total earns (min_total 0), which a paying
// scheme must have so that no one is paid a base of 0.
TEST(GradingConsecutive, NoGradeYetIsPaidTheBaseOfTheLowestBand) {
  auto scheme = ParseScheme(R"(name = "pay2"
total_weight = 10
absence_limit_days = 60

[item.execution]
metric = "execution"
curve = "manual"
weight = 10

[grading]
consecutive = 2

[grade.good]
title = "good"
min_total = 8
base_pay = 3000

[grade.base]
title = "base"
min_total = 0
base_pay = 2000

[commission]
brackets = ["[0, inf) rate 1%"]
public_rate = "0%"
)",
                            "pay2.toml");
  ASSERT_TRUE(scheme.ok()) << scheme.status();
  MonthInputs oct;
  oct.month = "2026-10";
  oct.snapshot = MonthSnapshot("2026-10");
  oct.assessments = {In("old", "2026-10", "execution", 9)};
  const ScoreReport previous = MustScore(*scheme, oct);
  MonthInputs nov;
  nov.month = "2026-11";
  nov.snapshot = MonthSnapshot("2026-11");
  nov.assessments = {In("old", "2026-11", "execution", 9),
                     In("new", "2026-11", "execution", 9)};
  nov.previous = {previous};
  const ScoreReport r = MustScore(*scheme, nov);
  // Two months of 9: the band of the lower, 9 >= 8: good, 3,000 yuan.
  EXPECT_EQ(Find(r, "old").grade, "good");
  ASSERT_TRUE(Find(r, "old").pay.has_value());
  EXPECT_EQ(Find(r, "old").pay->base_fen, 300000);
  // One month: no grade, the base of the min_total 0 band, 2,000 yuan.
  EXPECT_EQ(Find(r, "new").grade, "");
  ASSERT_TRUE(Find(r, "new").pay.has_value());
  EXPECT_EQ(Find(r, "new").pay->base_fen, 200000);
}

TEST(ResponseFigureMetrics, MalformedNamesAreUnknownMetrics) {
  for (const char* bad :
       {"response_rate_s", "response_rate_0s", "response_rate_030s",
        "response_rate_3m", "median_response", "answered_within_-5s"}) {
    std::string text = kMini;
    text.replace(text.find("reply_rate"), 10, bad);
    EXPECT_THAT(ParseError(text).message(),
                HasSubstr(absl::StrCat("unknown metric '", bad, "'")))
        << bad;
  }
  std::string text = kMini;
  text.replace(text.find("reply_rate"), 10, "first_response_rate_45s");
  EXPECT_TRUE(ParseError(text).ok()) << ParseError(text);
}

}  // namespace
}  // namespace chatkpi

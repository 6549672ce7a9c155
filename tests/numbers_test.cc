// Numbers never wrap (docs/limits.md): per-event bounds at the parser, and
// overflow-checked sums everywhere a figure is added up (engine rows, period
// sums, team rows, scoring, pay). Counters near INT64_MAX are written
// straight into a store, since no realistic input gets there any more.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "base/checked_math.h"
#include "engine/counters.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"
#include "query/agent_days.h"
#include "query/http_api.h"
#include "query/month_score.h"
#include "query/scheme.h"
#include "query/scoring.h"
#include "query/snapshot.h"
#include "store/coding.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
// Two of these overflow; one fits.
constexpr int64_t kHalfPlus = kMax / 2 + 1;

bool Has(const absl::Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

TEST(CheckedMath, RefusesWhatDoesNotFitAndLeavesTheTargetAlone) {
  int64_t v = 7;
  EXPECT_TRUE(CheckedAdd(kMax - 1, 1, &v));
  EXPECT_EQ(v, kMax);
  v = 7;
  EXPECT_FALSE(CheckedAdd(kMax, 1, &v));
  EXPECT_FALSE(CheckedAdd(kMin, -1, &v));
  EXPECT_FALSE(CheckedSub(kMin, 1, &v));
  EXPECT_FALSE(CheckedSub(0, kMin, &v));
  EXPECT_FALSE(CheckedMul(kHalfPlus, 2, &v));
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(CheckedMul(-1, kMax, &v));
  EXPECT_EQ(v, -kMax);

  int64_t sum = kMax - 5;
  absl::Status s = AddChecked(&sum, 6, "the team's awards");
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(s, "the team's awards does not fit in a 64-bit integer"))
      << s;
  EXPECT_EQ(sum, kMax - 5);
  EXPECT_TRUE(AddChecked(&sum, 5, "x").ok());
  EXPECT_EQ(sum, kMax);
}

TEST(CountersAdd, OverflowIsAnErrorNamingTheCounterNotAWrap) {
  Counters a, b;
  a[kOrders] = 3;
  a[kSalesFen] = kMax - 5;
  b[kOrders] = 1;
  b[kSalesFen] = 6;  // kMax - 5 + 6 wraps to kMin
  const Counters before = a;
  absl::Status s = a.Add(b);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(s, "counter 'sales_fen' does not fit")) << s;
  EXPECT_EQ(a, before);  // nothing half-added, orders included

  b[kSalesFen] = 5;
  ASSERT_TRUE(a.Add(b).ok());
  EXPECT_EQ(a[kSalesFen], kMax);
  EXPECT_EQ(a[kOrders], 4);

  Counters low;
  low[kPaidItems] = kMin + 1;
  Counters two;
  two[kPaidItems] = 2;
  s = low.Subtract(two);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(s, "counter 'paid_items'")) << s;
  EXPECT_EQ(low[kPaidItems], kMin + 1);

  Counters neg;
  neg[kRefundFen] = -1;
  s = CheckNonNegative(neg);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Has(s, "counter 'refund_fen' is negative (-1)")) << s;
  EXPECT_TRUE(CheckNonNegative(a).ok());
}

// A store with rows written directly: `rows` as (family, key, counters).
struct Row {
  Family family;
  std::string key;
  Counters value;
};

std::unique_ptr<Store> StoreWith(const std::string& dir,
                                 const std::vector<Row>& rows) {
  auto store = Store::Open(dir, StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  Commit c(store->get());
  for (const Row& r : rows) c.Put(r.family, r.key, EncodeCounters(r.value));
  EXPECT_TRUE((*store)->Write(&c).ok());
  return std::move(*store);
}

Counters Sales(int64_t fen, int64_t paid_orders = 1) {
  Counters c;
  c[kPaidOrders] = paid_orders;
  c[kPaidBuyers] = paid_orders;
  c[kPaidItems] = paid_orders;
  c[kSalesFen] = fen;
  return c;
}

const absl::CivilDay kDay1(2026, 11, 10), kDay2(2026, 11, 11);

TEST(NumbersEngine, AnAddThatWouldOverflowFailsTheCommit) {
  const std::string dir = TempDir("numbers-engine");
  const int32_t day = DayNumber(kDay1);
  const int64_t ts = testing::Local("2026-11-10 12:00:00");
  {
    // A store with history (an engine on an empty store knows it has no
    // rows and would not read the ones written below).
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    auto engine = Engine::Open(testing::TestRules(), store->get());
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->Apply(testing::In("c0", ts, "u0", "a"), "c0").ok());
    ASSERT_TRUE((*engine)->Commit().ok());
  }
  // The silent orders of 2026-11-10 already sum to 100 fen short of
  // INT64_MAX, and the month's rollup with them.
  auto store = StoreWith(
      dir, {{Family::kAggregates, AggregateKey(0, day, ""), Sales(kMax - 100)},
            {Family::kRollups, RollupKey(0, MonthOfDay(day), ""),
             Sales(kMax - 100)}});
  auto engine = Engine::Open(testing::TestRules(), store.get());
  ASSERT_TRUE(engine.ok()) << engine.status();
  // 1.00 yuan fits (kMax - 100 + 100 = kMax) ...
  auto applied = (*engine)->Apply(
      testing::Order("p1", ts, "T1", "u1", OrderStatus::kPaid, 100), "p1");
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_TRUE((*engine)->Commit().ok());
  // ... one more fen does not: the engine fails instead of writing
  // INT64_MIN as the day's sales.
  applied = (*engine)->Apply(
      testing::Order("p2", ts + 1, "T2", "u2", OrderStatus::kPaid, 1), "p2");
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(applied.status(),
                  "unattributed orders on 2026-11-10: "
                  "counter 'sales_fen' does not fit"))
      << applied.status();
  absl::Status commit = (*engine)->Commit();
  EXPECT_FALSE(commit.ok());  // refused: nothing of the batch is written
  engine->reset();

  auto snap = ReadSnapshot(*store, kDay1, kDay1);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->unattributed[kSalesFen], kMax);  // the good commit only
  EXPECT_EQ(snap->unattributed[kPaidOrders], 2);
  auto month = ReadSnapshot(*store, absl::CivilDay(2026, 11, 1),
                            absl::CivilDay(2026, 11, 30));  // the rollup
  ASSERT_TRUE(month.ok()) << month.status();
  EXPECT_EQ(month->unattributed[kSalesFen], kMax);
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(NumbersSnapshot, APeriodOrTeamSumThatWouldOverflowFailsTheRead) {
  const std::string dir = TempDir("numbers-snapshot");
  // Agent a: kHalfPlus fen on each of two days. Agents b and c: kHalfPlus
  // on day 1 each, so their team row overflows on day 1 alone.
  auto store = StoreWith(
      dir, {{Family::kAggregates, AggregateKey(0, DayNumber(kDay1), "a"),
             Sales(kHalfPlus)},
            {Family::kAggregates, AggregateKey(0, DayNumber(kDay2), "a"),
             Sales(kHalfPlus)}});
  // Each day alone is exact.
  auto one = ReadSnapshot(*store, kDay1, kDay1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->agents.at(0).counters[kSalesFen], kHalfPlus);
  EXPECT_EQ(one->team[kSalesFen], kHalfPlus);
  // Both days: 2 * kHalfPlus = INT64_MAX + 1 would wrap to INT64_MIN.
  auto both = ReadSnapshot(*store, kDay1, kDay2);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(both.status(), "agent 'a'")) << both.status();
  EXPECT_TRUE(Has(both.status(), "counter 'sales_fen' does not fit"))
      << both.status();
  // The per-agent day series of the HTTP API sums the same rows.
  auto days = ReadAgentDays(*store, "a", kDay1, kDay2);
  ASSERT_FALSE(days.ok());
  EXPECT_EQ(days.status().code(), absl::StatusCode::kOutOfRange);
  days = ReadAgentDays(*store, "a", kDay1, kDay1);
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(days->total[kSalesFen], kHalfPlus);
  {
    // The HTTP API answers 500 with the message, never a wrapped figure.
    HttpApi api(store.get(), HttpApiOptions());
    ApiResponse snap =
        api.Snapshot({{"from", "2026-11-10"}, {"to", "2026-11-11"}});
    EXPECT_EQ(snap.status, 500);
    EXPECT_NE(snap.body.find("counter 'sales_fen' does not fit"),
              std::string::npos)
        << snap.body;
    ApiResponse agent =
        api.AgentDays("a", {{"from", "2026-11-10"}, {"to", "2026-11-11"}});
    EXPECT_EQ(agent.status, 500) << agent.body;
    agent = api.AgentDays("a", {{"from", "2026-11-10"}, {"to", "2026-11-10"}});
    EXPECT_EQ(agent.status, 200) << agent.body;
    EXPECT_NE(agent.body.find(absl::StrCat("\"sales_fen\": ", kHalfPlus)),
              std::string::npos)
        << agent.body;
  }
  store.reset();

  store = StoreWith(
      dir, {{Family::kAggregates, AggregateKey(0, DayNumber(kDay1), "b"),
             Sales(kHalfPlus)},
            {Family::kAggregates, AggregateKey(0, DayNumber(kDay1), "c"),
             Sales(kHalfPlus)}});
  auto team = ReadSnapshot(*store, kDay1, kDay1);
  ASSERT_FALSE(team.ok());
  EXPECT_EQ(team.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(team.status(), "the team row")) << team.status();
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(NumbersSnapshot, ANegativeStoredCounterIsDamageNotAFigure) {
  const std::string dir = TempDir("numbers-negative");
  Counters wrapped = Sales(1);
  wrapped[kPaidItems] = -3;  // what a wrapped sum of an older build looks like
  auto store = StoreWith(
      dir,
      {{Family::kAggregates, AggregateKey(0, DayNumber(kDay1), ""), wrapped}});
  auto snap = ReadSnapshot(*store, kDay1, kDay1);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Has(snap.status(), "unattributed orders")) << snap.status();
  EXPECT_TRUE(Has(snap.status(), "counter 'paid_items' is negative (-3)"))
      << snap.status();
  store.reset();
  std::filesystem::remove_all(dir);
}

Scheme Ecom10() {
  auto s = LoadSchemeFile(
      absl::StrCat(testing::SourceDir(), "/query/schemes/ecom10.toml"));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : Scheme{};
}

MonthInputs November() {
  MonthInputs in;
  in.month = "2026-11";
  in.snapshot.from = absl::CivilDay(2026, 11, 1);
  in.snapshot.to = absl::CivilDay(2026, 11, 30);
  return in;
}

TEST(NumbersScore, NetSalesSumsThatWouldOverflowFailTheScore) {
  const Scheme scheme = Ecom10();
  ASSERT_TRUE(scheme.has_pay);

  // Each agent's net sales fit; the team's (a + b) would wrap negative.
  MonthInputs in = November();
  in.snapshot.agents = {{"a", Sales(kHalfPlus)}, {"b", Sales(kHalfPlus)}};
  auto r = Score(scheme, in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(r.status(), "the team's net sales")) << r.status();

  // Net sales = sales - refunds, checked as well.
  in = November();
  Counters odd = Sales(kMax);
  odd[kRefundFen] = -1;  // only damage gets here; the difference would wrap
  in.snapshot.agents = {{"a", odd}};
  r = Score(scheme, in);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Has(r.status(), "net sales of agent 'a'")) << r.status();
}

TEST(NumbersScore, ACommissionPastInt64FailsTheScore) {
  const Scheme scheme = Ecom10();
  ASSERT_TRUE(scheme.has_pay);
  // The largest net sales of one agent still score, with exact pay:
  // commission above 25000 yuan is 2%: round(kMax * 0.02) fen.
  MonthInputs in = November();
  in.snapshot.agents = {{"a", Sales(kMax)}};
  auto r = Score(scheme, in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->agents.at(0).pay.has_value());
  // 9223372036854775807 * 20000 / 10^6 = 184467440737095516.14 -> ...516.
  EXPECT_EQ(r->agents.at(0).pay->personal_commission_fen, 184467440737095516);
  EXPECT_GT(r->agents.at(0).pay->total_fen, 0);

  // A commission rate far above 100% cannot produce a wrapped commission.
  Scheme greedy = scheme;
  for (CommissionBracket& b : greedy.brackets) b.rate_ppm = 1'000'000'000;
  auto c = PersonalCommissionFen(greedy, kMax / 10);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kOutOfRange);
  r = Score(greedy, in);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Has(r.status(), "agent 'a': personal commission")) << r.status();
}

TEST(NumbersScore, PointsPastInt64FailTheScore) {
  // Points past int64 (a per-unit item on a huge counter) are an error,
  // not an undefined conversion.
  MonthInputs in = November();
  in.snapshot.agents = {{"a", Sales(kMax)}};
  Scheme per_fen = Ecom10();
  SchemeItem item;
  item.name = "sales_points";
  item.metric.kind = MetricRef::Kind::kCounter;
  item.metric.index = kSalesFen;
  item.curve = Curve::kPerUnit;
  item.per_unit = 1;
  per_fen.items.push_back(item);
  auto r = Score(per_fen, in);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Has(r.status(), "the points of item 'sales_points'"))
      << r.status();
}

TEST(NumbersRules, WindowsAreBoundedSoMillisecondsCannotOverflow) {
  // 30 days for the response windows, 366 for attribution: at the bound
  // taken, one second past it refused with the bound in the message.
  auto ok = ParseRules(
      R"({"version": "v", "response": {"window_s": 2592000, "slow_s": 2592000},)"
      R"( "attribution": {"window_s": 31622400}})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->response_window_s, 2592000);
  EXPECT_EQ(ok->attribution_window_s, 31622400);
  for (const char* bad :
       {R"({"version": "v", "response.window_s": 2592001})",
        R"({"version": "v", "response.slow_s": 2592001})",
        R"({"version": "v", "attribution.window_s": 31622401})",
        R"({"version": "v", "response.window_s": 9223372036854775807})"}) {
    auto r = ParseRules(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(Has(r.status(), "must be at most")) << r.status();
  }
}

TEST(NumbersScore, AStoredAssessmentPastTheBoundIsRefusedNotConverted) {
  // An older build took any value; 1e300 yuan of seniority pay cannot
  // become fen. Key: period \0 agent \0 metric; value: (ts, id), number.
  const std::string dir = TempDir("numbers-assessment");
  auto store = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  auto put = [&](const std::string& metric, const std::string& number) {
    Commit c(store->get());
    std::string key = std::string("2026-11") + '\0' + "a" + '\0' + metric;
    std::string value;
    PutLengthPrefixed(&value, "order");
    value += number;
    c.Put(Family::kAssessments, key, value);
    ASSERT_TRUE((*store)->Write(&c).ok());
  };
  put("seniority_pay", "1000000000");  // at the bound: taken
  auto in = ReadAssessments(**store, "2026-11");
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(in->size(), 1u);
  EXPECT_EQ(in->at(0).value_fen, 100'000'000'000);
  put("seniority_pay", "1e300");
  in = ReadAssessments(**store, "2026-11");
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Has(in.status(), "assessment seniority_pay of agent 'a'"))
      << in.status();
  store->reset();
  std::filesystem::remove_all(dir);
}

// --- the real binary ------------------------------------------------------

std::string OrderLine(const std::string& id, const std::string& order,
                      const std::string& status, const std::string& amount,
                      const std::string& items) {
  return absl::StrCat(R"({"type":"order","id":")", id, R"(","ts":)",
                      testing::Local("2026-11-10 12:00:00"), R"(,"order":")",
                      order, R"(","buyer":"u)", order, R"(","status":")",
                      status, R"(","amount":)", amount, R"(,"items":)", items,
                      "}\n");
}

TEST(NumbersProcess, HugeAmountsAreDeadLettersAndTheRestIsExact) {
  const std::string dir = TempDir("numbers-process");
  // Before the bounds, the INT64_MAX-fen payments were taken and the day's
  // sales wrapped: 1,000,012,990 + 3 * (2^63 - 1) is -9223372035854762821
  // modulo 2^64, printed with exit 0.
  std::string lines =
      OrderLine("ok1", "1", "paid", "10000000.00", "1000000") +  // at bounds
      OrderLine("ok2", "2", "paid", "129.90", "3") +
      OrderLine("ok3", "2", "refunded", "10000000.00", "1") +  // at bound
      OrderLine("big1", "3", "paid", "92233720368547758.07", "1") +
      OrderLine("big2", "4", "paid", "92233720368547758.07", "1") +
      OrderLine("big3", "5", "paid", "92233720368547758.07", "1") +
      OrderLine("big4", "6", "paid", "10000000.01", "1") +
      OrderLine("big5", "7", "paid", "1", "1000001") +
      OrderLine("big6", "8", "refunded", "1", "9223372036854775807");
  WriteFile(dir + "/orders.jsonl", lines);
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/orders.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", dir + "/db", "--from",
                  "2026-11-10", "--to", "2026-11-10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // No chat: every order is silent. Paid: orders 1 and 2 (1 and 2 distinct
  // buyers); items 1000000 + 3; sales 1,000,000,000 + 12,990 fen; one refund
  // of 1 item and 1,000,000,000 fen on order 2.
  EXPECT_NE(
      r.out.find(
          R"("unattributed": {"orders": 2, "ordered_buyers": 2, )"
          R"("paid_orders": 2, "paid_buyers": 2, "paid_items": 1000003, )"
          R"("sales_fen": 1000012990, "refunds": 1, "refunded_items": 1, )"
          R"("refund_fen": 1000000000})"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(R"("dead_letters": 6)"), std::string::npos) << r.out;

  // Each huge line is a dead letter naming its field.
  r = RunProcess({ChatkpiBinary(), "check", dir + "/orders.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  for (int line : {4, 5, 6, 7}) {
    EXPECT_NE(r.err.find(absl::StrCat("orders.jsonl:", line,
                                      ": out of range 'amount'")),
              std::string::npos)
        << line << ": " << r.err;
  }
  for (int line : {8, 9}) {
    EXPECT_NE(r.err.find(absl::StrCat("orders.jsonl:", line,
                                      ": out of range 'items'")),
              std::string::npos)
        << line << ": " << r.err;
  }

  // `assess` goes through the same parser: its value is bounded too.
  r = RunProcess({ChatkpiBinary(), "assess", "--db", dir + "/db", "--agent",
                  "shop:a", "--month", "2026-11", "--metric", "seniority_pay",
                  "--value", "1000000000.01"});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // a usage error
  EXPECT_NE(r.err.find("not a valid assessment: out of range 'value'"),
            std::string::npos)
      << r.err;
  r = RunProcess({ChatkpiBinary(), "assess", "--db", dir + "/db", "--agent",
                  "shop:a", "--month", "2026-11", "--metric", "sets_sold",
                  "--value", "1000000000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(NumbersProcess, IngestAndSnapshotFailLoudlyInsteadOfWrapping) {
  const std::string dir = TempDir("numbers-loud");
  const std::string db = dir + "/db";
  // A store whose silent sales of 2026-11-10 stand 50 fen short of INT64_MAX
  // (day row and month rollup), as if a long history had piled up.
  WriteFile(dir + "/first.jsonl", OrderLine("p0", "0", "paid", "0.50", "1"));
  // One thread: a store of one file shard, whose rows are shard 0's.
  auto r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, "--threads", "1",
                       dir + "/first.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    const int32_t day = DayNumber(kDay1);
    StoreWith(
        db, {{Family::kAggregates, AggregateKey(0, day, ""), Sales(kMax - 50)},
             {Family::kRollups, RollupKey(0, MonthOfDay(day), ""),
              Sales(kMax - 50)}});
  }
  // 0.51 yuan more: the run fails, names the figure, and commits nothing.
  WriteFile(dir + "/more.jsonl", OrderLine("p1", "1", "paid", "0.51", "1"));
  r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, dir + "/more.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unattributed orders on 2026-11-10: counter "
                       "'sales_fen' does not fit in a 64-bit integer"),
            std::string::npos)
      << r.err;
  // The position did not move: a second run meets the same refusal.
  r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, dir + "/more.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", db, "--from",
                  "2026-11-10", "--to", "2026-11-10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(absl::StrCat("\"sales_fen\": ", kMax - 50)),
            std::string::npos)
      << r.out;

  // A period whose sum does not fit: snapshot and score exit non-zero.
  {
    StoreWith(db, {{Family::kAggregates, AggregateKey(0, DayNumber(kDay2), ""),
                    Sales(100)}});
  }
  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", db, "--from",
                  "2026-11-10", "--to", "2026-11-11"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("counter 'sales_fen' does not fit"), std::string::npos)
      << r.err;
  // The month: its rollup plus 100 fen more would not fit either once the
  // rollup is made to agree with the days.
  {
    StoreWith(
        db, {{Family::kRollups, RollupKey(0, MonthOfDay(DayNumber(kDay1)), "a"),
              Sales(kMax)},
             {Family::kRollups, RollupKey(0, MonthOfDay(DayNumber(kDay1)), "b"),
              Sales(1)}});
  }
  r = RunProcess({ChatkpiBinary(), "score", "--db", db, "--month", "2026-11",
                  "--scheme", "ecom10"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not fit in a 64-bit integer"), std::string::npos)
      << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

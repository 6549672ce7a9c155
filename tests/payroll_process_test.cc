// The roster, checked assessment inputs, scoring with and without a roster,
// and the pay statement, end to end with the real binary and HTTP server
// (docs/scoring.md: "Roster", "Assessment inputs", "Pay statement").
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "query/http_auth.h"
#include "query/http_server.h"
#include "store/store.h"
#include "tests/process_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::Chatkpi;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunProcess;

// shop:a sells 20000.00 yuan in November 2026; a silent order sells
// 1000.00; `bot` (not on any roster) sells 500.00.
std::string MakeDb(const std::string& dir) {
  const std::string ts = absl::StrCat(testing::Local("2026-11-10 10:00:00"));
  testing::WriteFile(
      dir + "/ev.jsonl",
      absl::StrCat(
          R"({"type":"chat","id":"c1","ts":)", ts,
          R"(,"buyer":"u1","agent":"shop:a","dir":"in"})", "\n",
          R"({"type":"order","id":"o1","ts":)", ts,
          R"(,"order":"A","buyer":"u1","status":"paid","amount":20000.00,"items":2})",
          "\n", R"({"type":"chat","id":"c2","ts":)", ts,
          R"(,"buyer":"u3","agent":"bot","dir":"in"})", "\n",
          R"({"type":"order","id":"o3","ts":)", ts,
          R"(,"order":"B","buyer":"u3","status":"paid","amount":500.00,"items":1})",
          "\n", R"({"type":"order","id":"o2","ts":)", ts,
          R"(,"order":"S","buyer":"u2","status":"paid","amount":1000,"items":1})",
          "\n"));
  auto r = Chatkpi({"ingest", "--db", dir + "/db", dir + "/ev.jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir + "/db";
}

TEST(RosterProcess, ImportPrintRefuseAndKeepVersions) {
  const std::string dir = testing::TempDir("roster_cli");
  const std::string db = MakeDb(dir);
  // A bad file is refused with its line numbers and changes nothing.
  testing::WriteFile(dir + "/bad.csv",
                     "agent,name,hired,left\n"
                     "shop:a,王小明,2025-01-01,\n"
                     "shop:a,again,2025-01-01,\n"
                     "shop:c,C,2026-02-30,\n");
  auto r = Chatkpi({"roster", "--db", db, "--file", dir + "/bad.csv"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("line 3: agent 'shop:a' repeats line 2"));
  EXPECT_THAT(r.err, HasSubstr("line 4: hired '2026-02-30' is not a date"));
  r = Chatkpi({"roster", "--db", db});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("no roster yet"));

  testing::WriteFile(dir + "/v1.csv",
                     "\xEF\xBB\xBF"
                     "agent,name,hired,left\r\n"
                     "shop:a,王小明,2025-01-01,\r\n");
  r = Chatkpi({"roster", "--db", db, "--file", dir + "/v1.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  testing::WriteFile(dir + "/v2.csv",
                     "agent,name,hired,left\n"
                     "shop:a,王小明,2025-01-01,\n"
                     "shop:z,\"Zhao, Z\",2026-11-01,\n");
  r = Chatkpi({"roster", "--db", db, "--file", dir + "/v2.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Chatkpi({"roster", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"version\": 2"));
  EXPECT_THAT(r.out, HasSubstr("\"versions\": [1, 2]"));
  EXPECT_THAT(r.out, HasSubstr("{\"agent\": \"shop:z\", \"name\": \"Zhao, Z\", "
                               "\"hired\": \"2026-11-01\", \"left\": null}"));
  r = Chatkpi({"roster", "--db", db, "--version", "1", "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "\xEF\xBB\xBF"
            "agent,name,hired,left\r\nshop:a,王小明,2025-01-01,\r\n");
}

TEST(RosterProcess, ScoreWarnsWithoutARosterAndListsTheUnrostered) {
  const std::string dir = testing::TempDir("roster_score");
  const std::string db = MakeDb(dir);
  auto r = Chatkpi(
      {"score", "--db", db, "--month", "2026-11", "--scheme", "ecom10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("warning: no roster"));
  EXPECT_THAT(r.out, HasSubstr("\"roster\": null"));
  // bot is paid too: 1000.00 x 0.5% / 2 agents = 2.50 yuan each.
  EXPECT_THAT(r.out, HasSubstr("\"public_commission_fen\": 250,"));

  testing::WriteFile(dir + "/staff.csv",
                     "agent,name,hired,left\nshop:a,王小明,2025-01-01,\n");
  ASSERT_EQ(
      Chatkpi({"roster", "--db", db, "--file", dir + "/staff.csv"}).exit_code,
      0);
  r = Chatkpi(
      {"score", "--db", db, "--month", "2026-11", "--scheme", "ecom10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("warning")));
  EXPECT_THAT(r.out,
              HasSubstr("\"roster\": {\"version\": 1, \"employed\": 1}"));
  // 1000.00 x 0.5% / 1 = 5.00 yuan; bot is listed, never paid.
  EXPECT_THAT(r.out, HasSubstr("\"public_commission_fen\": 500,"));
  EXPECT_THAT(r.out, HasSubstr("\"unrostered\": [\n  {\"agent\": \"bot\", "
                               "\"net_sales_fen\": 50000"));
  EXPECT_THAT(r.out, Not(HasSubstr("{\"agent\": \"bot\", \"assessed\"")));

  // The statement: S = 20000: (20000 - 15000) x 2% + 150 = 250.00.
  r = Chatkpi({"statement", "--db", db, "--month", "2026-11", "--scheme",
               "ecom10", "--agent", "shop:a"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("提成算式 / commission arithmetic (元),"
                               "(20000.00 - 15000.00) x 2% + 150.00 = 250.00"));
  r = Chatkpi({"statement", "--db", db, "--month", "2026-11", "--scheme",
               "ecom10", "--agent", "bot", "--format", "html"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("not on the roster"));

  // Over HTTP, read-only and token-protected.
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  HttpServerOptions opts;
  const std::string token = "payroll-token-0123456789abcdef";
  opts.tokens.emplace_back(token, Role::kAdmin);
  opts.schemes_dir = testing::SourceDir() + "/query/schemes";
  HttpServer server(store->get(), opts);
  ASSERT_TRUE(server.Start(0).ok());
  httplib::Client c("127.0.0.1", server.port());
  auto res = c.Get("/api/roster");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  c.set_bearer_token_auth(token);
  res = c.Get("/api/roster");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("\"name\": \"王小明\""));
  res = c.Post("/api/roster", "x", "text/csv");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  res = c.Get("/api/statement?month=2026-11&scheme=ecom10&agent=shop:a");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(res->body, HasSubstr("工资条"));
  res = c.Get(
      "/api/statement?month=2026-11&scheme=ecom10&agent=shop:a&format=csv");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("当月工资 / total pay (元),"));
  res = c.Get("/api/statement?month=2026-11&scheme=ecom10&agent=bot");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST(AssessProcess, RefusesBadInputsAndChangedResends) {
  const std::string dir = testing::TempDir("assess_checks");
  const std::string db = MakeDb(dir);
  auto assess = [&](const std::string& metric, const std::string& value,
                    const std::string& id) {
    std::vector<std::string> a = {"assess", "--db",    db,        "--agent",
                                  "shop:a", "--month", "2026-11", "--metric",
                                  metric,   "--value", value};
    if (!id.empty()) {
      a.push_back("--id");
      a.push_back(id);
    }
    return Chatkpi(a);
  };
  auto r = assess("excution", "5", "");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("unknown metric 'excution'"));
  EXPECT_NE(assess("sales_target", "-100", "").exit_code, 0);
  r = assess("sales_target", "1.005", "");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("at most 2 decimals"));
  EXPECT_NE(assess("execution", "11", "").exit_code, 0);

  r = assess("execution", "7", "x1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = assess("execution", "7.0", "x1");  // the same value again
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("already recorded"));
  r = assess("execution", "8", "x1");  // a different value, same id
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("already recorded with a different"));
  // With a roster, an input for someone it does not employ is recorded
  // with a warning.
  testing::WriteFile(dir + "/staff.csv", "agent,hired\nshop:a,2025-01-01\n");
  ASSERT_EQ(
      Chatkpi({"roster", "--db", db, "--file", dir + "/staff.csv"}).exit_code,
      0);
  r = Chatkpi({"assess", "--db", db, "--agent", "shop:A", "--month", "2026-11",
               "--metric", "execution", "--value", "9"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("warning: shop:A is not employed in 2026-11"));
  // The first value stands: kpi100 execution 7 of 10 points.
  r = Chatkpi(
      {"score", "--db", db, "--month", "2026-11", "--scheme", "kpi100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"name\": \"execution\", \"actual\": 7, "
                               "\"target\": 10, \"points\": 7}"));
}

// HR inputs that were mistakes and were taken with exit 0: an input that
// an earlier one with a later time outranks (never scored), a time far
// ahead (outranking every correction), a mistyped --db (a new store nobody
// scores).
TEST(AssessProcess, RefusesInputsThatWouldNeverCount) {
  const std::string dir = testing::TempDir("assess_never");
  const std::string db = MakeDb(dir);
  auto assess = [&](const std::string& value, const std::string& ts) {
    std::vector<std::string> a = {"assess",    "--db",    db,        "--agent",
                                  "shop:a",    "--month", "2026-11", "--metric",
                                  "execution", "--value", value};
    if (!ts.empty()) {
      a.push_back("--ts");
      a.push_back(ts);
    }
    return Chatkpi(a);
  };
  const int64_t now = absl::ToUnixMillis(absl::Now());
  auto r = assess("3", absl::StrCat(now + 2 * 86400000LL));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("more than a day ahead of now"));
  r = assess("3", absl::StrCat(now + 3600000));  // an hour ahead: a clock
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = assess("9", "");  // now: before the input above
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("shop:a's execution for 2026-11 is 3"));
  EXPECT_THAT(r.err, HasSubstr("give --ts after"));
  r = assess("9", absl::StrCat(now + 3600001));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Chatkpi(
      {"score", "--db", db, "--month", "2026-11", "--scheme", "kpi100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"name\": \"execution\", \"actual\": 9, "
                               "\"target\": 10, \"points\": 9}"));

  for (const char* cmd : {"assess", "roster"}) {
    SCOPED_TRACE(cmd);
    testing::WriteFile(dir + "/staff.csv", "agent,hired\nshop:a,2025-01-01\n");
    std::vector<std::string> a = {cmd, "--db", dir + "/db_typo"};
    if (std::string(cmd) == "roster") {
      a.insert(a.end(), {"--file", dir + "/staff.csv"});
    } else {
      a.insert(a.end(), {"--agent", "shop:a", "--month", "2026-11", "--metric",
                         "self", "--value", "5"});
    }
    r = Chatkpi(a);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("no chatkpi store there"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/db_typo"));
  }
}

// A month without any activity or input (a mistyped --month) paid every
// rostered agent base pay and flagged each as failing, with exit 0.
TEST(ScoreProcess, AMonthWithoutDataIsRefused) {
  const std::string dir = testing::TempDir("score_empty_month");
  const std::string db = MakeDb(dir);
  testing::WriteFile(dir + "/staff.csv", "agent,hired\nshop:a,2025-01-01\n");
  ASSERT_EQ(
      Chatkpi({"roster", "--db", db, "--file", dir + "/staff.csv"}).exit_code,
      0);
  for (const char* month : {"2026-12", "2150-01"}) {
    auto r =
        Chatkpi({"score", "--db", db, "--month", month, "--scheme", "ecom10"});
    EXPECT_EQ(r.exit_code, 1) << month;
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat(
                           "no activity and no assessment inputs in ", month)));
    EXPECT_EQ(r.out, "");
  }
  auto r = Chatkpi({"statement", "--db", db, "--month", "2026-12", "--scheme",
                    "ecom10", "--agent", "shop:a"});
  EXPECT_EQ(r.exit_code, 1);
  // A quarter with one month of data is scored.
  r = Chatkpi(
      {"score", "--db", db, "--quarter", "2026-Q4", "--scheme", "kpi100"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// `--scheme ecom10` read a file named ecom10 in the working folder, if
// there was one, instead of the shipped scheme: pay by whoever left it.
TEST(ScoreProcess, ASchemeNameShadowedByAFileIsRefused) {
  const std::string dir = testing::TempDir("score_shadow");
  const std::string db = MakeDb(dir);
  testing::WriteFile(dir + "/ecom10", "name = \"ecom10\"\n");
  const std::string cd =
      absl::StrCat("cd '", dir, "' && exec '", testing::ChatkpiBinary(),
                   "' score --db '", db, "' --month 2026-11 --scheme ");
  auto r = RunProcess({"/bin/sh", "-c", cd + "ecom10"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("names both the shipped scheme"));
  EXPECT_THAT(r.err, HasSubstr("give ./ecom10 for the file"));
  // Named as a path, the file is read (and this one is not a scheme).
  r = RunProcess({"/bin/sh", "-c", cd + "./ecom10"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, Not(HasSubstr("names both")));
}

TEST(AssessProcess, InexactStoredMoneyStopsTheMonth) {
  // An event file may carry a money input with 3 decimals: scoring
  // refuses the month instead of rounding it through a float.
  const std::string dir = testing::TempDir("assess_money");
  const std::string db = MakeDb(dir);
  testing::WriteFile(
      dir + "/a.jsonl",
      absl::StrCat(R"({"type":"assessment","id":"t1","ts":)",
                   testing::Local("2026-11-20 10:00:00"),
                   R"(,"agent":"shop:a","period":"2026-11","metric":)"
                   R"("sales_target","value":1.005})",
                   "\n"));
  ASSERT_EQ(Chatkpi({"ingest", "--db", db, dir + "/a.jsonl"}).exit_code, 0);
  auto r = Chatkpi(
      {"score", "--db", db, "--month", "2026-11", "--scheme", "kpi100"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("sales_target of shop:a for 2026-11 is 1.005"));
}

TEST(PeriodProcess, QuarterAndYearNominations) {
  const std::string dir = testing::TempDir("period_cli");
  const std::string db = MakeDb(dir);
  // shop:a and bot both assessed in November only (no roster): 2 agents,
  // quotas floor(2 x 5%) = floor(2 x 10%) = 0; nobody assessed in all
  // three months of 2026-Q4, so nobody is eligible.
  auto r = Chatkpi(
      {"score", "--db", db, "--quarter", "2026-Q4", "--scheme", "kpi100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"period\": \"2026-Q4\", \"scheme\": "
                               "\"kpi100\", \"months\": [\"2026-10\", "
                               "\"2026-11\", \"2026-12\"],\n \"agent_count\": "
                               "2, \"best_quota\": 0, \"excellent_quota\": 0"));
  EXPECT_THAT(r.out, HasSubstr("{\"agent\": \"shop:a\", \"months_assessed\": "
                               "1, \"eligible\": false"));
  r = Chatkpi({"score", "--db", db, "--year", "2026", "--scheme", "kpi100",
               "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("period,scheme,agent,months_assessed,eligible,"
                               "period_total,rank,award\r\n2026,kpi100,"));
  EXPECT_EQ(Chatkpi({"score", "--db", db, "--quarter", "2026-Q5", "--scheme",
                     "kpi100"})
                .exit_code,
            2);
  EXPECT_EQ(Chatkpi({"score", "--db", db, "--month", "2026-11", "--year",
                     "2026", "--scheme", "kpi100"})
                .exit_code,
            2);
  // ecom10 names no quotas: refused.
  EXPECT_NE(
      Chatkpi({"score", "--db", db, "--year", "2026", "--scheme", "ecom10"})
          .exit_code,
      0);
}

}  // namespace
}  // namespace chatkpi

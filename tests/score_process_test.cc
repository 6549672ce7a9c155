// `chatkpi score` and `chatkpi assess` end to end: events and assessment
// inputs in a store, scored with the shipped ecom10 scheme; the money is
// worked out by hand from docs/spec.md §5.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RunProcess;

TEST(ScoreProcess, Ecom10PayFromStoredEventsAndAssessments) {
  std::string dir = testing::TempDir("score");
  const std::string in_ts = absl::StrCat(testing::Local("2026-11-10 09:00:00"));
  const std::string order_ts =
      absl::StrCat(testing::Local("2026-11-10 10:00:00"));
  // shop:a sells 20000.00 yuan (net); a silent order sells 1000.00 yuan.
  std::string jsonl = absl::StrCat(
      R"({"type":"chat","id":"c1","ts":)", in_ts,
      R"(,"buyer":"u1","agent":"shop:a","dir":"in"})", "\n",
      R"({"type":"order","id":"o1","ts":)", order_ts,
      R"(,"order":"A","buyer":"u1","status":"paid","amount":20000.00,"items":2})",
      "\n", R"({"type":"order","id":"o2","ts":)", order_ts,
      R"(,"order":"S","buyer":"u2","status":"paid","amount":1000,"items":1})",
      "\n");
  testing::WriteFile(dir + "/ev.jsonl", jsonl);
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/ev.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({ChatkpiBinary(), "assess", "--db", dir + "/db", "--agent",
                  "shop:a", "--month", "2026-11", "--metric", "seniority_pay",
                  "--value", "200.50"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A money value with 3 decimals is not a valid event: refused, exit != 0.
  r = RunProcess({ChatkpiBinary(), "assess", "--db", dir + "/db", "--agent",
                  "shop:a", "--month", "2026-11", "--metric", "x", "--value",
                  "abc"});
  EXPECT_NE(r.exit_code, 0);

  r = RunProcess({ChatkpiBinary(), "score", "--db", dir + "/db", "--month",
                  "2026-11", "--scheme", "ecom10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& out = r.out;
  EXPECT_NE(out.find("\"month\": \"2026-11\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"scheme\": \"ecom10\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"agent\": \"shop:a\""), std::string::npos) << out;
  // S = 20000: (20000 - 15000) x 2% + 150 = 250 yuan.
  EXPECT_NE(out.find("\"personal_commission_fen\": 25000"), std::string::npos)
      << out;
  // 1000 yuan of silent sales x 0.5% / 1 assessed agent = 5 yuan.
  EXPECT_NE(out.find("\"public_commission_fen\": 500"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"seniority_fen\": 20050"), std::string::npos) << out;

  r = RunProcess({ChatkpiBinary(), "score", "--db", dir + "/db", "--month",
                  "2026-11", "--scheme", "ecom10", "--format", "csv", "--lang",
                  "zh"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 3), "\xEF\xBB\xBF");

  r = RunProcess({ChatkpiBinary(), "score", "--db", dir + "/db", "--month",
                  "2026-13", "--scheme", "ecom10"});
  EXPECT_EQ(r.exit_code, 2);
  r = RunProcess({ChatkpiBinary(), "score", "--db", dir + "/db", "--month",
                  "2026-11", "--scheme", "nope"});
  EXPECT_NE(r.exit_code, 0);
  std::filesystem::remove_all(dir);
}

// Assessment inputs from an event file skip `chatkpi assess`'s checks: out
// of range they were scored as they were (2.5 sets sold earned 2.5 points,
// -5 days absent counted), with exit 0, or stopped the month saying money
// takes at most 2 decimals when it was negative. `score` checks them as
// `assess` does and stops the month naming the input and the reason.
TEST(ScoreProcess, EventFileInputsOutOfRangeStopTheMonthSayingWhy) {
  const struct {
    const char* metric;
    const char* value;
    const char* why;
  } kCases[] = {
      {"sets_sold", "2.5", "sets_sold value 2.5 must be a whole number"},
      {"absent_days", "-5", "absent_days value -5 is negative"},
      {"seniority_pay", "-100", "seniority_pay value -100 is negative"},
      {"sales_target", "0", "sales_target must be above 0"},
      {"followup", "2.5e0", "followup value '2.5e0' is not a plain decimal"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.metric);
    std::string dir = testing::TempDir("score-inputs");
    testing::WriteFile(
        dir + "/ev.jsonl",
        absl::StrCat(R"({"type":"assessment","id":"a1","ts":)",
                     testing::Local("2026-11-10 09:00:00"),
                     R"(,"agent":"shop:a","period":"2026-11","metric":")",
                     c.metric, R"(","value":)", c.value, "}\n"));
    auto r = RunProcess(
        {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/ev.jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = RunProcess({ChatkpiBinary(), "score", "--db", dir + "/db", "--month",
                    "2026-11", "--scheme", "ecom10"});
    // Not a usage error (2): the command line is right, a stored input is
    // not.
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find(absl::StrCat("assessment ", c.metric,
                                      " of shop:a for 2026-11 is ", c.value,
                                      ": ", c.why)),
              std::string::npos)
        << r.err;
    std::filesystem::remove_all(dir);
  }
}

// An event file's input under a name no scheme scores (a typo of
// "execution") is kept but never scored: `score` names it on stderr and
// in "unknown_inputs", and `statement` names it too, so that the agent's
// missing execution points are not taken for a missing input alone.
TEST(ScoreProcess, EventFileInputOfAnUnknownNameIsNamedNotScored) {
  std::string dir = testing::TempDir("score-unknown");
  testing::WriteFile(
      dir + "/ev.jsonl",
      absl::StrCat(
          R"({"type":"chat","id":"c1","ts":)",
          testing::Local("2026-11-10 09:00:00"),
          R"(,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})", "\n",
          R"({"type":"assessment","id":"a1","ts":)",
          testing::Local("2026-11-10 09:00:00"),
          R"(,"agent":"shop:a","period":"2026-11","metric":"excution","value":9})",
          "\n"));
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/ev.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({ChatkpiBinary(), "score", "--db", dir + "/db", "--month",
                  "2026-11", "--scheme", "ecom10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"unknown_inputs\": [{\"agent\": \"shop:a\", "
                       "\"metric\": \"excution\", \"value\": 9}]"),
            std::string::npos)
      << r.out;
  const std::string warning =
      "warning: 1 input(s) of 2026-11 have a name no scheme scores and are "
      "not scored: excution of shop:a";
  EXPECT_NE(r.err.find(warning), std::string::npos) << r.err;
  r = RunProcess({ChatkpiBinary(), "statement", "--db", dir + "/db", "--month",
                  "2026-11", "--scheme", "ecom10", "--agent", "shop:a"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(warning), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// A period beside an earlier one (docs/spec.md §6): every figure of both and
// the change of each, worked out by hand.
#include "query/snapshot_compare.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::In;
using testing::Local;
using testing::Out;
using testing::RunEngine;

const absl::CivilDay kNov3(2026, 11, 3);
const absl::CivilDay kNov10(2026, 11, 10);

std::vector<Event> TwoTuesdays() {
  return {
      // 11-03, shop:a: answers of 60 s and 20 s; shop:b: one unanswered.
      In("p1", Local("2026-11-03 10:00:00"), "u1", "shop:a"),
      Out("p2", Local("2026-11-03 10:01:00"), "u1", "shop:a"),
      In("p3", Local("2026-11-03 11:00:00"), "u2", "shop:a"),
      Out("p4", Local("2026-11-03 11:00:20"), "u2", "shop:a"),
      In("p5", Local("2026-11-03 12:00:00"), "u4", "shop:b"),
      // 11-10, shop:a: one answer of 10 s.
      In("c1", Local("2026-11-10 10:00:00"), "u3", "shop:a"),
      Out("c2", Local("2026-11-10 10:00:10"), "u3", "shop:a"),
  };
}

TEST(SnapshotCompare, FiguresBesideTheEarlierPeriodWithTheirChange) {
  const PeriodSnapshot cur =
      RunEngine(TwoTuesdays(), testing::TestRules(), kNov10, kNov10);
  const PeriodSnapshot prev =
      RunEngine(TwoTuesdays(), testing::TestRules(), kNov3, kNov3);
  const std::string json = ComparedSnapshotToJson(cur, prev);
  EXPECT_NE(json.find("{\"from\": \"2026-11-10\", \"to\": \"2026-11-10\", "
                      "\"compare_from\": \"2026-11-03\", \"compare_to\": "
                      "\"2026-11-03\""),
            std::string::npos)
      << json;
  // shop:a now: 1 consultation, 10 s. Before: 2, {20, 60} s, sum 80 000 ms.
  EXPECT_NE(json.find("{\"agent\": \"shop:a\", \"consultations\": 1, "
                      "\"replied\": 1, \"questions\": 1, \"answered\": 1, "
                      "\"unanswered\": 0, \"response_ms_sum\": 10000,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"previous\": {\"consultations\": 2, \"replied\": 2, "
                      "\"questions\": 2, \"answered\": 2, \"unanswered\": 0, "
                      "\"response_ms_sum\": 80000,"),
            std::string::npos)
      << json;
  // Changes: 1 - 2 = -1 ... 10 000 - 80 000 = -70 000; average 10 - 40 =
  // -30 s; median 10 - 20 (rank 1 of {20, 60}) = -10; within 30 s 1/1 - 1/2
  // = 0.5.
  EXPECT_NE(json.find("\"change\": {\"consultations\": -1, \"replied\": -1, "
                      "\"questions\": -1, \"answered\": -1, \"unanswered\": "
                      "0, \"response_ms_sum\": -70000,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"avg_response_s\": -30,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"response_rate_30s\": 0.5,"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"median_response_s\": -10,"), std::string::npos)
      << json;
  // shop:b was active only before: a row of zeros now, the change -1, and
  // no median in either period.
  EXPECT_NE(json.find("{\"agent\": \"shop:b\", \"consultations\": 0,"),
            std::string::npos)
      << json;
  // Team: 1 now, 3 before.
  const size_t team = json.find("\"team\": {\"consultations\": 1,");
  ASSERT_NE(team, std::string::npos) << json;
  EXPECT_NE(json.find("\"change\": {\"consultations\": -2,", team),
            std::string::npos)
      << json;

  const std::string csv =
      ComparedSnapshotToCsv(cur, prev, ColumnLanguage::kChinese);
  EXPECT_EQ(csv.find("\xEF\xBB\xBF客服,期间,咨询人数,"), 0u) << csv;
  EXPECT_NE(csv.find("\r\nshop:a,本期,1,1,1,1,0,10000,"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\r\nshop:a,上期,2,2,2,2,0,80000,"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\r\nshop:a,变化,-1,-1,-1,-1,0,-70000,"),
            std::string::npos)
      << csv;
}

TEST(SnapshotCompare, CommandLine) {
  const std::string dir = testing::TempDir("compare_cli");
  std::string lines;
  for (const Event& e : TwoTuesdays()) {
    lines += absl::StrCat(R"({"type": "chat", "id": ")", e.id, R"(", "ts": )",
                          e.ts_ms, R"(, "buyer": ")", e.buyer,
                          R"(", "agent": ")", e.agent, R"(", "dir": ")",
                          e.inbound ? "in" : "out", "\"}\n");
  }
  testing::WriteFile(dir + "/events.jsonl", lines);
  auto ingest = testing::RunProcess({testing::ChatkpiBinary(), "ingest", "--db",
                                     dir + "/db", dir + "/events.jsonl"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  auto r = testing::RunProcess({testing::ChatkpiBinary(), "snapshot", "--db",
                                dir + "/db", "--from", "2026-11-10", "--to",
                                "2026-11-10", "--compare-from", "2026-11-03",
                                "--compare-to", "2026-11-03"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"change\": {\"consultations\": -1,"),
            std::string::npos)
      << r.out;
  auto half = testing::RunProcess(
      {testing::ChatkpiBinary(), "snapshot", "--db", dir + "/db", "--from",
       "2026-11-10", "--to", "2026-11-10", "--compare-from", "2026-11-03"});
  EXPECT_NE(half.exit_code, 0);
  EXPECT_NE(half.err.find("compare-to"), std::string::npos) << half.err;
  EXPECT_TRUE(half.out.empty()) << half.out;
}

}  // namespace
}  // namespace chatkpi

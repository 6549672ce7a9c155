// `diff` shows the response figures of docs/spec.md §3 beside the counters:
// a store under calendar time against one under service hours, worked out
// by hand.
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "query/diff.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::In;
using testing::Local;
using testing::Out;
using testing::TempDir;

std::unique_ptr<Store> Build(const std::string& dir, const Rules& rules) {
  auto store = Store::Open(dir, StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  {
    auto engine = Engine::Open(rules, store->get());
    EXPECT_TRUE(engine.ok()) << engine.status();
    // Asked 08:30, answered 09:02: 1 920 s of calendar time, 120 s of
    // business time with a 09:00 opening.
    for (const Event& e :
         {In("a1", Local("2026-11-10 08:30:00"), "u1", "a"),
          Out("a2", Local("2026-11-10 09:02:00"), "u1", "a")}) {
      EXPECT_TRUE((*engine)->Apply(e, e.id).ok());
    }
    EXPECT_TRUE((*engine)->Commit().ok());
  }
  return std::move(*store);
}

TEST(ResponseDiff, CalendarAgainstBusinessTime) {
  const std::string dir = TempDir("response_diff");
  auto hours = ParseRules(R"({"version": "hours",
      "service.hours": [["09:00", "21:00"]], "response.thresholds_s": [120]})");
  ASSERT_TRUE(hours.ok()) << hours.status();
  auto a = Build(dir + "/a", testing::TestRules());
  auto b = Build(dir + "/b", *hours);
  DiffRequest req;
  req.from = req.to = absl::CivilDay(2026, 11, 10);
  auto d = ComputeDiff(*a, *b, req);
  ASSERT_TRUE(d.ok()) << d.status();
  const std::string json = DiffToJson(*d);
  // Thresholds of either side: 30, 60, 120, 180. Within 120 s: 0 -> 1.
  EXPECT_NE(json.find("\"answered_within_120s\": {\"a\": 0, \"b\": 1, "
                      "\"change\": 1}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"answered_within_30s\": {\"a\": 0, \"b\": 0, "
                      "\"change\": 0}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"response_rate_180s\": {\"a\": 0, \"b\": 1, "
                      "\"change\": 1}"),
            std::string::npos)
      << json;
  // 120 - 1920 = -1800.
  EXPECT_NE(json.find("\"median_response_s\": {\"a\": 1920, \"b\": 120, "
                      "\"change\": -1800}"),
            std::string::npos)
      << json;
  // Every rule that differs is in the report's rule changes, the service
  // hours and the thresholds among them.
  EXPECT_NE(json.find("{\"rule\": \"response.thresholds_s\", \"a\": "
                      "\"[30, 60, 180]\", \"b\": \"[120]\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"rule\": \"service.hours\", \"a\": \"null\", "
                      "\"b\": \"[[\\\"09:00\\\", \\\"21:00\\\"]]\"}"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("\"rule\": \"service.closed_dates\""), std::string::npos)
      << json;
  const std::string csv = DiffToCsv(*d);
  EXPECT_NE(csv.find("kpi,,a,p90_first_response_s,1920,120,-1800\r\n"),
            std::string::npos)
      << csv;
}

}  // namespace
}  // namespace chatkpi

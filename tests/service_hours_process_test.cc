// Whole-process checks of service hours and response thresholds: a rules
// file sets them for `ingest`, bad ones fail loudly without touching the
// store, and `snapshot` prints the new figures (docs/spec.md §2, §3).
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::Local;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

std::string ChatLine(const std::string& id, const std::string& local_time,
                     const std::string& buyer, const std::string& dir) {
  return absl::StrCat(R"({"type": "chat", "id": ")", id, R"(", "ts": )",
                      Local(local_time), R"(, "buyer": ")", buyer,
                      R"(", "agent": "shop:a", "dir": ")", dir, "\"}\n");
}

std::string Events(const std::string& dir) {
  // Asked 08:30 before the 09:00 opening, answered 09:02: 120 s in business
  // time (1 920 s in calendar time).
  const std::string path = dir + "/events.jsonl";
  WriteFile(path, ChatLine("a1", "2026-11-10 08:30:00", "u1", "in") +
                      ChatLine("a2", "2026-11-10 09:02:00", "u1", "out"));
  return path;
}

testing::ProcessResult Snapshot(const std::string& db,
                                const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {
      ChatkpiBinary(), "snapshot",   "--db", db,
      "--from",        "2026-11-10", "--to", "2026-11-10"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunProcess(argv);
}

TEST(ServiceHoursProcess, RulesFileSetsBusinessTime) {
  const std::string dir = TempDir("hours_proc");
  const std::string rules = dir + "/rules.json";
  WriteFile(rules, R"({"version": "hours",
      "service": {"hours": [["09:00", "21:00"]]},
      "response": {"thresholds_s": [60, 180]}})");
  auto ingest = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db",
                            "--rules", rules, Events(dir)});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  auto json = Snapshot(dir + "/db");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  // One answer of 120 s: not within 60 s, within 180 s; median and p90 120.
  EXPECT_NE(json.out.find("\"response_ms_sum\": 120000"), std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"answered_within_60s\": 0, "
                          "\"answered_within_180s\": 1"),
            std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"median_response_s\": 120, \"p90_response_s\": "
                          "120"),
            std::string::npos)
      << json.out;
  auto csv = Snapshot(dir + "/db", {"--format", "csv", "--lang", "zh"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_NE(csv.out.find("3分钟响应率"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("响应时间中位数(秒)"), std::string::npos) << csv.out;
}

TEST(ServiceHoursProcess, BadRulesFailWithoutTouchingTheStore) {
  const std::string dir = TempDir("hours_bad");
  const std::string rules = dir + "/rules.json";
  WriteFile(rules,
            R"({"version": "bad", "service.hours": [["21:00", "09:00"]]})");
  auto ingest = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db",
                            "--rules", rules, Events(dir)});
  EXPECT_NE(ingest.exit_code, 0);
  EXPECT_NE(ingest.err.find("'service.hours' has a window [\"21:00\", "
                            "\"09:00\"] that does not end after it starts"),
            std::string::npos)
      << ingest.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/db/CURRENT"));
}

TEST(ServiceHoursProcess, DefaultStoreAcceptsRulesStatingTheDefaults) {
  // A store built under the default rules, then fed again with a rules file
  // that spells out the default thresholds: the same rules, accepted, and
  // the figures of calendar time (1 920 s: not within 180 s).
  const std::string dir = TempDir("hours_default");
  const std::string events = Events(dir);
  auto first =
      RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db", events});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string rules = dir + "/rules.json";
  WriteFile(
      rules,
      R"({"version": "default", "response.thresholds_s": [30, 60, 180]})");
  auto again = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db",
                           "--rules", rules, events});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  auto json = Snapshot(dir + "/db");
  EXPECT_NE(json.out.find("\"response_ms_sum\": 1920000"), std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"answered_within_180s\": 0"), std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"median_response_s\": 1920"), std::string::npos)
      << json.out;
}

}  // namespace
}  // namespace chatkpi

// Rules files (SPEC §2): what is accepted, what is refused and with which
// message, and the canonical JSON a store records.
#include "engine/rules.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

void ExpectRefused(const std::string& json, const std::string& words) {
  auto r = ParseRules(json);
  ASSERT_FALSE(r.ok()) << json;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << json;
  EXPECT_NE(std::string(r.status().message()).find(words), std::string::npos)
      << json << " -> " << r.status().message();
}

TEST(Rules, DefaultsAreSpecSection2) {
  auto r = ParseRules(R"({"version": "v1"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, "v1");
  EXPECT_EQ(r->timezone_name, "Asia/Shanghai");
  EXPECT_EQ(r->response_window_s, 3600);
  EXPECT_EQ(r->response_slow_s, 40);
  EXPECT_EQ(r->attribution_window_s, 86400);
  EXPECT_EQ(r->attribution_model, AttributionModel::kLast);
  EXPECT_EQ(r->good_keywords, (std::vector<std::string>{"亲", "您好", "谢谢"}));
  EXPECT_EQ(r->bad_keywords,
            (std::vector<std::string>{"不知道", "自己看", "滚"}));
  auto d = DefaultRules();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->version, "default");
}

TEST(Rules, NestedAndFlatKeysMeanTheSame) {
  auto nested = ParseRules(R"({"version": "v2", "timezone": "UTC",
      "response": {"window_s": 600, "slow_s": 30},
      "attribution": {"window_s": 259200, "model": "first"},
      "service": {"good_keywords": ["好的"], "bad_keywords": []}})");
  auto flat = ParseRules(R"({"version": "v2", "timezone": "UTC",
      "response.window_s": 600, "response.slow_s": 30,
      "attribution.window_s": 259200, "attribution.model": "first",
      "service.good_keywords": ["好的"], "service.bad_keywords": []})");
  ASSERT_TRUE(nested.ok()) << nested.status();
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(nested->ToJson(), flat->ToJson());
  EXPECT_EQ(nested->attribution_model, AttributionModel::kFirst);
  EXPECT_EQ(nested->attribution_window_s, 259200);
  EXPECT_EQ(nested->response_slow_s, 30);
  EXPECT_TRUE(nested->bad_keywords.empty());
}

TEST(Rules, ToJsonRoundTrips) {
  auto r = ParseRules(R"({"version": "quote\"d", "attribution.model": "first",
                          "service.good_keywords": ["a\\b", "亲"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  auto again = ParseRules(r->ToJson());
  ASSERT_TRUE(again.ok()) << again.status() << " " << r->ToJson();
  EXPECT_EQ(again->ToJson(), r->ToJson());
  EXPECT_EQ(again->version, "quote\"d");
  EXPECT_EQ(again->good_keywords[0], "a\\b");
}

TEST(Rules, InvalidRulesAreRefusedWithAClearMessage) {
  ExpectRefused(R"({"version": "v", "respons.window_s": 5})",
                "'respons.window_s' is not a known rule");
  ExpectRefused(R"({"version": "v", "response": {"widow_s": 5}})",
                "'response.widow_s' is not a known rule");
  ExpectRefused(R"({"version": "v", "colour": "red"})", "not a known rule");
  ExpectRefused(R"({"version": "v", "timezone": "Mars/Olympus"})",
                "unknown time zone 'Mars/Olympus'");
  ExpectRefused(R"({"version": "v", "response.window_s": -1})",
                "'response.window_s' must not be negative");
  ExpectRefused(R"({"version": "v", "response": {"slow_s": -40}})",
                "'response.slow_s' must not be negative");
  ExpectRefused(R"({"version": "v", "attribution.window_s": -86400})",
                "'attribution.window_s' must not be negative");
  ExpectRefused(R"({"response.window_s": 60})", "'version' is required");
  ExpectRefused(R"({"version": ""})", "'version' must be a non-empty string");
  ExpectRefused(R"({"version": 2})", "'version' must be a non-empty string");
  ExpectRefused(R"({"version": "v", "attribution.model": "middle"})",
                "must be \"last\" or \"first\"");
  ExpectRefused(R"({"version": "v", "response.slow_s": 1.5})",
                "integer number of seconds");
  ExpectRefused(R"({"version": "v", "service.good_keywords": "亲"})",
                "array of strings");
  ExpectRefused(R"({"version": "v", "service.bad_keywords": [""]})",
                "empty keyword");
  ExpectRefused(R"(["version", "v"])", "JSON object");
  ExpectRefused(R"({"version": "v",)", "not valid JSON");
}

TEST(Rules, FileErrorsNameTheFile) {
  const std::string dir = testing::TempDir("rules");
  auto missing = LoadRulesFile(dir + "/none.json");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("none.json"),
            std::string::npos);
  testing::WriteFile(dir + "/bad.json",
                     R"({"version": "v", "timezone": "Nowhere/Land"})");
  auto bad = LoadRulesFile(dir + "/bad.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("bad.json"),
            std::string::npos)
      << bad.status();
  EXPECT_NE(std::string(bad.status().message()).find("Nowhere/Land"),
            std::string::npos)
      << bad.status();
}

// The CLI refuses a bad rules file before touching the store.
TEST(Rules, CommandsRefuseInvalidRulesFiles) {
  const std::string dir = testing::TempDir("rules_cli");
  testing::WriteFile(dir + "/e.jsonl", "");
  testing::WriteFile(dir + "/neg.json",
                     R"({"version": "v", "attribution": {"window_s": -5}})");
  auto r = testing::RunProcess({testing::ChatkpiBinary(), "ingest", "--db",
                                dir + "/db", "--rules", dir + "/neg.json",
                                dir + "/e.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("must not be negative"), std::string::npos) << r.err;
  ASSERT_EQ(testing::RunProcess({testing::ChatkpiBinary(), "ingest", "--db",
                                 dir + "/db", dir + "/e.jsonl"})
                .exit_code,
            0);
  testing::WriteFile(dir + "/unknown.json",
                     R"({"version": "v", "attribution": {"modle": "first"}})");
  r = testing::RunProcess({testing::ChatkpiBinary(), "replay", "--db",
                           dir + "/db", "--rules", dir + "/unknown.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'attribution.modle' is not a known rule"),
            std::string::npos)
      << r.err;
  // Nothing happened to the store: still a plain directory.
  EXPECT_FALSE(std::filesystem::is_symlink(dir + "/db"));
}

}  // namespace
}  // namespace chatkpi

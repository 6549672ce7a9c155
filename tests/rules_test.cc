// Rules files (docs/spec.md §2): what is accepted, what is refused and with
// which message, and the canonical JSON a store records.
#include "engine/rules.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "store/store.h"
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

TEST(Rules, ControlCharactersInKeywordsUseTheJsonWritersEscapes) {
  auto r = ParseRules(
      R"({"version": "v1", "service.good_keywords": ["a\tb", "c\nd\u0001"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->ToJson().find(R"("good_keywords": ["a\tb", "c\nd\u0001"])"),
            std::string::npos)
      << r->ToJson();
}

TEST(Rules, StoreWithOlderEscapesOfTheSameRulesOpens) {
  // An older build wrote every control character of a keyword as \u00xx;
  // the stored text differs from today's canonical text but states the
  // same rules, so the engine opens. Other rules are still refused.
  auto r =
      ParseRules(R"({"version": "v1", "service.good_keywords": ["a\tb"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  std::string old_text = r->ToJson();
  const size_t tab = old_text.find(R"(a\tb)");
  ASSERT_NE(tab, std::string::npos) << old_text;
  old_text.replace(tab, 4, R"(a\u0009b)");
  const std::string dir = testing::TempDir("rules_older_escapes");
  {
    auto store = Store::Open(dir + "/db", StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    Commit c(store->get());
    c.Put(Family::kMeta, kMetaRules, old_text);
    ASSERT_TRUE((*store)->Write(&c).ok());
  }
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  auto engine = Engine::Open(*r, store->get());
  ASSERT_TRUE(engine.ok()) << engine.status();
  engine->reset();
  auto other =
      ParseRules(R"({"version": "v1", "service.good_keywords": ["ab"]})");
  ASSERT_TRUE(other.ok()) << other.status();
  auto refused = Engine::Open(*other, store->get());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("other rules"),
            std::string::npos)
      << refused.status();
}

TEST(Rules, InvalidRulesAreRefusedWithAClearMessage) {
  ExpectRefused(R"({"version": "v", "respons.window_s": 5})",
                "'respons.window_s' is not a known rule");
  ExpectRefused(R"({"version": "v", "response": {"widow_s": 5}})",
                "'response.widow_s' is not a known rule");
  ExpectRefused(R"({"version": "v", "colour": "red"})", "not a known rule");
  ExpectRefused(R"({"version": "v", "timezone": "Mars/Olympus"})",
                "unknown time zone 'Mars/Olympus'");
  // Names absl would load as files, or as this machine's zone: the same
  // rules text would give other numbers on another machine. Refused in a
  // rules file; a store that recorded one before still opens.
  const std::string dir = testing::TempDir("rules_zones");
  auto load = [&](const char* zone) {
    testing::WriteFile(
        dir + "/r.json",
        absl::StrCat(R"({"version": "v", "timezone": ")", zone, R"("})"));
    return LoadRulesFile(dir + "/r.json");
  };
  for (const char* zone :
       {"/usr/share/zoneinfo/Asia/Tokyo", "localtime", "posixrules",
        "Asia/../Asia/Tokyo", "Asia//Tokyo", "UTC\\u0000Asia"}) {
    auto r = load(zone);
    ASSERT_FALSE(r.ok()) << zone;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << zone;
    EXPECT_NE(
        r.status().message().find("is not a zone name of the tz database"),
        std::string::npos)
        << zone << ": " << r.status();
  }
  // What a store recorded is read as it is.
  EXPECT_TRUE(ParseRules(R"({"version": "v", "timezone": "localtime"})").ok());
  for (const char* zone : {"UTC", "Etc/GMT-8", "America/Port-au-Prince",
                           "America/Argentina/Buenos_Aires", "EST5EDT"}) {
    auto r = load(zone);
    EXPECT_TRUE(r.ok()) << zone << ": " << r.status();
  }
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
  // "default" names the built-in rules: other rules may not take it, even
  // for a new store (its figures would be labelled as the defaults').
  testing::WriteFile(
      dir + "/default_hours.json",
      R"({"version": "default", "service": {"hours": [["09:00", "18:00"]]}})");
  r = testing::RunProcess({testing::ChatkpiBinary(), "ingest", "--db",
                           dir + "/db", "--rules", dir + "/default_hours.json",
                           dir + "/e.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("version 'default' names the built-in rules"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/db"));
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

// Windows become milliseconds added to event times: the bound (366 days)
// keeps every such sum inside int64. 366 * 86400 = 31 622 400.
TEST(Rules, ValuesOutsideTheirBoundsAreRefused) {
  // 30 days = 2,592,000 s for the response windows, 366 days = 31,622,400 s
  // for attribution.
  auto max = ParseRules(R"({"version": "v", "response.window_s": 2592000,
      "response.slow_s": 2592000, "attribution.window_s": 31622400})");
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->attribution_window_s, 31622400);
  ExpectRefused(R"({"version": "v", "response.window_s": 2592001})",
                "'response.window_s' must be at most 2592000");
  ExpectRefused(R"({"version": "v", "attribution.window_s": 9300000000000000})",
                "'attribution.window_s' must be at most 31622400");
  ExpectRefused(
      R"({"version": "v", "response": {"slow_s": 9223372036854775807}})",
      "'response.slow_s' must be at most 2592000");
  ExpectRefused(
      absl::StrCat(R"({"version": ")", std::string(129, 'x'), R"("})"),
      "'version' must be at most 128 bytes");
  ExpectRefused(R"({"version": "a\nb"})", "control characters");
  ExpectRefused(absl::StrCat(R"({"version": "v", "service.good_keywords": [")",
                             std::string(257, 'k'), R"("]})"),
                "keyword over 256 bytes");
}

TEST(Rules, KeysGivenTwiceAreRefused) {
  ExpectRefused(
      R"({"version": "v", "response.slow_s": 30, "response": {"slow_s": 20}})",
      "'response.slow_s' is given more than once");
  ExpectRefused(
      R"({"version": "v", "response": {"slow_s": 20}, "response.slow_s": 30})",
      "'response.slow_s' is given more than once");
  ExpectRefused(R"({"version": "v", "attribution.model": "first",
                    "attribution.model": "last"})",
                "'attribution.model' is given more than once");
  ExpectRefused(R"({"version": "v", "version": "w"})",
                "'version' is given more than once");
  ExpectRefused(R"({"version": "v", "service": {"good_keywords": []},
                    "service": {"bad_keywords": []}})",
                "'service' is given more than once");
  // Different keys of one group, flat and nested: fine.
  auto mixed = ParseRules(
      R"({"version": "v", "response.slow_s": 30, "response": {"window_s": 60}})");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(mixed->response_slow_s, 30);
  EXPECT_EQ(mixed->response_window_s, 60);
}

TEST(Rules, ByteOrderMarkIsAccepted) {
  auto r =
      ParseRules("\xEF\xBB\xBF{\"version\": \"bom\", \"response.slow_s\": 30}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, "bom");
  EXPECT_EQ(r->response_slow_s, 30);
}

TEST(Rules, SyntaxErrorsNameLineAndColumn) {
  // The trailing comma leaves '}' at line 4, column 1 where a key belongs.
  ExpectRefused("{\n  \"version\": \"v\",\n  \"response.slow_s\": 30,\n}",
                "line 4, column 1: expected a quoted key");
  // Line 2 `  "version" "v"`: the second quote is column 13.
  ExpectRefused("{\n  \"version\" \"v\"}", "line 2, column 13: expected ':'");
  ExpectRefused("{\"version\": \"v\"",
                "line 1, column 16: expected ',' or '}'");
  ExpectRefused("\xEF\xBB\xBF{\"version\": tru}",
                "line 1, column 13: expected a value");
}

// A rules change without stopping the file pipeline (docs/replay.md): after
// a replay, `ingest` with no --rules goes on under the live rules; a version
// string never comes to name other rules.
TEST(Rules, LifecycleAcrossAReplay) {
  const std::string dir = testing::TempDir("rules_lifecycle");
  const std::string bin = testing::ChatkpiBinary();
  const std::string db = dir + "/db";
  testing::WriteFile(
      dir + "/a.jsonl",
      R"({"type":"chat","id":"m1","ts":1764547200000,"buyer":"b1","agent":"shop:a1","dir":"in","text":"在吗"})"
      "\n");
  testing::WriteFile(
      dir + "/b.jsonl",
      R"({"type":"chat","id":"m2","ts":1764547210000,"buyer":"b1","agent":"shop:a1","dir":"out","text":"亲 在的"})"
      "\n");
  testing::WriteFile(dir + "/slow30.json",
                     R"({"version": "slow30", "response": {"slow_s": 30}})");
  testing::WriteFile(dir + "/slow30b.json",
                     R"({"version": "slow30", "response": {"slow_s": 20}})");
  testing::WriteFile(dir + "/default25.json",
                     R"({"version": "default", "response": {"slow_s": 25}})");
  auto r = testing::RunProcess({bin, "ingest", "--db", db, dir + "/a.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::RunProcess(
      {bin, "replay", "--quiet", "--db", db, "--rules", dir + "/slow30.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // No --rules: the store's live rules (slow30), not a refusal.
  r = testing::RunProcess({bin, "ingest", "--db", db, dir + "/b.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(" 1 new events"), std::string::npos) << r.err;
  r = testing::RunProcess({bin, "stats", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"events\": 2,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"rules\": {\"version\": \"slow30\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"slow_s\": 30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"earlier_rules_versions\": [\"default\"]"),
            std::string::npos)
      << r.out;
  // "slow30" is the live version; "default" an earlier one: neither may
  // name other rules now ("default" never may: it names the built-in
  // rules). Both refusals leave the store as it was.
  for (const auto& [file, why] :
       {std::pair{"/slow30b.json", "already names other rules"},
        std::pair{"/default25.json",
                  "version 'default' names the built-in rules"}}) {
    r = testing::RunProcess(
        {bin, "replay", "--quiet", "--db", db, "--rules", dir + file});
    EXPECT_EQ(r.exit_code, 2) << file << " " << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
  r = testing::RunProcess({bin, "stats", "--db", db});
  EXPECT_NE(r.out.find("\"rules\": {\"version\": \"slow30\""),
            std::string::npos)
      << r.out;
  // The same content under its own version may be replayed again.
  r = testing::RunProcess(
      {bin, "replay", "--quiet", "--db", db, "--rules", dir + "/slow30.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// Pure parts of the Kafka path: routing events to topics and keys, Kafka
// property lists, owned-shard records.
#include <filesystem>
#include <fstream>

#include "engine/owned_shards.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/kafka_config.h"
#include "ingest/kafka_router.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/kafka_flags.h"

namespace chatkpi {
namespace {

TEST(KafkaRouter, RoutesByTypeAndKeysByBuyer) {
  EventRouter r;
  EventRoute a =
      r.Route(R"({"type":"chat","id":"1","buyer":"买家_小明","agent":"s:a"})");
  EXPECT_EQ(a.topic, EventTopic::kChat);
  EXPECT_EQ(a.key, "买家_小明");
  EventRoute b = r.Route(R"({"buyer":"u2","type":"order","status":"paid"})");
  EXPECT_EQ(b.topic, EventTopic::kOrder);
  EXPECT_EQ(b.key, "u2");
  EventRoute c =
      r.Route(R"({"type":"assessment","agent":"shop:x","buyer":"no"})");
  EXPECT_EQ(c.topic, EventTopic::kOrder);
  EXPECT_EQ(c.key, "shop:x");
}

TEST(KafkaRouter, UnroutableGoesToChatUnderEmptyKey) {
  EventRouter r;
  for (const char* bad :
       {"", "not json", "{\"type\":\"chat\",\"buyer\":\"u1\"", "[1,2]",
        "{\"type\":\"refund\",\"buyer\":\"u1\"}", "{\"buyer\":\"u1\"}",
        "{\"type\":7,\"buyer\":\"u1\"}"}) {
    EventRoute route = r.Route(bad);
    EXPECT_EQ(route.topic, EventTopic::kChat) << bad;
    EXPECT_EQ(route.key, "") << bad;
  }
  // A known type keeps its topic even when its key is unusable.
  EventRoute o = r.Route(R"({"type":"order","buyer":5})");
  EXPECT_EQ(o.topic, EventTopic::kOrder);
  EXPECT_EQ(o.key, "");
  // Long lines reuse and grow the buffer.
  std::string long_text(100000, 'x');
  EventRoute l = r.Route(absl::StrCat(R"({"type":"chat","buyer":"u9","text":")",
                                      long_text, "\"}"));
  EXPECT_EQ(l.key, "u9");
  EXPECT_EQ(r.Route(R"({"type":"chat","buyer":"u1"})").key, "u1");
}

TEST(KafkaConfig, ParsesPropertyLists) {
  auto p = ParseKafkaProperties(
      "security.protocol=SASL_SSL, sasl.mechanism = PLAIN");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0], std::make_pair(std::string("security.protocol"),
                                    std::string("SASL_SSL")));
  EXPECT_EQ((*p)[1].second, "PLAIN");
  EXPECT_TRUE(ParseKafkaProperties("")->empty());
  EXPECT_FALSE(ParseKafkaProperties("novalue").ok());
  EXPECT_FALSE(ParseKafkaProperties("=x").ok());
}

TEST(KafkaOwnedShards, PositionsAndRecords) {
  EXPECT_EQ(KafkaPositionShard("chat/3/1234"), 3u);
  EXPECT_EQ(KafkaPositionShard("orders.v2/11/0"), 11u);
  EXPECT_EQ(KafkaPositionShard("/data/2026/11:7"), std::nullopt);
  EXPECT_EQ(KafkaPositionShard("/tmp/a/1/2:5"), std::nullopt);
  EXPECT_EQ(KafkaPositionShard("events.jsonl:12"), std::nullopt);
  EXPECT_EQ(KafkaPositionShard("chat/x/1"), std::nullopt);

  const std::string dir = testing::TempDir("owned");
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok());
  auto none = ReadOwnedShards(**store);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  Commit c(store->get());
  PutOwnedShards(&c, {5, 1, 5, 0});
  ASSERT_TRUE((*store)->Write(&c).ok());
  auto owned = ReadOwnedShards(**store);
  ASSERT_TRUE(owned.ok());
  EXPECT_EQ(**owned, (std::vector<uint32_t>{0, 1, 5}));
  Commit e(store->get());
  PutOwnedShards(&e, {});
  ASSERT_TRUE((*store)->Write(&e).ok());
  EXPECT_EQ(**ReadOwnedShards(**store), std::vector<uint32_t>{});
  store->reset();
  std::filesystem::remove_all(dir);
}

// The flags of `run` that a config file may set in these tests.
std::vector<FlagSpec> RunFileFlags() {
  std::vector<FlagSpec> flags = KafkaRunFlagSpecs();
  flags.push_back({"db", "DIR", ""});
  flags.push_back({"until-caught-up", "", ""});
  flags.push_back({"config", "FILE", ""});
  return flags;
}

absl::StatusOr<ExpandedArgs> Expand(std::vector<std::string> cli) {
  std::vector<char*> argv;
  for (std::string& a : cli) argv.push_back(a.data());
  return ExpandConfigFile(static_cast<int>(argv.size()), argv.data(),
                          RunFileFlags());
}

// The old syntax, read for one release with a warning.
TEST(KafkaFlags, ConfigFileStandsForFlagsThatTheCommandLineOverrides) {
  const std::string dir = testing::TempDir("kafka_flags");
  const std::string config = dir + "/run.conf";
  {
    std::ofstream out(config);
    out << "# production\n"
           "brokers = k1:9092,k2:9092\n"
           "group = kpi\n"
           "until-caught-up\n"
           "commit-ms = 500\n"
           "kafka.sasl.jaas.config = a=b, c=d\n"
           "dlq-topic = false\n";
  }
  std::vector<std::string> cli = {"--config", config, "--group", "override"};
  auto expanded = Expand(cli);
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_THAT(expanded->warning,
              ::testing::HasSubstr("run.conf is in the old config syntax"));
  ASSERT_EQ(expanded->properties.size(), 1u);
  EXPECT_EQ(expanded->properties[0].first, "sasl.jaas.config");
  EXPECT_EQ(expanded->properties[0].second, "a=b, c=d");
  std::vector<char*> args_v = expanded->argv();
  std::set<std::string> valued = KafkaRunFlags();
  valued.insert("db");
  auto args = Args::Parse(static_cast<int>(args_v.size()), args_v.data(),
                          valued, {"until-caught-up"}, expanded->from_config);
  ASSERT_TRUE(args.ok()) << args.status();
  KafkaIngestOptions o;
  ASSERT_TRUE(KafkaIngestOptionsFromArgs(*args, *args->Get("brokers"),
                                         expanded->properties, &o)
                  .ok());
  EXPECT_EQ(o.consumer.client.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(o.consumer.group, "override");
  EXPECT_TRUE(o.until_caught_up);
  EXPECT_EQ(o.commit_interval, absl::Milliseconds(500));
  EXPECT_EQ(o.dlq_topic, "");
  EXPECT_EQ(o.consumer.client.properties.size(), 1u);

  EXPECT_FALSE(Expand({"--config", dir + "/missing.conf"}).ok());
  std::filesystem::remove_all(dir);
}

TEST(KafkaFlags, TomlConfigFileGivesTheSameSettings) {
  const std::string dir = testing::TempDir("kafka_flags_toml");
  const std::string config = dir + "/run.toml";
  {
    std::ofstream out(config);
    out << "# production\n"
           "brokers = \"k1:9092,k2:9092\"  # bootstrap\n"
           "group = \"kpi\"\n"
           "until-caught-up = true\n"
           "commit-ms = 500\n"
           "\n[kafka]\n"
           "sasl.jaas.config = \"a=b, c=d\"\n"
           "\"security.protocol\" = \"SASL_SSL\"\n"
           "enable.idempotence = false\n";
  }
  auto expanded = Expand({"--config", config, "--group", "override"});
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(expanded->warning, "");
  EXPECT_EQ(expanded->args,
            (std::vector<std::string>{
                "--brokers=k1:9092,k2:9092", "--group=kpi", "--until-caught-up",
                "--commit-ms=500", "--group", "override"}));
  EXPECT_EQ(expanded->from_config, 4);
  EXPECT_EQ(expanded->properties,
            (KafkaProperties{{"sasl.jaas.config", "a=b, c=d"},
                             {"security.protocol", "SASL_SSL"},
                             {"enable.idempotence", "false"}}));
  std::filesystem::remove_all(dir);
}

TEST(KafkaFlags, ConvertOldConfigToToml) {
  const std::string old =
      "# production\n"
      "brokers = k1:9092,k2:9092\n"
      "# the SASL login\n"
      "kafka.sasl.jaas.config = a=b, c=d\n"
      "until-caught-up\n"
      "commit-ms = 500\n"
      "dlq-topic = false\n"
      "group = \"quoted\"\n";
  auto toml = ConvertOldRunConfigToToml(old, "run.conf", RunFileFlags());
  ASSERT_TRUE(toml.ok()) << toml.status();
  EXPECT_EQ(*toml,
            "# production\n"
            "brokers = \"k1:9092,k2:9092\"\n"
            "until-caught-up = true\n"
            "commit-ms = 500\n"
            "# dlq-topic = (not given)\n"
            "group = \"\\\"quoted\\\"\"\n"
            "\n[kafka]\n"
            "# the SASL login\n"
            "\"sasl.jaas.config\" = \"a=b, c=d\"\n");
  // Both files stand for the same flags and properties.
  const std::string dir = testing::TempDir("kafka_flags_convert");
  testing::WriteFile(dir + "/run.conf", old);
  testing::WriteFile(dir + "/run.toml", *toml);
  auto a = Expand({"--config", dir + "/run.conf"});
  auto b = Expand({"--config", dir + "/run.toml"});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->args, b->args);
  EXPECT_EQ(a->properties, b->properties);
  EXPECT_EQ(b->warning, "");
  // Refused: an unknown name (the old syntax would fail at the flags too),
  // and a file that is TOML already.
  EXPECT_EQ(ConvertOldRunConfigToToml("grup = g\n", "run.conf", RunFileFlags())
                .status()
                .message(),
            "run.conf:1: unknown setting 'grup'");
  EXPECT_FALSE(
      ConvertOldRunConfigToToml(*toml, "run.conf", RunFileFlags()).ok());
  std::filesystem::remove_all(dir);
}

TEST(KafkaFlags, TomlConfigMistakesNameFileLineAndColumn) {
  const std::string dir = testing::TempDir("kafka_flags_errors");
  auto error = [&](const std::string& name, const std::string& text) {
    testing::WriteFile(dir + "/" + name, text);
    auto e = Expand({"--config", dir + "/" + name});
    EXPECT_FALSE(e.ok()) << text;
    return std::string(e.status().message());
  };
  const std::string at = dir + "/run.toml:";
  EXPECT_EQ(error("run.toml", "group = \"g\"\ncomit-ms = 5\n"),
            at + "2:1: unknown setting 'comit-ms' (a flag of the command "
                 "without --, or a [kafka] property)");
  EXPECT_EQ(error("run.toml", "until-caught-up = \"yes\"\n"),
            at + "1:19: 'until-caught-up' is a switch: true or false");
  EXPECT_EQ(error("run.toml", "group = true\n"),
            at + "1:9: 'group' takes a G, not true or false");
  EXPECT_EQ(error("run.toml", "group = [\"a\"]\n"),
            at + "1:1: 'group' takes one value, not an array");
  EXPECT_EQ(error("run.toml", "[kafak]\nx = 1\n"),
            at + "1:1: unknown table [kafak]: the file has flags and a "
                 "[kafka] table");
  EXPECT_EQ(error("run.toml", "config = \"other.toml\"\n"),
            at + "1:1: unknown setting 'config' (a flag of the command "
                 "without --, or a [kafka] property)");
  EXPECT_THAT(error("run.toml", "group = \"a\"\ngroup = \"b\"\n"),
              ::testing::StartsWith(at + "2:"));
  // Unquoted text is a TOML error in a *.toml file, not the old syntax.
  EXPECT_THAT(error("run.toml", "group = kpi\n"),
              ::testing::StartsWith(at + "1:9: "));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

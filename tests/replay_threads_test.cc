// Replay on several threads (docs/replay.md, "Threads"): a store of file
// shards (taken in by `ingest --threads`, with conflicting copies whose
// buyers fall in other shards), a store of one shard and a store fed by
// Kafka-style shards are replayed under new rules with 1, 2 and 4 threads,
// one replay after the other, and after each the store holds exactly the
// batch reference model's numbers under the new rules.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/file_shards.h"
#include "engine/local_day.h"
#include "engine/meta.h"
#include "engine/replay.h"
#include "engine/rules.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "query/snapshot.h"
#include "store/stable_hash.h"
#include "store/store.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::TempDir;

const absl::CivilDay kFrom(2026, 10, 30);
const absl::CivilDay kTo(2026, 12, 2);

// One rule set per thread count, each changing what every event counts.
const char* const kNewRules[] = {
    R"({"version": "t1", "attribution": {"window_s": 259200, "model": "first"}})",
    R"({"version": "t2", "response": {"slow_s": 30}, "service": {"good_keywords": ["有的"]}})",
    R"({"version": "t4", "timezone": "UTC", "response": {"window_s": 600}, "attribution": {"window_s": 3600}})",
};
const int kThreads[] = {1, 2, 4};

std::vector<std::string> Generate(uint64_t seed, double malformed) {
  GeneratorOptions opts;
  opts.seed = seed;
  opts.agents = 3 + seed % 4;
  opts.buyers = 40 + (seed * 7) % 40;
  opts.shuffle = true;
  opts.duplicate_rate = 0.05;
  opts.malformed_rate = malformed;
  opts.assessments = true;
  auto generated = GenerateJsonl(opts);
  EXPECT_TRUE(generated.ok()) << generated.status();
  return generated.ok() ? *generated : std::vector<std::string>();
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines,
                size_t from, size_t to, bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  for (size_t i = from; i < to; ++i) out << lines[i] << "\n";
}

// Takes in `path` (resuming after what an earlier run took) on `threads`.
absl::Status IngestWith(const std::string& db, const std::string& path,
                        const Rules& rules, int threads,
                        FileIngestReport* report) {
  auto store = Store::Open(db, StoreOptions());
  if (!store.ok()) return store.status();
  auto engine = Engine::Open(rules, store->get());
  if (!engine.ok()) return engine.status();
  FileIngestOptions opts;
  opts.threads = threads;
  opts.commit_every = 997;
  return IngestFiles(**engine, {path}, opts, report);
}

// The store at `db` holds the reference model's numbers of `events` under
// `rules`, and `dead_letters`.
void ExpectReference(const std::string& db, const std::vector<Event>& events,
                     const Rules& rules, int64_t dead_letters) {
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto got = ReadSnapshot(**store, kFrom, kTo);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rules_version, rules.version);
  testing::ExpectSameAsReference(
      *got, ReferenceSnapshot(ReferenceWinners(events), rules, DayNumber(kFrom),
                              DayNumber(kTo)));
  EXPECT_EQ(got->dead_letters, dead_letters);
}

// Replays `db` under each rule set of kNewRules with its thread count, and
// checks the store against the reference model of `events` after each.
void ReplayAndCheck(const std::string& db, const std::vector<Event>& events,
                    int64_t dead_letters) {
  for (size_t i = 0; i < std::size(kThreads); ++i) {
    SCOPED_TRACE(absl::StrCat(kThreads[i], " threads"));
    auto rules = ParseRules(kNewRules[i]);
    ASSERT_TRUE(rules.ok()) << rules.status();
    ReplayOptions opts;
    opts.threads = kThreads[i];
    // Small commits: many of them, each shard's interleaved with others'.
    opts.commit_every = 331;
    opts.retire_wait = absl::ZeroDuration();
    auto report = Replay(db, *rules, opts);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->new_version, rules->version);

    ExpectReference(db, events, *rules, dead_letters);
  }
}

class ReplayThreadsTest : public ::testing::TestWithParam<uint64_t> {};

// A store of 8 file shards, its input with conflicting copies: chats under
// an id seen before, with the buyer of another chat (mostly of another
// shard) and a ts a second earlier (the copy wins: the held copy is
// retracted from its shard) or later (it loses).
TEST_P(ReplayThreadsTest, FileShardedStoreMatchesReference) {
  const uint64_t seed = GetParam();
  std::vector<std::string> lines = Generate(seed, 0.01);
  ASSERT_FALSE(lines.empty());
  static const std::regex kChat(
      R"re(^(\{"type":"chat","id":"[^"]*","ts":)(\d+)(,"buyer":")([^"]*)(".*)$)re");
  std::vector<std::smatch> chats;
  std::vector<std::string> buyers;
  for (const std::string& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, kChat)) {
      chats.push_back(m);
      buyers.push_back(m[4].str());
    }
  }
  ASSERT_GT(chats.size(), 100u) << lines[0];
  std::mt19937_64 rng(seed);
  std::vector<std::string> copies;
  for (size_t i = 0; i < chats.size() / 20; ++i) {
    const std::smatch& m =
        chats[std::uniform_int_distribution<size_t>(0, chats.size() - 1)(rng)];
    const int64_t ts = std::stoll(m[2].str()) + (i % 2 == 0 ? -1000 : 1000);
    copies.push_back(absl::StrCat(m[1].str(), ts, m[3].str(),
                                  buyers[std::uniform_int_distribution<size_t>(
                                      0, buyers.size() - 1)(rng)],
                                  m[5].str()));
  }
  for (const std::string& copy : copies) {
    lines.insert(lines.begin() + std::uniform_int_distribution<size_t>(
                                     0, lines.size())(rng),
                 copy);
  }

  const std::string dir = TempDir(absl::StrCat("replay_threads_file", seed));
  // Two thirds are taken in and replayed; the rest is appended afterwards
  // and taken in by the last generation.
  const std::string file = dir + "/events.jsonl";
  const size_t part = lines.size() * 2 / 3;
  WriteLines(file, lines, 0, part, false);
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  ASSERT_GT(ReferenceConflicts(events), 0);

  const std::string db = dir + "/db";
  FileIngestReport report;
  ASSERT_TRUE(IngestWith(db, file, testing::TestRules(), 2, &report).ok());
  ASSERT_EQ(report.shards, kFileShardsOfParallelStore);
  ReplayAndCheck(db, events, bad);

  // The last generation has the store's file shards, each buyer's state in
  // its shard: one thread resumes the grown file after the lines taken in,
  // and the store holds the reference numbers of the whole file.
  WriteLines(file, lines, part, lines.size(), true);
  int64_t all_bad = 0;
  const std::vector<Event> all = testing::ParseJsonlFile(file, &all_bad);
  auto rules = ParseRules(kNewRules[std::size(kNewRules) - 1]);
  ASSERT_TRUE(rules.ok());
  FileIngestReport again;
  ASSERT_TRUE(IngestWith(db, file, *rules, 1, &again).ok());
  EXPECT_EQ(again.shards, kFileShardsOfParallelStore);
  EXPECT_EQ(again.skipped_lines, static_cast<int64_t>(part));
  ExpectReference(db, all, *rules, all_bad);
  std::filesystem::remove_all(dir);
}

// A store of one shard (`ingest` on one thread): its engine applies on a
// worker while the reading thread parses.
TEST_P(ReplayThreadsTest, OneShardStoreMatchesReference) {
  const uint64_t seed = GetParam();
  const std::vector<std::string> lines = Generate(seed + 200, 0.01);
  ASSERT_FALSE(lines.empty());
  const std::string dir = TempDir(absl::StrCat("replay_threads_one", seed));
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, lines, 0, lines.size(), false);
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  const std::string db = dir + "/db";
  FileIngestReport report;
  ASSERT_TRUE(IngestWith(db, file, testing::TestRules(), 1, &report).ok());
  ASSERT_EQ(report.shards, 1u);
  ReplayAndCheck(db, events, bad);
  std::filesystem::remove_all(dir);
}

// A store fed by three Kafka-style shards (buyer b on shard hash(b) % 3 +
// 1, an assessment by its agent; shard 0 unused), each engine committing in
// turns as a Kafka member does.
TEST_P(ReplayThreadsTest, KafkaShardedStoreMatchesReference) {
  const uint64_t seed = GetParam();
  const std::vector<std::string> lines = Generate(seed + 100, 0);
  ASSERT_FALSE(lines.empty());
  const std::string dir = TempDir(absl::StrCat("replay_threads_kafka", seed));
  const std::string db = dir + "/db";
  std::vector<Event> events;
  {
    auto store = Store::Open(db, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    std::map<uint32_t, std::unique_ptr<Engine>> engines;
    EventParser parser;
    Event e;
    int n = 0;
    for (const std::string& line : lines) {
      ASSERT_TRUE(parser.Parse(line, &e).ok()) << line;
      events.push_back(e);
      const std::string& key =
          e.type == EventType::kAssessment ? e.agent : e.buyer;
      const uint32_t shard = static_cast<uint32_t>(StableHash(key) % 3 + 1);
      auto& engine = engines[shard];
      if (engine == nullptr) {
        EngineOptions eo;
        eo.shard = shard;
        auto opened = Engine::Open(testing::TestRules(), store->get(), eo);
        ASSERT_TRUE(opened.ok()) << opened.status();
        engine = std::move(*opened);
      }
      ASSERT_TRUE(engine->Apply(e, line).ok());
      if (++n % 97 == 0) {
        for (auto& [s, en] : engines) ASSERT_TRUE(en->Commit().ok());
      }
    }
    for (auto& [s, en] : engines) ASSERT_TRUE(en->Commit().ok());
    ASSERT_EQ(engines.size(), 3u);
  }
  ReplayAndCheck(db, events, 0);
  // Each event stayed in its shard: rows of shards 1, 2 and 3 only.
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  std::set<uint32_t> shards;
  ASSERT_TRUE((*store)
                  ->Scan(Family::kAggregates, "", "",
                         [&](std::string_view k, std::string_view) {
                           uint32_t shard;
                           int32_t day;
                           std::string agent;
                           EXPECT_TRUE(
                               ParseAggregateKey(k, &shard, &day, &agent));
                           shards.insert(shard);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(shards, (std::set<uint32_t>{1, 2, 3}));
  std::filesystem::remove_all(dir);
}

// A store of file shards that Kafka partitions also fed: file shards are
// numbered by buyer, Kafka's by partition, so which engine applied an event
// cannot be told. Replay refuses it and changes nothing.
TEST(ReplayThreads, FileShardsFedByKafkaTooAreRefused) {
  const std::string dir = TempDir("replay_threads_mixed");
  const std::vector<std::string> lines = Generate(7, 0);
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, lines, 0, lines.size(), false);
  const std::string db = dir + "/db";
  FileIngestReport report;
  ASSERT_TRUE(IngestWith(db, file, testing::TestRules(), 2, &report).ok());
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  ExpectReference(db, events, testing::TestRules(), 0);
  {
    auto store = Store::Open(db, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    Commit c(store->get());
    c.Put(Family::kMeta, kMetaOwnedShards, "1");
    ASSERT_TRUE((*store)->Write(&c).ok());
  }
  auto rules = ParseRules(kNewRules[0]);
  ASSERT_TRUE(rules.ok());
  ReplayOptions opts;
  opts.threads = 2;
  auto replayed = Replay(db, *rules, opts);
  ASSERT_FALSE(replayed.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(replayed.status()))
      << replayed.status();
  EXPECT_NE(replayed.status().message().find("fed by Kafka partitions"),
            std::string::npos)
      << replayed.status();
  // The live generation is as it was (its rules), and the new one is gone.
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto got = ReadSnapshot(**store, kFrom, kTo);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rules_version, "default");
  EXPECT_EQ((*store)->next_seq(), static_cast<uint64_t>(report.accepted));
  int generations = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(db + ".generations")) {
    generations += e.is_directory() && e.path().filename().string()[0] != '.';
  }
  EXPECT_EQ(generations, 1);
  std::filesystem::remove_all(dir);
}

// The commits a replay of `db` under `rules` wrote to the new generation,
// with commits due only by the states' budget, which is `budget` bytes; the
// store then holds the reference model's numbers of `events`.
uint64_t ReplayWithBudget(const std::string& db, const char* rules_text,
                          size_t budget, int threads,
                          const std::vector<Event>& events) {
  auto rules = ParseRules(rules_text);
  EXPECT_TRUE(rules.ok()) << rules.status();
  if (!rules.ok()) return 0;
  ReplayOptions opts;
  opts.threads = threads;
  opts.commit_every = size_t{1} << 40;
  opts.live_state_budget_bytes = budget;
  opts.retire_wait = absl::ZeroDuration();
  auto report = Replay(db, *rules, opts);
  EXPECT_TRUE(report.ok()) << report.status();
  ExpectReference(db, events, *rules, 0);
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? (*store)->commits() : 0;
}

// A replay's engines commit once their states pass the live-state budget,
// as ingest's do, whatever --commit-every says: its memory stays bounded.
// With the default budget this small month is one commit of the rebuild;
// with a budget of one byte, a commit at least every few batches.
TEST(ReplayStateBudget, CommitsOnceTheStatesPassTheBudget) {
  const std::vector<std::string> lines = Generate(5, 0);
  const std::string dir = TempDir("replay_state_budget");
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, lines, 0, lines.size(), false);
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  ASSERT_EQ(bad, 0);
  for (int threads : {1, 2}) {
    SCOPED_TRACE(absl::StrCat(threads, " ingest and replay threads"));
    const std::string db = absl::StrCat(dir, "/db", threads);
    FileIngestReport report;
    ASSERT_TRUE(
        IngestWith(db, file, testing::TestRules(), threads, &report).ok());
    const uint64_t roomy = ReplayWithBudget(
        db, kNewRules[0], kDefaultLiveStateBudgetBytes, threads, events);
    const uint64_t tight =
        ReplayWithBudget(db, kNewRules[1], 1, threads, events);
    EXPECT_GE(tight, roomy + 10) << "roomy " << roomy;
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReplayThreadsTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace chatkpi

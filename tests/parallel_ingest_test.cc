// File ingest on several threads (engine/file_shards.h, docs/engine.md
// "Parallel ingest"): generated files with redeliveries, conflicting copies
// whose buyers fall in other shards, and malformed lines, taken in with 1, 2
// and 4 threads, in one run or resumed with another thread count, all give
// the batch reference model's numbers.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/file_shards.h"
#include "engine/local_day.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::TempDir;
using testing::TestRules;

const absl::CivilDay kFrom(2026, 10, 30);
const absl::CivilDay kTo(2026, 12, 2);

// The JSONL line of a chat event.
std::string ChatJson(const Event& e) {
  std::string j = "{\"type\":\"chat\",\"id\":";
  AppendJsonString(&j, e.id);
  absl::StrAppend(&j, ",\"ts\":", e.ts_ms, ",\"buyer\":");
  AppendJsonString(&j, e.buyer);
  j.append(",\"agent\":");
  AppendJsonString(&j, e.agent);
  j.append(e.inbound ? ",\"dir\":\"in\"" : ",\"dir\":\"out\"");
  j.append(",\"text\":");
  AppendJsonString(&j, e.text);
  if (e.auto_reply) j.append(",\"auto\":true");
  j.push_back('}');
  return j;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines,
                size_t from, size_t to, bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  for (size_t i = from; i < to; ++i) out << lines[i] << "\n";
}

// Ingests `path` into the store at `db` with `threads`.
absl::Status IngestWith(const std::string& db, const std::string& path,
                        int threads, size_t commit_every,
                        FileIngestReport* report) {
  auto store = Store::Open(db, StoreOptions());
  if (!store.ok()) return store.status();
  auto engine = Engine::Open(TestRules(), store->get());
  if (!engine.ok()) return engine.status();
  FileIngestOptions opts;
  opts.threads = threads;
  opts.commit_every = commit_every;
  return IngestFiles(**engine, {path}, opts, report);
}

PeriodSnapshot ReadBack(const std::string& db) {
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {};
  auto s = ReadSnapshot(**store, kFrom, kTo);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : PeriodSnapshot();
}

void ExpectReference(const std::string& db, const std::vector<Event>& events,
                     int64_t bad_lines, const std::string& what) {
  RefSnapshot want = ReferenceSnapshot(ReferenceWinners(events), TestRules(),
                                       DayNumber(kFrom), DayNumber(kTo));
  PeriodSnapshot got = ReadBack(db);
  ASSERT_EQ(got.agents.size(), want.agents.size()) << what;
  for (const AgentRow& row : got.agents) {
    ASSERT_TRUE(want.agents.count(row.agent)) << what << " " << row.agent;
    EXPECT_EQ(row.counters, want.agents[row.agent]) << what << " " << row.agent;
  }
  EXPECT_EQ(got.unattributed, want.unattributed) << what;
  EXPECT_EQ(got.dead_letters, bad_lines) << what;
}

// Two buyer names that fall in different file shards of a parallel store.
std::pair<std::string, std::string> BuyersInTwoShards() {
  Event a, b;
  a.type = b.type = EventType::kChat;
  a.buyer = "buyer-a";
  for (int i = 0;; ++i) {
    b.buyer = absl::StrCat("buyer-b", i);
    if (FileShardOf(a, kFileShardsOfParallelStore) !=
        FileShardOf(b, kFileShardsOfParallelStore)) {
      return {a.buyer, b.buyer};
    }
  }
}

class ParallelIngestTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ParallelIngestTest, OneTwoFourThreadsAndResumesMatchReference) {
  const uint64_t seed = GetParam();
  GeneratorOptions opts;
  opts.seed = seed;
  opts.agents = 3 + seed % 4;
  opts.buyers = 40 + (seed * 7) % 40;
  opts.shuffle = true;
  opts.duplicate_rate = 0.05;
  opts.malformed_rate = 0.01;
  opts.assessments = true;
  auto generated = GenerateJsonl(opts);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::vector<std::string> lines = *generated;

  // Conflicting copies: chats under an id seen before with another buyer
  // (mostly of another shard) and a ts a second earlier (the copy wins:
  // the held copy is retracted from its shard) or later (it loses).
  EventParser parser;
  std::vector<std::string> buyers;
  std::vector<Event> chats;
  for (const std::string& line : lines) {
    Event e;
    if (!parser.Parse(line, &e).ok() || e.type != EventType::kChat) continue;
    buyers.push_back(e.buyer);
    chats.push_back(e);
  }
  ASSERT_GT(chats.size(), 100u);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick_chat(0, chats.size() - 1);
  std::uniform_int_distribution<size_t> pick_buyer(0, buyers.size() - 1);
  for (size_t i = 0; i < chats.size() / 20; ++i) {
    Event copy = chats[pick_chat(rng)];
    copy.buyer = buyers[pick_buyer(rng)];
    copy.ts_ms += i % 2 == 0 ? -1000 : 1000;
    std::uniform_int_distribution<size_t> at(0, lines.size());
    lines.insert(lines.begin() + at(rng), ChatJson(copy));
  }

  const std::string dir = TempDir(absl::StrCat("parallel", seed));
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, lines, 0, lines.size(), false);
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  const int64_t conflicts = ReferenceConflicts(events);
  ASSERT_GT(conflicts, 0);

  for (int threads : {1, 2, 4}) {
    const std::string db = absl::StrCat(dir, "/db", threads);
    FileIngestReport report;
    absl::Status s = IngestWith(db, file, threads, 997, &report);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(report.shards, threads == 1 ? 1u : kFileShardsOfParallelStore);
    EXPECT_EQ(report.conflicts, conflicts) << threads << " threads";
    EXPECT_EQ(report.dead_letters, bad) << threads << " threads";
    ExpectReference(db, events, bad, absl::StrCat(threads, " threads"));
  }

  // Half the file with one thread count, then the grown file with another:
  // the second run resumes after the first run's last line.
  for (auto [first, second] : {std::pair{2, 1}, std::pair{4, 2}}) {
    const std::string grown = absl::StrCat(dir, "/grown", first, ".jsonl");
    const std::string db = absl::StrCat(dir, "/resumed", first, second);
    WriteLines(grown, lines, 0, lines.size() / 2, false);
    FileIngestReport report;
    absl::Status s = IngestWith(db, grown, first, 501, &report);
    ASSERT_TRUE(s.ok()) << s;
    WriteLines(grown, lines, lines.size() / 2, lines.size(), true);
    FileIngestReport again;
    s = IngestWith(db, grown, second, 501, &again);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(again.shards, kFileShardsOfParallelStore);
    EXPECT_EQ(again.skipped_lines, static_cast<int64_t>(lines.size() / 2));
    ExpectReference(db, events, bad,
                    absl::StrCat(first, " then ", second, " threads"));
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ParallelIngestTest,
                         ::testing::Values(1, 2, 3, 4));

// A copy that wins over a copy another shard applied, in both arrival
// orders and with a commit between them or not: the winner alone counts.
// Buyer A asks at 10:00:00 (copy 1, id "q"); buyer B asks at 09:59:00
// (copy 2, same id, earlier: it wins). The agent answers both at 10:00:30.
// Counted: B's question, answered after 90 s; A's answer is an unprompted
// out. So: 1 question, answered, response time 90 s = 90000 ms.
TEST(ParallelIngest, CopyThatWinsOverAnotherShardsCopyReplacesIt) {
  const auto [a, b] = BuyersInTwoShards();
  const int64_t t = testing::Local("2026-11-10 10:00:00");
  Event q1 = testing::In("q", t, a, "shop:agent01");
  Event q2 = testing::In("q", t - 60'000, b, "shop:agent01");
  Event r1 = testing::Out("r1", t + 30'000, a, "shop:agent01");
  Event r2 = testing::Out("r2", t + 30'000, b, "shop:agent01");
  const std::string dir = TempDir("parallel_conflict");
  int run = 0;
  for (bool winner_last : {true, false}) {
    for (size_t commit_every : {size_t{1}, size_t{100}}) {
      std::vector<Event> order = {winner_last ? q1 : q2, r1, r2,
                                  winner_last ? q2 : q1};
      std::vector<std::string> lines;
      for (const Event& e : order) lines.push_back(ChatJson(e));
      const std::string file = absl::StrCat(dir, "/in", run, ".jsonl");
      WriteLines(file, lines, 0, lines.size(), false);
      std::vector<PeriodSnapshot> got;
      for (int threads : {1, 2}) {
        const std::string db = absl::StrCat(dir, "/db", run, "_", threads);
        FileIngestReport report;
        absl::Status s = IngestWith(db, file, threads, commit_every, &report);
        ASSERT_TRUE(s.ok()) << s;
        // Which copy a shard claims first, when both are in one batch, is
        // a race: the copy that wins either replaces the other or keeps it
        // out. The numbers are the same.
        EXPECT_EQ(report.accepted + report.duplicates, 4)
            << "run " << run << ", " << threads << " threads";
        EXPECT_EQ(report.conflicts, 1);
        ExpectReference(db, order, 0,
                        absl::StrCat("run ", run, ", ", threads, " threads"));
        got.push_back(ReadBack(db));
      }
      ASSERT_EQ(got[1].agents.size(), 1u);
      EXPECT_EQ(got[1].agents[0].counters[kQuestions], 1);
      EXPECT_EQ(got[1].agents[0].counters[kAnswered], 1);
      EXPECT_EQ(got[1].agents[0].counters[kResponseMsSum], 90'000);
      EXPECT_EQ(got[1].agents[0].counters, got[0].agents[0].counters);
      ++run;
    }
  }
  std::filesystem::remove_all(dir);
}

// An order whose events name buyers of two shards cannot be counted
// exactly by shards apart (its attribution reads both buyers' chats): the
// run stops with a message, and one thread on a new store takes it in.
TEST(ParallelIngest, OrderNamingBuyersOfTwoShardsFailsLoudly) {
  const auto [a, b] = BuyersInTwoShards();
  const int64_t t = testing::Local("2026-11-10 10:00:00");
  const std::string dir = TempDir("parallel_order");
  const std::string file = dir + "/in.jsonl";
  WriteLines(file,
             {absl::StrCat("{\"type\":\"order\",\"id\":\"o1c\",\"ts\":", t,
                           ",\"order\":\"o1\",\"buyer\":\"", a,
                           "\",\"status\":\"created\",\"amount\":10.00,"
                           "\"items\":1}"),
              absl::StrCat("{\"type\":\"order\",\"id\":\"o1p\",\"ts\":",
                           t + 1000, ",\"order\":\"o1\",\"buyer\":\"", b,
                           "\",\"status\":\"paid\",\"amount\":10.00,"
                           "\"items\":1}")},
             0, 2, false);
  FileIngestReport report;
  absl::Status s = IngestWith(dir + "/parallel", file, 2, 100, &report);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "different file shards")) << s;
  FileIngestReport one;
  s = IngestWith(dir + "/one", file, 1, 100, &one);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(one.accepted, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

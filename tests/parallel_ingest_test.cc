// File ingest on several threads (engine/file_shards.h, docs/engine.md
// "Parallel ingest"): generated files with redeliveries, conflicting copies
// whose buyers fall in other shards, orders whose events name buyers of
// several shards (late earlier events moving them between shards), and
// malformed lines, taken in with 1, 2 and 4 threads, in one run or resumed
// with another thread count, and replayed under other rules, all give the
// batch reference model's numbers.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/json_text.h"
#include "engine/engine.h"
#include "engine/event_count.h"
#include "engine/file_ingest.h"
#include "engine/file_shards.h"
#include "engine/local_day.h"
#include "engine/replay.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "store/store_files.h"
#include "tests/reference_model.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::EventJson;
using testing::TempDir;
using testing::TestRules;

const absl::CivilDay kFrom(2026, 10, 30);
const absl::CivilDay kTo(2026, 12, 2);

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
                     int64_t bad_lines, const std::string& what,
                     const Rules& rules = TestRules()) {
  RefSnapshot want = ReferenceSnapshot(ReferenceWinners(events), rules,
                                       DayNumber(kFrom), DayNumber(kTo));
  PeriodSnapshot got = ReadBack(db);
  ASSERT_EQ(got.agents.size(), want.agents.size()) << what;
  for (const AgentRow& row : got.agents) {
    ASSERT_TRUE(want.agents.count(row.agent)) << what << " " << row.agent;
    EXPECT_EQ(row.counters, want.agents[row.agent]) << what << " " << row.agent;
  }
  EXPECT_EQ(got.unattributed, want.unattributed) << what;
  EXPECT_EQ(got.dead_letters, bad_lines) << what;
  // The events held are the distinct ids, however often a winning copy was
  // logged beside the copy it replaced (engine/event_count.h).
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto held = EventsHeld(**store);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, static_cast<int64_t>(ReferenceWinners(events).size()))
      << what;
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

// Makes orders of the generated `lines` name buyers of several shards
// (docs/spec.md §3: an order's buyer is the buyer of its first event by
// (ts, id), whatever its other events name):
// - in every third order each event id names, at random, another buyer;
// - every fourth gets an event earlier than all of its own, naming a buyer
//   who asked a question within a day before it, among the last quarter of
//   the lines: it arrives late and gives the order that buyer;
// - one in three gets a copy of one of its events under the same id naming
//   another buyer, with 1 yuan more, a second earlier (it wins,
//   docs/engine.md "Duplicates") or later (it loses).
void AddCrossShardOrders(std::vector<std::string>* lines, uint64_t seed) {
  std::mt19937_64 rng(seed);
  EventParser parser;
  std::vector<std::string> buyers;
  std::vector<Event> questions;
  std::map<std::string, std::vector<size_t>> order_lines;
  for (size_t i = 0; i < lines->size(); ++i) {
    Event e;
    if (!parser.Parse((*lines)[i], &e).ok()) continue;
    if (e.type == EventType::kChat) {
      buyers.push_back(e.buyer);
      if (e.inbound) questions.push_back(e);
    } else if (e.type == EventType::kOrder) {
      order_lines[e.order].push_back(i);
    }
  }
  ASSERT_FALSE(buyers.empty());
  ASSERT_FALSE(questions.empty());
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<std::string> late, anywhere;
  int k = 0;
  for (const auto& [order, at] : order_lines) {
    ++k;
    std::vector<Event> events(at.size());
    for (size_t j = 0; j < at.size(); ++j) {
      ASSERT_TRUE(parser.Parse((*lines)[at[j]], &events[j]).ok());
    }
    if (k % 3 == 0) {
      std::map<std::string, std::string> buyer_of;  // redeliveries alike
      for (size_t j = 0; j < at.size(); ++j) {
        auto [it, added] = buyer_of.try_emplace(events[j].id);
        if (added) it->second = rng() % 2 ? buyers[pick(buyers.size())] : "";
        if (it->second.empty()) continue;
        events[j].buyer = it->second;
        (*lines)[at[j]] = EventJson(events[j]);
      }
    }
    if (k % 4 == 1) {
      int64_t first = events[0].ts_ms;
      for (const Event& e : events) first = std::min(first, e.ts_ms);
      for (int tries = 0; tries < 100; ++tries) {
        const Event& q = questions[pick(questions.size())];
        if (q.ts_ms >= first - 2 || first - q.ts_ms > 86'400'000) continue;
        Event early = events[0];
        early.id = order + "-early";
        early.ts_ms = q.ts_ms + 1 +
                      static_cast<int64_t>(pick(static_cast<size_t>(
                          std::min<int64_t>(first - q.ts_ms - 1, 3'600'000))));
        early.buyer = q.buyer;
        early.status = OrderStatus::kCreated;
        early.items = std::max<int64_t>(early.items, 1);
        late.push_back(EventJson(early));
        break;
      }
    }
    if (rng() % 3 == 0) {
      Event copy = events[pick(events.size())];
      copy.buyer = buyers[pick(buyers.size())];
      copy.ts_ms += rng() % 2 ? -1000 : 1000;
      copy.amount_fen += 100;
      if (copy.status == OrderStatus::kClosed && copy.items == 0) {
        copy.status = OrderStatus::kPaid;
        copy.items = 1;
      }
      anywhere.push_back(EventJson(copy));
    }
  }
  const size_t tail = lines->size() - lines->size() / 4;
  for (const std::string& line : late) {
    const size_t n = lines->size() - tail + 1;
    lines->insert(lines->begin() + tail + pick(n), line);
  }
  for (const std::string& line : anywhere) {
    lines->insert(lines->begin() + pick(lines->size() + 1), line);
  }
}

// Of the orders the reference counts: how many there are, how many have
// events naming buyers of two shards, and how many of those see an event
// of another shard's buyer before the event that gives them their buyer
// (the order moves).
struct CrossShard {
  int orders = 0;
  int cross = 0;
  int moved = 0;
};
CrossShard CrossShardOrders(const std::vector<Event>& events) {
  std::map<std::string, std::vector<const Event*>> orders;
  const std::vector<Event> winners = ReferenceWinners(events);
  for (const Event& e : winners) {
    if (e.type == EventType::kOrder) orders[e.order].push_back(&e);
  }
  int cross = 0, moved = 0;
  const int total = static_cast<int>(orders.size());
  for (const auto& [order, list] : orders) {
    std::set<uint32_t> shards;
    const Event* first = list[0];
    for (const Event* e : list) {
      shards.insert(FileShardOf(*e, kFileShardsOfParallelStore));
      if (std::pair(e->ts_ms, e->id) < std::pair(first->ts_ms, first->id)) {
        first = e;
      }
    }
    if (shards.size() < 2) continue;
    ++cross;
    // `list` is in arrival order: the first arrival names another shard.
    if (FileShardOf(*list[0], kFileShardsOfParallelStore) !=
        FileShardOf(*first, kFileShardsOfParallelStore)) {
      ++moved;
    }
  }
  return {total, cross, moved};
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
    lines.insert(lines.begin() + at(rng), EventJson(copy));
  }
  AddCrossShardOrders(&lines, seed);

  const std::string dir = TempDir(absl::StrCat("parallel", seed));
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, lines, 0, lines.size(), false);
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  const int64_t conflicts = ReferenceConflicts(events);
  ASSERT_GT(conflicts, 0);
  // A good share of the orders names buyers of two shards, and many move.
  const CrossShard cross = CrossShardOrders(events);
  ASSERT_GT(cross.cross * 4, cross.orders)
      << cross.cross << " of " << cross.orders;
  ASSERT_GE(cross.moved * 10, cross.orders)
      << cross.moved << " of " << cross.orders;

  for (int threads : {1, 2, 4}) {
    const std::string db = absl::StrCat(dir, "/db", threads);
    FileIngestReport report;
    absl::Status s = IngestWith(db, file, threads, 997, &report);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(report.shards, threads == 1 ? 1u : kFileShardsOfParallelStore);
    EXPECT_EQ(report.conflicts, conflicts) << threads << " threads";
    EXPECT_EQ(report.dead_letters, bad) << threads << " threads";
    // New events are new ids, whichever copy of an id came first.
    const auto ids = static_cast<int64_t>(ReferenceWinners(events).size());
    EXPECT_EQ(report.accepted, ids) << threads << " threads";
    EXPECT_EQ(report.duplicates, static_cast<int64_t>(events.size()) - ids)
        << threads << " threads";
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
      for (const Event& e : order) lines.push_back(EventJson(e));
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

// An order whose events name buyers of two shards: its first-arriving
// event names buyer B, a later-arriving but earlier event names buyer A, of
// another shard (docs/spec.md §3: the buyer of the first event by (ts, id)
// is the order's). A asked agent01 at 09:50, B asked agent02 at 09:55; the
// order is created at 10:00:00 (A) and paid 10.00 yuan at 10:00:01 (B).
// Its buyer is A, whose last question within the day before 10:00 went to
// agent01: agent01 has 1 order, 1 ordered buyer, 1 paid order of 1 item,
// 1 paid buyer, 1000 fen; agent02 only its question. Then a copy of the
// paid event under its id, naming A at 10:00:00.5 with 20.00 yuan for 2
// items, wins (earlier, docs/engine.md "Duplicates"): the held copy, which
// names B, is taken back in A's shard, which holds the order: agent01 has
// 2 paid items, 2000 fen. Last a copy of the created event under its id,
// naming B at 09:59:59, wins: the order's buyer is B again, attributed to
// agent02 (its question at 09:55 is the last within the day before
// 09:59:59), with 2 items and 2000 fen. In one run or two, with a commit
// after every event or one at the end, on 1, 2 and 4 threads.
TEST(ParallelIngest, OrderTakesTheBuyerOfItsFirstEventAcrossShards) {
  const auto [a, b] = BuyersInTwoShards();
  const int64_t t = testing::Local("2026-11-10 10:00:00");
  const std::vector<Event> events = {
      testing::In("qa", t - 600'000, a, "shop:agent01"),
      testing::In("qb", t - 300'000, b, "shop:agent02"),
      testing::Order("o1p", t + 1000, "o1", b, OrderStatus::kPaid, 1000, 1),
      testing::Order("o1c", t, "o1", a, OrderStatus::kCreated, 1000, 1),
      testing::Order("o1p", t + 500, "o1", a, OrderStatus::kPaid, 2000, 2),
      testing::Order("o1c", t - 1000, "o1", b, OrderStatus::kCreated, 1000, 1)};
  std::vector<std::string> lines;
  for (const Event& e : events) lines.push_back(EventJson(e));
  const std::string dir = TempDir("parallel_order");
  auto expect = [&](const std::string& db, const std::string& winner,
                    int64_t items, int64_t fen, const std::string& what) {
    PeriodSnapshot got = ReadBack(db);
    ASSERT_EQ(got.agents.size(), 2u) << what;
    for (const AgentRow& row : got.agents) {
      const bool credited = row.agent == winner;
      EXPECT_EQ(row.counters[kQuestions], 1) << what << " " << row.agent;
      EXPECT_EQ(row.counters[kOrders], credited ? 1 : 0) << what;
      EXPECT_EQ(row.counters[kOrderedBuyers], credited ? 1 : 0) << what;
      EXPECT_EQ(row.counters[kPaidOrders], credited ? 1 : 0) << what;
      EXPECT_EQ(row.counters[kPaidItems], credited ? items : 0) << what;
      EXPECT_EQ(row.counters[kPaidBuyers], credited ? 1 : 0) << what;
      EXPECT_EQ(row.counters[kSalesFen], credited ? fen : 0) << what;
    }
    EXPECT_TRUE(got.unattributed.IsZero()) << what;
  };
  int run = 0;
  // The first four events, five, then all six (the copy that moves it
  // back).
  for (size_t n : {size_t{4}, size_t{5}, size_t{6}}) {
    const std::vector<Event> taken(events.begin(), events.begin() + n);
    const std::string winner = n < 6 ? "shop:agent01" : "shop:agent02";
    const int64_t items = n < 5 ? 1 : 2;
    const int64_t fen = n < 5 ? 1000 : 2000;
    const std::string file = absl::StrCat(dir, "/in", n, ".jsonl");
    WriteLines(file, lines, 0, n, false);
    for (int threads : {1, 2, 4}) {
      for (size_t commit_every : {size_t{1}, size_t{100}}) {
        const std::string what = absl::StrCat(
            n, " events, ", threads, " threads, commit every ", commit_every);
        const std::string db = absl::StrCat(dir, "/db", run++);
        FileIngestReport report;
        absl::Status s = IngestWith(db, file, threads, commit_every, &report);
        ASSERT_TRUE(s.ok()) << what << ": " << s;
        EXPECT_EQ(report.accepted + report.duplicates, static_cast<int64_t>(n))
            << what;
        expect(db, winner, items, fen, what);
        ExpectReference(db, taken, 0, what);
      }
    }
    // B's paid event in one run, A's earlier created event (and the copy)
    // in the next: the order is found in the store under B's shard.
    for (auto [first, second] : {std::pair{2, 1}, std::pair{2, 4}}) {
      const std::string what =
          absl::StrCat(n, " events, ", first, " then ", second, " threads");
      const std::string db = absl::StrCat(dir, "/db", run++);
      const std::string grown = absl::StrCat(dir, "/grown", run, ".jsonl");
      WriteLines(grown, lines, 0, 3, false);
      FileIngestReport report;
      ASSERT_TRUE(IngestWith(db, grown, first, 100, &report).ok()) << what;
      WriteLines(grown, lines, 3, n, true);
      absl::Status s = IngestWith(db, grown, second, 100, &report);
      ASSERT_TRUE(s.ok()) << what << ": " << s;
      expect(db, winner, items, fen, what);
      ExpectReference(db, taken, 0, what);
    }
  }
  std::filesystem::remove_all(dir);
}

// The shards' threads take batches handed over while they apply the ones
// before (engine/file_shards.h): batches of 5 events, every other one with
// a commit (so that the shards fall behind the reader), handed over
// without waiting, so that up to two wait behind the one in flight and the
// reader waits for room, and each shard's events go to whichever thread
// is free. Orders
// whose events name buyers of other shards and conflicting copies are
// deferred in the middle of such batches and applied with every shard idle
// before the next batch starts: the numbers are the reference's, and every
// event is counted once, with 2 threads and with 4 (more than the cores of
// a small machine).
TEST(ParallelIngest, QueuedBatchesWithDeferredEventsMatchReference) {
  GeneratorOptions opts;
  opts.seed = 11;
  opts.agents = 4;
  opts.buyers = 60;
  opts.shuffle = true;
  opts.duplicate_rate = 0.05;
  auto generated = GenerateJsonl(opts);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::vector<std::string> lines = *generated;
  AddCrossShardOrders(&lines, opts.seed);
  const std::string dir = TempDir("parallel_queued");
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, lines, 0, lines.size(), false);
  int64_t bad = 0;
  const std::vector<Event> events = testing::ParseJsonlFile(file, &bad);
  ASSERT_EQ(bad, 0);
  const CrossShard cross = CrossShardOrders(events);
  ASSERT_GE(cross.moved * 10, cross.orders)
      << cross.moved << " of " << cross.orders;
  ASSERT_GT(ReferenceConflicts(events), 0);

  for (int threads : {2, 4}) {
    const std::string what = absl::StrCat(threads, " threads");
    const std::string db = absl::StrCat(dir, "/db", threads);
    {
      auto store = Store::Open(db, StoreOptions());
      ASSERT_TRUE(store.ok()) << store.status();
      auto shards = FileShardsOf(**store, kFileShardsOfParallelStore);
      ASSERT_TRUE(shards.ok()) << shards.status();
      auto file_shards = FileShards::Open(TestRules(), store->get(),
                                          EngineOptions(), *shards, threads);
      ASSERT_TRUE(file_shards.ok()) << file_shards.status();
      FileShards& f = **file_shards;
      const std::vector<std::pair<std::string, std::string>> no_positions;
      EventParser parser;
      int64_t queued = 0;
      for (const std::string& line : lines) {
        ASSERT_TRUE(parser.Parse(line, &f.Slot()).ok()) << line;
        f.Push(line, EventPosition{});
        ++queued;
        absl::Status s;
        if (queued % 10 == 0) {
          s = f.Submit(&no_positions);
        } else if (queued % 5 == 0) {
          s = f.Submit(nullptr);
        }
        ASSERT_TRUE(s.ok()) << what << ": " << s;
        // Never more than two batches wait or are in flight beside the one
        // being filled.
        const uint64_t handed = f.submitted();
        ASSERT_LE(handed - f.completed(), 2u) << what;
      }
      FileShards::Counts counts;
      absl::Status s = f.Commit(no_positions, &counts);
      ASSERT_TRUE(s.ok()) << what << ": " << s;
      const FileShards::Counts rest = f.TakeCounts();
      EXPECT_EQ(
          counts.accepted + counts.duplicates + rest.accepted + rest.duplicates,
          queued)
          << what;
      EXPECT_EQ(f.completed(), f.submitted()) << what;
    }
    ExpectReference(db, events, 0, what);
  }
  std::filesystem::remove_all(dir);
}

// A generated file with orders across shards added (AddCrossShardOrders),
// written to `dir`/events.jsonl, and its events as the reference reads
// them; at least a tenth of its orders move between shards.
struct CrossShardInput {
  std::string file;
  std::vector<Event> events;
  int64_t bad = 0;
};
void WriteCrossShardInput(const GeneratorOptions& opts, const std::string& dir,
                          CrossShardInput* in) {
  auto generated = GenerateJsonl(opts);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::vector<std::string> lines = *generated;
  AddCrossShardOrders(&lines, opts.seed);
  in->file = dir + "/events.jsonl";
  WriteLines(in->file, lines, 0, lines.size(), false);
  in->events = testing::ParseJsonlFile(in->file, &in->bad);
  const CrossShard cross = CrossShardOrders(in->events);
  ASSERT_GE(cross.moved * 10, cross.orders)
      << cross.moved << " of " << cross.orders;
}

// Replay (docs/replay.md) of an 8-shard store whose orders moved between
// shards runs the log through the same file shards, which move the orders
// again as ingest did: the numbers are the reference's under the new
// rules.
TEST(ParallelIngest, ReplayOfCrossShardOrdersMatchesReferenceUnderNewRules) {
  GeneratorOptions opts;
  opts.seed = 11;
  opts.agents = 4;
  opts.buyers = 60;
  opts.shuffle = true;
  opts.duplicate_rate = 0.03;
  const std::string dir = TempDir("parallel_replay");
  CrossShardInput in;
  ASSERT_NO_FATAL_FAILURE(WriteCrossShardInput(opts, dir, &in));
  const std::string db = dir + "/db";
  FileIngestReport report;
  absl::Status s = IngestWith(db, in.file, 2, 499, &report);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(report.shards, kFileShardsOfParallelStore);
  ExpectReference(db, in.events, in.bad, "ingested");
  auto next = ParseRules(
      R"({"version": "attr2h-first", "attribution": {"window_s": 7200, "model": "first"}})");
  ASSERT_TRUE(next.ok()) << next.status();
  ReplayOptions ro;
  ro.commit_every = 97;
  auto replayed = Replay(db, *next, ro);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  ExpectReference(db, in.events, in.bad, "replayed", *next);
  std::filesystem::remove_all(dir);
}

// SIGKILL of `chatkpi ingest` on 2 and 4 threads at random instants while
// orders move between shards, then a rerun on one thread: a move's delete
// and put are in one store write with everything else of the commit, so
// every order is in exactly one shard and the numbers are the reference's.
TEST(ParallelIngest, SigkillWhileOrdersMoveThenRerunMatchesReference) {
  GeneratorOptions opts;
  opts.seed = 23;
  opts.agents = 6;
  opts.target_events = 60'000;
  opts.shuffle = true;
  opts.duplicate_rate = 0.03;
  const std::string dir = TempDir("parallel_sigkill");
  CrossShardInput in;
  ASSERT_NO_FATAL_FAILURE(WriteCrossShardInput(opts, dir, &in));
  const std::string db = dir + "/db";
  auto commits = [&db] {
    std::optional<CommitRecord> r = ReadCommitRecord(db);
    return r.has_value() ? r->commits : uint64_t{0};
  };
  std::mt19937 rng(5);
  int killed = 0;
  for (int round = 0; round < 4; ++round) {
    const uint64_t target =
        commits() + std::uniform_int_distribution<int>(1, 5)(rng);
    pid_t pid = testing::StartProcess(
        {testing::ChatkpiBinary(), "ingest", "--db", db, "--commit-every",
         "1000", "--threads", round % 2 == 0 ? "2" : "4", in.file});
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (commits() < target && absl::Now() < deadline) {
      // Looks at the child without reaping it (WaitProcess does that).
      siginfo_t info{};
      if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    absl::SleepFor(
        absl::Milliseconds(std::uniform_int_distribution<int>(0, 10)(rng)));
    kill(pid, SIGKILL);
    const int code = testing::WaitProcess(pid);
    if (code == -SIGKILL) {
      ++killed;
    } else {
      EXPECT_EQ(code, 0) << "round " << round;
    }
  }
  EXPECT_GE(killed, 2) << "the kills should interrupt the stream";
  FileIngestReport report;
  absl::Status s = IngestWith(db, in.file, 1, 1000, &report);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(report.shards, kFileShardsOfParallelStore);
  ExpectReference(db, in.events, in.bad, "killed, then one thread");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

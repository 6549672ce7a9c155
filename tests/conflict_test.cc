// Conflicting duplicates (docs/engine.md, "Duplicates"): two events with one
// id and different content. Whichever copy arrives first, the engine ends
// with the numbers of the winner alone (docs/spec.md §4, order independence),
// and each losing copy is recorded once with both positions.
#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/json_text.h"
#include "engine/conflict_record.h"
#include "engine/engine.h"
#include "engine/event_count.h"
#include "engine/kafka_ingest.h"
#include "engine/local_day.h"
#include "engine/replay.h"
#include "gtest/gtest.h"
#include "ingest/event_content.h"
#include "ingest/event_parser.h"
#include "ingest/kafka_mock_cluster.h"
#include "ingest/kafka_producer.h"
#include "query/snapshot.h"
#include "store/coding.h"
#include "store/store.h"
#include "tests/engine_run.h"
#include "tests/kafka_test_util.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::EventJson;
using testing::Local;
using testing::TempDir;
using testing::TestRules;

struct Line {
  Event event;
  std::string json;
  int64_t number;  // its line in "in.jsonl"
};

// The engine run of tests/engine_run.h, fed lines as `chatkpi ingest`
// feeds them, with the conflict records it stored.
class StoreRun : public testing::EngineRun {
 public:
  explicit StoreRun(const std::string& dir, const Rules& rules = TestRules())
      : EngineRun(dir, rules) {}
  // Applies the lines in order, committing after every `commit_every`.
  // Each goes through the parser as in `chatkpi ingest`, and must say
  // what the event it was written from says.
  void Feed(const std::vector<Line>& lines, size_t commit_every) {
    EventParser parser;
    Event e;
    for (const Line& l : lines) {
      ASSERT_TRUE(parser.Parse(l.json, &e).ok()) << l.json;
      ASSERT_EQ(EventContent(e), EventContent(l.event)) << l.json;
      Apply(e, l.json, {"in.jsonl:", l.number}, commit_every);
      if (::testing::Test::HasFatalFailure()) return;
    }
    Commit();
  }
  int64_t StoredConflicts() {
    auto v = store().Get(Family::kMeta, kMetaConflicts);
    EXPECT_TRUE(v.ok());
    int64_t n = 0;
    if (v.ok() && v->has_value()) {
      std::string_view in = **v;
      EXPECT_TRUE(GetVarsint64(&in, &n));
    }
    return n;
  }
  std::vector<ConflictRecord> Conflicts() {
    std::vector<ConflictRecord> out;
    const std::string prefix = kMetaConflictPrefix;
    EXPECT_TRUE(store()
                    .Scan(Family::kMeta, prefix, "",
                          [&](std::string_view k, std::string_view v) {
                            if (k.substr(0, prefix.size()) != prefix) {
                              return false;
                            }
                            ConflictRecord r;
                            EXPECT_TRUE(DecodeConflict(k, v, &r));
                            out.push_back(r);
                            return true;
                          })
                    .ok());
    return out;
  }
  std::optional<std::string> Assessment(const std::string& key) {
    auto v = store().Get(Family::kAssessments, key);
    EXPECT_TRUE(v.ok());
    if (!v.ok() || !v->has_value()) return std::nullopt;
    std::string_view in = **v, order;
    EXPECT_TRUE(GetLengthPrefixed(&in, &order));
    return std::string(in);
  }
};

void ExpectSameCounters(const PeriodSnapshot& got, const PeriodSnapshot& want,
                        const std::string& what) {
  ASSERT_EQ(got.agents.size(), want.agents.size()) << what;
  for (size_t i = 0; i < got.agents.size(); ++i) {
    EXPECT_EQ(got.agents[i].agent, want.agents[i].agent) << what;
    for (int c = 0; c < kNumCounters; ++c) {
      EXPECT_EQ(got.agents[i].counters[c], want.agents[i].counters[c])
          << what << " " << got.agents[i].agent << " " << kCounterNames[c];
    }
  }
  for (int c = 0; c < kNumCounters; ++c) {
    EXPECT_EQ(got.unattributed[c], want.unattributed[c])
        << what << " unattributed " << kCounterNames[c];
  }
}

Event Assessment(const std::string& id, int64_t ts, const std::string& value) {
  Event e;
  e.type = EventType::kAssessment;
  e.id = id;
  e.ts_ms = ts;
  e.agent = "shop:a";
  e.period = "2026-11";
  e.metric = "execution";
  e.value_text = value;
  e.value = std::stod(value);
  return e;
}

// Two copies each of a chat reply, an order payment and an assessment,
// taken in both orders, in one commit and in separate ones.
//
// Asia/Shanghai, 2026-11-10. u1 asks shop:a at 09:00:00 (c1).
//   c2 copy A: the reply at 09:00:30 with "亲";  copy B: at 09:02:00, "ok".
//     The rule compares ts first: A (earlier) wins.
//     A alone: answered in 30 s (not slow, > 40 s is), courteous.
//     B alone would be: 120 s, slow, not courteous.
//   u1's order o1, created 10:00 (o1c, 100.00, 1 item), paid 10:01 (o1p):
//     copy A 100.00, 1 item; copy B 80.00, 2 items. Same ts, type, order,
//     buyer and status: the amount decides, 8000 < 10000 fen: B wins.
//   Assessment a1 (execution, 2026-11, shop:a): copies "9" and "8", same ts;
//     "8" < "9" wins. a0, earlier, says "5": a1 is the later, so 8 counts.
// Winner numbers for shop:a on 11-10: consultations 1, replied 1,
// questions 1, answered 1, unanswered 0, response_ms_sum 30000, slow 0,
// first_responses 1, first_response_ms_sum 30000, courteous 1, rude 0,
// orders 1, ordered_buyers 1, paid_orders 1, paid_buyers 1, paid_items 2,
// sales_fen 8000. Three conflicts, each recorded once.
TEST(ConflictingDuplicates, EitherOrderGivesTheWinnersNumbers) {
  const int64_t t0 = Local("2026-11-10 09:00:00");
  const Event c1 = testing::In("c1", t0, "u1", "shop:a");
  const Event c2a = testing::Out("c2", t0 + 30'000, "u1", "shop:a", "亲，在的");
  const Event c2b = testing::Out("c2", t0 + 120'000, "u1", "shop:a", "ok");
  const int64_t t10 = Local("2026-11-10 10:00:00");
  const Event o1c =
      testing::Order("o1c", t10, "o1", "u1", OrderStatus::kCreated, 10000, 1);
  const Event o1pa = testing::Order("o1p", t10 + 60'000, "o1", "u1",
                                    OrderStatus::kPaid, 10000, 1);
  const Event o1pb = testing::Order("o1p", t10 + 60'000, "o1", "u1",
                                    OrderStatus::kPaid, 8000, 2);
  const Event a0 = Assessment("a0", t10, "5");
  const Event a1a = Assessment("a1", t10 + 1000, "9");
  const Event a1b = Assessment("a1", t10 + 1000, "8");

  std::vector<Line> first, second;  // the losers first, then the winners
  int64_t n = 0;
  for (const Event* e : {&c1, &c2b, &o1c, &o1pa, &a0, &a1a}) {
    first.push_back({*e, EventJson(*e), ++n});
  }
  for (const Event* e : {&c2a, &o1pb, &a1b}) {
    second.push_back({*e, EventJson(*e), ++n});
  }
  std::vector<Line> winners_only = first;
  winners_only[1] = second[0];
  winners_only[3] = second[1];
  winners_only[5] = second[2];

  const absl::CivilDay day(2026, 11, 10);
  StoreRun reference(TempDir("conflict_ref"));
  reference.Feed(winners_only, 1000);
  const PeriodSnapshot want = reference.Snapshot(day, day);
  {
    const AgentRow* a = testing::FindAgent(want, "shop:a");
    ASSERT_NE(a, nullptr);
    const int64_t expected[kNumCounters] = {
        1, 1, 1, 1, 0, 30000, 0, 1, 30000, 1, 0, 1, 1, 1, 1, 2, 8000, 0, 0, 0};
    for (int c = 0; c < kNumCounters; ++c) {
      EXPECT_EQ(a->counters[c], expected[c]) << kCounterNames[c];
    }
  }

  for (bool losers_first : {true, false}) {
    for (size_t commit_every : {size_t{1}, size_t{1000}}) {
      const std::string what =
          absl::StrCat(losers_first ? "losers first" : "winners first",
                       ", commit every ", commit_every);
      StoreRun run(TempDir("conflict"));
      std::vector<Line> all = losers_first ? first : second;
      const std::vector<Line>& rest = losers_first ? second : first;
      all.insert(all.end(), rest.begin(), rest.end());
      run.Feed(all, commit_every);
      ExpectSameCounters(run.Snapshot(day, day), want, what);
      EXPECT_EQ(run.Assessment(std::string("2026-11\0shop:a\0execution", 24)),
                "8")
          << what;
      EXPECT_EQ(run.engine().stats().conflicts, 3) << what;
      EXPECT_EQ(run.StoredConflicts(), 3) << what;

      // Both positions of each conflict: the copy read now by its line,
      // the one already in the store by its place in the log.
      std::map<std::string, ConflictRecord> by_id;
      for (const ConflictRecord& r : run.Conflicts()) by_id[r.id] = r;
      ASSERT_EQ(by_id.size(), 3u) << what;
      // Lines: c2b 2, o1pa 4, a1a 6 (losers); c2a 7, o1pb 8, a1b 9.
      // Log (losers first): c1 0, c2b 1, o1c 2, o1pa 3, a0 4, a1a 5.
      // Log (winners first): c2a 0, o1pb 1, a1b 2, then c1 3, ...
      const std::map<std::string, std::pair<std::string, std::string>> pos =
          losers_first
              ? std::map<std::string,
                         std::pair<std::string, std::string>>{{"c2",
                                                               {"in.jsonl:7",
                                                                "log:1"}},
                                                              {"o1p",
                                                               {"in.jsonl:8",
                                                                "log:3"}},
                                                              {"a1",
                                                               {"in.jsonl:9",
                                                                "log:5"}}}
              : std::map<std::string, std::pair<std::string, std::string>>{
                    {"c2", {"log:0", "in.jsonl:2"}},
                    {"o1p", {"log:1", "in.jsonl:4"}},
                    {"a1", {"log:2", "in.jsonl:6"}}};
      for (const auto& [id, p] : pos) {
        const ConflictRecord& r = by_id[id];
        EXPECT_TRUE(r.resolved) << what << " " << id;
        EXPECT_EQ(r.winner_position, p.first) << what << " " << id;
        EXPECT_EQ(r.loser_position, p.second) << what << " " << id;
      }
      EXPECT_EQ(by_id["c2"].loser_raw, EventJson(c2b)) << what;
      EXPECT_EQ(by_id["o1p"].loser_raw, EventJson(o1pa)) << what;

      // Read again (a re-run from stdin), after a restart: nothing changes
      // and nothing is counted twice.
      run.Restart();
      run.Feed(all, commit_every);
      ExpectSameCounters(run.Snapshot(day, day), want, what + ", again");
      EXPECT_EQ(run.engine().stats().conflicts, 0) << what;
      EXPECT_EQ(run.StoredConflicts(), 3) << what;
    }
  }
}

// Replay under new rules reads the log, which holds each copy that won
// when it came (here the losers first, then the winners): it resolves the
// conflicts as ingest did and gives a fresh run's numbers over the winners.
TEST(ConflictingDuplicates, ReplayResolvesThemAsIngestDid) {
  const int64_t t0 = Local("2026-11-10 09:00:00");
  const int64_t t10 = Local("2026-11-10 10:00:00");
  // c2: A (30 s) wins over B (120 s); o1p: B (80.00) wins over A (100.00).
  const std::vector<Event> losers = {
      testing::In("c1", t0, "u1", "shop:a"),
      testing::Out("c2", t0 + 120'000, "u1", "shop:a", "ok"),
      testing::Order("o1c", t10, "o1", "u1", OrderStatus::kCreated, 10000, 1),
      testing::Order("o1p", t10 + 60'000, "o1", "u1", OrderStatus::kPaid, 10000,
                     1)};
  const std::vector<Event> winners = {
      testing::Out("c2", t0 + 30'000, "u1", "shop:a", "亲"),
      testing::Order("o1p", t10 + 60'000, "o1", "u1", OrderStatus::kPaid, 8000,
                     2)};
  std::vector<Line> all, winners_only;
  int64_t n = 0;
  for (const Event& e : losers) all.push_back({e, EventJson(e), ++n});
  for (const Event& e : winners) all.push_back({e, EventJson(e), ++n});
  winners_only = {all[0], all[4], all[2], all[5]};

  Rules next = TestRules();
  next.version = "slow20";
  next.response_slow_s = 20;  // the 30 s answer becomes slow
  const std::string dir = TempDir("conflict_replay");
  {
    StoreRun live(dir + "/live");
    live.Feed(all, 1);
    EXPECT_EQ(live.StoredConflicts(), 2);
  }
  auto report = Replay(dir + "/live", next);
  ASSERT_TRUE(report.ok()) << report.status();
  StoreRun fresh(dir + "/fresh", next);
  fresh.Feed(winners_only, 1000);
  const absl::CivilDay day(2026, 11, 10);
  const PeriodSnapshot want = fresh.Snapshot(day, day);
  ASSERT_EQ(want.agents.size(), 1u);
  EXPECT_EQ(want.agents[0].counters[kSlow], 1);
  EXPECT_EQ(want.unattributed[kSalesFen] + want.agents[0].counters[kSalesFen],
            8000);

  StoreOptions so;
  so.read_only = true;
  auto replayed = Store::Open(dir + "/live", so);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  auto got = ReadSnapshot(**replayed, day, day);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameCounters(*got, want, "replayed");
  // The log as ingest left it (four events, then the two winners), and the
  // conflicts with it; it holds four events.
  EXPECT_EQ((*replayed)->next_seq(), 6u);
  auto held = EventsHeld(**replayed);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, 4);
  auto conflicts = (*replayed)->Get(Family::kMeta, kMetaConflicts);
  ASSERT_TRUE(conflicts.ok() && conflicts->has_value());
  std::string_view v = **conflicts;
  int64_t count = 0;
  ASSERT_TRUE(GetVarsint64(&v, &count));
  EXPECT_EQ(count, 2);
}

// A store of a build that kept no count of replaced log entries: its
// events are counted from its log, and its next commit stores the count.
TEST(ConflictingDuplicates, StoreWithoutTheReplacedCountCountsItsLog) {
  const int64_t t0 = Local("2026-11-10 09:00:00");
  // Each loser first, then the copy that wins (a second earlier): the log
  // holds both.
  std::vector<Line> lines;
  int64_t n = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("q", i);
    Event loser = testing::In(id, t0 + 1000, "u1", "shop:a");
    lines.push_back({loser, EventJson(loser), ++n});
  }
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("q", i);
    Event winner = testing::In(id, t0, "u1", "shop:a");
    lines.push_back({winner, EventJson(winner), ++n});
  }
  StoreRun run(TempDir("conflict_legacy_count"));
  run.Feed(lines, 3);
  EXPECT_EQ(run.store().next_seq(), 10u);
  auto stored = ReadMetaCounterIfPresent(run.store(), kMetaSuperseded);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, std::optional<int64_t>(5));
  Commit forget(&run.store());
  forget.Delete(Family::kMeta, kMetaSuperseded);
  ASSERT_TRUE(run.store().Write(&forget).ok());

  auto held = EventsHeld(run.store());
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, 5);
  Event next = testing::In("q5", t0 + 5000, "u1", "shop:a");
  run.Feed({{next, EventJson(next), ++n}}, 1);
  stored = ReadMetaCounterIfPresent(run.store(), kMetaSuperseded);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, std::optional<int64_t>(5));
  held = EventsHeld(run.store());
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, 6);
}

// Kafka: the same rule in the consume loop. Two copies of a payment under
// the buyer's key (one partition), in both orders on two clusters: the
// same snapshot, the winner's 80.00 and 2 items, one conflict recorded
// with the copies' topic/partition/offset.
TEST(ConflictingDuplicates, KafkaTakesTheWinnerInEitherOrder) {
  const std::string created =
      R"({"type":"order","id":"o1c","ts":1794276000000,"order":"o1","buyer":"u1","status":"created","amount":100.00,"items":1})";
  const std::string paid_a =
      R"({"type":"order","id":"o1p","ts":1794276060000,"order":"o1","buyer":"u1","status":"paid","amount":100.00,"items":1})";
  const std::string paid_b =
      R"({"type":"order","id":"o1p","ts":1794276060000,"order":"o1","buyer":"u1","status":"paid","amount":80.00,"items":2})";
  const std::string dir = TempDir("conflict_kafka");
  std::string snapshots[2];
  for (int order = 0; order < 2; ++order) {
    auto cluster = KafkaMockCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    for (const char* t : {"chat", "orders"}) {
      ASSERT_TRUE((*cluster)->CreateTopic(t, 2).ok());
    }
    KafkaClientConfig c;
    c.brokers = (*cluster)->bootstrap();
    auto producer = KafkaProducer::Open(c);
    ASSERT_TRUE(producer.ok());
    for (const std::string* v :
         order == 0
             ? std::vector<const std::string*>{&created, &paid_a, &paid_b}
             : std::vector<const std::string*>{&created, &paid_b, &paid_a}) {
      ASSERT_TRUE((*producer)->Produce("orders", "u1", *v).ok());
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
    KafkaIngestOptions o;
    o.consumer.client.brokers = (*cluster)->bootstrap();
    o.consumer.group = "test";
    o.until_caught_up = true;
    o.commit_every = order == 0 ? 1 : 500;
    o.log = [](const std::string&) {};
    const std::string db = absl::StrCat(dir, "/db", order);
    {
      auto store = Store::Open(db, StoreOptions());
      ASSERT_TRUE(store.ok()) << store.status();
      KafkaIngestReport report;
      ASSERT_TRUE(
          RunKafkaIngest(*DefaultRules(), store->get(), o, &report).ok());
      // Two ids in either order: a winner that comes second replaces a
      // held copy, a duplicate all the same.
      EXPECT_EQ(report.accepted, 2);
      EXPECT_EQ(report.duplicates, 1);
    }
    snapshots[order] = testing::SnapshotJson(db);
    EXPECT_NE(snapshots[order].find("\"paid_items\": 2, \"sales_fen\": 8000"),
              std::string::npos)
        << snapshots[order];
    StoreRun run(db, *DefaultRules());
    const std::vector<ConflictRecord> conflicts = run.Conflicts();
    ASSERT_EQ(conflicts.size(), 1u);
    // The partition is the key's; the offsets are the copies' (1 and 2).
    const std::string& loser = conflicts[0].loser_position;
    const std::string& winner = conflicts[0].winner_position;
    if (order == 0) {
      EXPECT_EQ(loser, "log:1");
      EXPECT_TRUE(absl::StartsWith(winner, "orders/")) << winner;
      EXPECT_TRUE(absl::EndsWith(winner, "/2")) << winner;
    } else {
      EXPECT_EQ(winner, "log:1");
      EXPECT_TRUE(absl::StartsWith(loser, "orders/")) << loser;
      EXPECT_TRUE(absl::EndsWith(loser, "/2")) << loser;
    }
  }
  EXPECT_EQ(snapshots[0], snapshots[1]);
}

// The same event written twice in other JSON (key order, spacing, unknown
// fields, "100.0" for "100.00") is a redelivery, not a conflict.
TEST(ConflictingDuplicates, OtherJsonOfTheSameEventIsARedelivery) {
  StoreRun run(TempDir("conflict_same"));
  const std::string a =
      R"({"type":"order","id":"o1p","ts":1794276060000,"order":"o1","buyer":"u1","status":"paid","amount":100.00,"items":1})";
  const std::string b =
      R"({ "items": 1, "amount": 100.0, "status": "paid", "buyer": "u1", "order": "o1", "ts": 1794276060000, "id": "o1p", "type": "order", "note": "x" })";
  EventParser parser;
  Event ea, eb;
  ASSERT_TRUE(parser.Parse(a, &ea).ok());
  ASSERT_TRUE(parser.Parse(b, &eb).ok());
  run.Feed({{ea, a, 1}, {eb, b, 2}}, 1);
  EXPECT_EQ(run.engine().stats().accepted, 1);
  EXPECT_EQ(run.engine().stats().duplicates, 1);
  EXPECT_EQ(run.engine().stats().conflicts, 0);
  EXPECT_EQ(run.StoredConflicts(), 0);
}

// Changes one field of `e` (a conflicting copy), keeping it valid.
Event Mutate(const Event& e, std::mt19937_64& rng) {
  Event m = e;
  const int what = static_cast<int>(rng() % 4);
  const int64_t shift = (static_cast<int64_t>(rng() % 7) - 3) * 61'000 + 1;
  switch (e.type) {
    case EventType::kChat:
      if (what == 0) m.ts_ms += shift;
      if (what == 1) m.text = m.text == "亲" ? "不知道" : "亲";
      if (what == 2) m.inbound = !m.inbound;
      if (what == 3) m.buyer += "x";
      break;
    case EventType::kOrder:
      if (what == 0) m.ts_ms += shift;
      if (what == 1) m.amount_fen += 100;
      if (what == 2) m.items += 1;
      if (what == 3) m.buyer += "x";
      break;
    case EventType::kAssessment:
      m.value_text += "1";
      break;
  }
  return m;
}

// Generated months with conflicting copies (one to three per chosen id),
// shuffled, committed at random sizes, with a restart halfway: the
// snapshot is the reference model's over the winners of its own rule, and
// the conflicts counted are the distinct losing contents.
class ConflictRandomized : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ConflictRandomized, MatchesReferenceWinners) {
  const uint64_t seed = GetParam();
  GeneratorOptions opts;
  opts.seed = seed;
  opts.agents = 3;
  opts.buyers = 30 + seed % 20;
  auto generated = GenerateEvents(opts);
  ASSERT_TRUE(generated.ok()) << generated.status();
  std::mt19937_64 rng(seed * 7919);
  std::vector<Event> events = *generated;
  const size_t originals = events.size();
  for (size_t i = 0; i < originals; ++i) {
    if (rng() % 5 != 0) continue;  // a fifth of the ids get copies
    const int copies = 1 + static_cast<int>(rng() % 3);
    Event base = events[i];
    for (int c = 0; c < copies; ++c) {
      // A copy of the original or of an earlier copy; now and then an
      // exact one (a plain redelivery).
      if (rng() % 4 != 0) base = Mutate(base, rng);
      events.push_back(base);
    }
  }
  std::shuffle(events.begin(), events.end(), rng);
  std::vector<Line> lines;
  for (size_t i = 0; i < events.size(); ++i) {
    lines.push_back(
        {events[i], EventJson(events[i]), static_cast<int64_t>(i + 1)});
  }
  const Rules rules = TestRules();
  const RefDays ref = ReferenceDays(ReferenceWinners(events), rules);
  const int64_t conflicts = ReferenceConflicts(events);
  ASSERT_GT(conflicts, 10);

  StoreRun run(TempDir("conflict_rand"));
  const size_t half = lines.size() / 2;
  run.Feed({lines.begin(), lines.begin() + half}, 1 + rng() % 500);
  run.Restart();
  run.Feed({lines.begin() + half, lines.end()}, 1 + rng() % 500);
  const absl::CivilDay from(2026, 10, 30), to(2026, 12, 2);
  const RefSnapshot want = ReferencePeriod(ref, DayNumber(from), DayNumber(to));
  testing::ExpectSameAsReference(run.Snapshot(from, to), want);
  EXPECT_EQ(run.StoredConflicts(), conflicts);
  // Every copy kept its original's id.
  auto held = EventsHeld(run.store());
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, static_cast<int64_t>(originals));
}

INSTANTIATE_TEST_SUITE_P(Seeds, ConflictRandomized,
                         ::testing::Range<uint64_t>(1, 9));

}  // namespace
}  // namespace chatkpi

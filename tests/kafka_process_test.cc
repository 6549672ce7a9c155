// Whole-process Kafka tests: `chatkpi broker` in one process, consumers
// (`chatkpi run`) in others that the tests SIGKILL, kcat as an outside
// client. The mock broker makes a group wait session.timeout.ms (6 s here)
// for a member that died, so each restart after a kill costs about that.
#include <signal.h>

#include <filesystem>
#include <random>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ingest/kafka_router.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::BrokerProcess;
using testing::ChildProcess;
using testing::Dataset;
using testing::MakeDataset;
using testing::MemberArgs;
using testing::OwnedView;
using testing::ReadOwnedView;
using testing::SettledOwnership;
using testing::SmallMonth;
using testing::SnapshotJson;
using testing::TempDir;
using testing::WaitUntil;

// The "assigned ..." line that starts the member's last assignment.
std::string LastAssignment(const std::string& err) {
  const size_t at = err.rfind("assigned ");
  return at == std::string::npos ? "" : err.substr(at, err.find('\n', at) - at);
}

// `chatkpi produce` of `file` into `broker`, expected to exit 0: its stderr.
std::string Produce(const BrokerProcess& broker, const std::string& file) {
  std::string err;
  EXPECT_EQ(
      testing::RunChatkpi({"produce", "--brokers", broker.bootstrap(), file},
                          nullptr, &err),
      0)
      << err;
  return err;
}

void ExpectEachEventOnce(const OwnedView& v, const Dataset& d) {
  EXPECT_EQ(v.event_ids.size(), d.event_ids.size())
      << "the event log must hold every valid event exactly once";
  EXPECT_EQ(std::set<std::string>(v.event_ids.begin(), v.event_ids.end()),
            d.event_ids);
}

// Messages a member has applied, from its last progress line ("N events/s,
// M messages (...)"); 0 before the first.
int64_t MessagesApplied(const std::string& err) {
  const size_t at = err.rfind(" messages (");
  if (at == std::string::npos) return 0;
  const size_t begin = err.rfind(' ', at - 1) + 1;
  int64_t n = 0;
  return absl::SimpleAtoi(err.substr(begin, at - begin), &n) ? n : 0;
}

// The members' engines on one thread, or on two (`run --threads`).
class KafkaProcessThreads : public ::testing::TestWithParam<int> {
 protected:
  std::vector<std::string> Member(const std::string& brokers,
                                  const std::string& group,
                                  const std::string& db) {
    std::vector<std::string> args = MemberArgs(brokers, group, db);
    args.push_back("--threads");
    args.push_back(absl::StrCat(GetParam()));
    return args;
  }
};

TEST_P(KafkaProcessThreads, SigkillMidStreamThenRestartCountsEveryEventOnce) {
  const std::string dir = TempDir("kafka_kill");
  BrokerProcess broker(dir, 4);
  ASSERT_FALSE(broker.bootstrap().empty());
  const Dataset d = MakeDataset(dir, SmallMonth(6000, 21));
  testing::Publish(broker.bootstrap(), d.lines);
  const std::string db = dir + "/db";
  std::vector<std::string> run = Member(broker.bootstrap(), "kill", db);
  // Slow enough that the kills land mid-stream, with commits in between.
  for (const char* a :
       {"--until-caught-up", "--max-rate", "1500", "--commit-every", "150"}) {
    run.push_back(a);
  }

  std::mt19937 rng(5);
  std::uniform_int_distribution<int> delay_ms(0, 300);
  size_t stored = 0;
  int mid_stream = 0;
  // Three kills; up to two more when a kill came before the run's first
  // commit (a loaded machine, a sanitizer build), so that at least two
  // really interrupt the stream. Such a kill stores nothing, so the extra
  // runs do not bring the stream closer to its end.
  for (int k = 0; k < 3 || (mid_stream < 2 && k < 5); ++k) {
    ChildProcess consumer(run, dir + "/run.out",
                          absl::StrCat(dir, "/run", k, ".err"));
    // Killed at a random instant after this run has applied 300 messages
    // (so committed at least once: --commit-every 150), not at a fixed
    // delay: on a loaded machine a run can take over a second to start
    // fetching, and a kill before its first commit interrupts nothing.
    ASSERT_TRUE(WaitUntil(absl::Seconds(30), [&] {
      return MessagesApplied(consumer.Stderr()) >= 300;
    })) << consumer.Stderr();
    absl::SleepFor(absl::Milliseconds(delay_ms(rng)));
    consumer.Signal(SIGKILL);
    ASSERT_EQ(consumer.Wait(absl::Seconds(10)), 128 + SIGKILL);
    EXPECT_EQ(consumer.Stderr().find("caught up"), std::string::npos);
    const size_t now = ReadOwnedView(db).event_ids.size();
    EXPECT_GE(now, stored) << "committed events never disappear";
    if (now > stored && now < d.event_ids.size()) ++mid_stream;
    stored = now;
  }
  EXPECT_GE(mid_stream, 2) << "the kills should interrupt the stream";

  ChildProcess last(run, dir + "/run.out", dir + "/run_last.err");
  ASSERT_EQ(last.Wait(absl::Seconds(45)), 0) << last.Stderr();
  // It resumed at stored offsets (partitions the killed runs had not
  // reached yet start at the beginning).
  EXPECT_TRUE(std::regex_search(LastAssignment(last.Stderr()),
                                std::regex("/[0-9]+@[0-9]+")))
      << last.Stderr();

  EXPECT_EQ(SnapshotJson(db), d.snapshot_json);
  const OwnedView v = ReadOwnedView(db);
  ExpectEachEventOnce(v, d);
  EXPECT_EQ(v.dead_letters, d.malformed);
  EXPECT_EQ(v.rows, d.rows);
  std::filesystem::remove_all(dir);
}

TEST_P(KafkaProcessThreads,
       TwoMembersShareThePartitionsAndMovedOnesAreRebuilt) {
  const std::string dir = TempDir("kafka_two");
  BrokerProcess broker(dir, 4);
  ASSERT_FALSE(broker.bootstrap().empty());
  const Dataset d = MakeDataset(dir, SmallMonth(3000, 31));
  testing::Publish(broker.bootstrap(), d.lines);
  const std::string db_a = dir + "/a", db_b = dir + "/b";

  // A alone takes all four partitions and reads them to the end.
  auto a = std::make_unique<ChildProcess>(
      Member(broker.bootstrap(), "two", db_a), dir + "/a.out", dir + "/a.err");
  ASSERT_TRUE(WaitUntil(absl::Seconds(30), [&] {
    return SettledOwnership(a->Stderr()) == std::set<uint32_t>{0, 1, 2, 3};
  })) << a->Stderr();

  // B joins: the group splits the partitions; B builds its share from the
  // topics' beginning, A keeps the rest.
  auto b = std::make_unique<ChildProcess>(
      Member(broker.bootstrap(), "two", db_b), dir + "/b.out", dir + "/b.err");
  std::set<uint32_t> owned_a, owned_b;
  ASSERT_TRUE(WaitUntil(
      absl::Seconds(40),
      [&] {
        auto oa = SettledOwnership(a->Stderr());
        auto ob = SettledOwnership(b->Stderr());
        if (!oa.has_value() || !ob.has_value() || oa->empty() || ob->empty()) {
          return false;
        }
        std::set<uint32_t> all = *oa;
        all.insert(ob->begin(), ob->end());
        if (all != std::set<uint32_t>{0, 1, 2, 3} || all.size() != 4)
          return false;
        owned_a = *oa;
        owned_b = *ob;
        return true;
      }))
      << a->Stderr() << "\n"
      << b->Stderr();
  EXPECT_EQ(owned_a.size() + owned_b.size(), 4u);
  EXPECT_NE(LastAssignment(b->Stderr()).find("@beginning"), std::string::npos);

  // Both die at once; their stores hold what they had committed.
  a->Signal(SIGKILL);
  b->Signal(SIGKILL);
  a->Wait(absl::Seconds(10));
  b->Wait(absl::Seconds(10));
  const OwnedView va = ReadOwnedView(db_a), vb = ReadOwnedView(db_b);
  ASSERT_TRUE(va.owned.has_value() && vb.owned.has_value());
  EXPECT_EQ(std::set<uint32_t>(va.owned->begin(), va.owned->end()), owned_a);
  EXPECT_EQ(std::set<uint32_t>(vb.owned->begin(), vb.owned->end()), owned_b);
  // A still has rows of the partitions it handed over, but no longer
  // counts them.
  EXPECT_EQ(va.shards_with_rows, (std::set<uint32_t>{0, 1, 2, 3}));
  std::map<std::string, Counters> together = va.rows;
  testing::AddRows(&together, vb.rows);
  EXPECT_EQ(testing::NonZero(together), d.rows)
      << "the owners' shares must add up to the single-run KPIs";
  EXPECT_EQ(va.dead_letters + vb.dead_letters, d.malformed);

  // B comes back alone: after the dead members' sessions expire it owns
  // everything, resuming its own partitions at its stored offsets and
  // rebuilding A's from the beginning.
  b = std::make_unique<ChildProcess>(
      [&] {
        auto args = Member(broker.bootstrap(), "two", db_b);
        args.push_back("--until-caught-up");
        return args;
      }(),
      dir + "/b.out", dir + "/b2.err");
  ASSERT_EQ(b->Wait(absl::Seconds(45)), 0) << b->Stderr();
  const std::string assignment = LastAssignment(b->Stderr());
  for (uint32_t p : owned_a) {
    EXPECT_NE(assignment.find(absl::StrCat("chat/", p, "@beginning")),
              std::string::npos)
        << assignment;
  }
  for (uint32_t p : owned_b) {
    EXPECT_EQ(assignment.find(absl::StrCat("chat/", p, "@beginning")),
              std::string::npos)
        << assignment;
  }
  const OwnedView vb2 = ReadOwnedView(db_b);
  EXPECT_EQ(*vb2.owned, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(vb2.rows, d.rows);
  EXPECT_EQ(SnapshotJson(db_b), d.snapshot_json);
  ExpectEachEventOnce(vb2, d);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Threads, KafkaProcessThreads, ::testing::Values(1, 2),
                         [](const auto& info) {
                           return absl::StrCat(info.param, "threads");
                         });

// Two members of one group, one given another order topic (a typo of the
// flag, here an existing topic): the range assignor then gives each of them
// every partition of its own order topic, and both would count partitions
// as their own. Each refuses its assignment and exits non-zero, saying why.
TEST(KafkaProcess, MembersNamingOtherOrderTopicsAreRefused) {
  const std::string dir = TempDir("kafka_topic_mismatch");
  const BrokerProcess broker(dir, 4);
  ASSERT_FALSE(broker.bootstrap().empty());
  ChildProcess a(MemberArgs(broker.bootstrap(), "g", dir + "/a"),
                 dir + "/a.out", dir + "/a.err");
  ASSERT_TRUE(WaitUntil(absl::Seconds(30), [&] {
    return SettledOwnership(a.Stderr()).has_value();
  })) << a.Stderr();
  std::vector<std::string> args =
      MemberArgs(broker.bootstrap(), "g", dir + "/b");
  args.insert(args.end(), {"--order-topic", "dlq"});
  ChildProcess b(args, dir + "/b.out", dir + "/b.err");
  const std::string refused =
      "partition p of both topics must go to one member";
  // Each refuses the assignment it shares with the other. On a slow machine
  // one may have left the group before the other's first assignment: that
  // one is then alone and given every partition of its two topics, which no
  // other member counts.
  int refusals = 0;
  for (ChildProcess* member : {&a, &b}) {
    const std::optional<int> code = member->Wait(absl::Seconds(45));
    const std::string err = member->Stderr();
    if (code.has_value()) {
      EXPECT_NE(*code, 0) << err;
      EXPECT_NE(err.find(refused), std::string::npos) << err;
      ++refusals;
      continue;
    }
    member->Signal(SIGKILL);
    member->Wait(absl::Seconds(10));
    EXPECT_EQ(err.find(refused), std::string::npos) << err;
    EXPECT_EQ(SettledOwnership(err), (std::set<uint32_t>{0, 1, 2, 3})) << err;
  }
  EXPECT_GE(refusals, 1);
}

TEST(KafkaProcess, KcatProducesIntoTheBroker) {
  const std::string dir = TempDir("kafka_kcat");
  BrokerProcess broker(dir, 4);
  ASSERT_FALSE(broker.bootstrap().empty());
  GeneratorOptions o = SmallMonth(2000, 41);
  o.malformed_rate = 0.02;
  const Dataset d = MakeDataset(dir, o);
  // kcat reads "key<TAB>value" lines; route them as `chatkpi produce` would.
  std::string chat, orders;
  EventRouter router;
  for (const GeneratedLine& l : d.lines) {
    EventRoute r = router.Route(l.json);
    ASSERT_EQ(r.key.find('\t'), std::string::npos);
    absl::StrAppend(r.topic == EventTopic::kChat ? &chat : &orders, r.key, "\t",
                    l.json, "\n");
  }
  testing::WriteFile(dir + "/chat.kv", chat);
  testing::WriteFile(dir + "/orders.kv", orders);
  for (const char* topic : {"chat", "orders"}) {
    std::string err;
    ASSERT_EQ(testing::RunProgram({"/usr/bin/kcat", "-P", "-b",
                                   broker.bootstrap(), "-t", topic, "-K", "\t"},
                                  nullptr, &err, dir + "/" + topic + ".kv"),
              0)
        << err;
  }

  const std::string db = dir + "/db";
  std::vector<std::string> run = MemberArgs(broker.bootstrap(), "kcat", db);
  run.erase(run.begin());  // RunChatkpi adds the binary
  run.insert(run.end(), {"--until-caught-up", "--dlq-topic", "dlq"});
  std::string err;
  ASSERT_EQ(testing::RunChatkpi(run, nullptr, &err), 0) << err;
  EXPECT_EQ(SnapshotJson(db), d.snapshot_json);
  EXPECT_EQ(ReadOwnedView(db).dead_letters, d.malformed);

  // The dead letters are in the DLQ topic too, with their reason and
  // position in headers, readable by any client.
  std::string out;
  ASSERT_EQ(
      testing::RunProgram({"/usr/bin/kcat", "-C", "-b", broker.bootstrap(),
                           "-t", "dlq", "-e", "-q", "-f", "%h\n"},
                          &out, &err),
      0)
      << err;
  std::vector<std::string> headers =
      absl::StrSplit(out, '\n', absl::SkipEmpty());
  EXPECT_EQ(static_cast<int64_t>(headers.size()), d.malformed);
  for (const std::string& h : headers) {
    EXPECT_NE(h.find("reason="), std::string::npos) << h;
    EXPECT_NE(h.find("position="), std::string::npos) << h;
  }
  std::filesystem::remove_all(dir);
}

TEST(KafkaProcess, DemoPrintsTheMonthOfItsGeneratedEvents) {
  const std::string dir = TempDir("kafka_demo");
  std::string out, err;
  ASSERT_EQ(testing::RunChatkpi({"demo", "--events", "5000", "--seed", "3",
                                 "--partitions", "4"},
                                &out, &err),
            0)
      << err;
  GeneratorOptions o;  // the demo's defaults
  o.seed = 3;
  o.target_events = 5000;
  o.assessments = true;
  o.duplicate_rate = 0.01;
  o.malformed_rate = 0.002;
  o.delay_orders_ms = 600'000;
  EXPECT_EQ(out, MakeDataset(dir, o).snapshot_json);
  EXPECT_NE(err.find("caught up"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

namespace chatkpi {
namespace {

// A topic deleted and re-created (here: a new broker, topics empty again)
// under a member whose store has read further than the new log reaches:
// the consumer is reset to the start, and the member stops, non-zero,
// rather than resume by positions of another log.
TEST(KafkaProcess, TopicRecreatedBehindTheStoredPositionsStopsTheMember) {
  const std::string dir = testing::TempDir("kafka_recreated");
  const std::string db = dir + "/db";
  std::filesystem::create_directories(dir + "/a");
  std::filesystem::create_directories(dir + "/b");
  {
    testing::BrokerProcess broker(dir + "/a", 1);
    ASSERT_FALSE(broker.bootstrap().empty());
    const testing::Dataset d =
        testing::MakeDataset(dir + "/a", testing::SmallMonth(600, 5));
    testing::Publish(broker.bootstrap(), d.lines);
    std::vector<std::string> run =
        MemberArgs(broker.bootstrap(), "recreated", db);
    run.push_back("--until-caught-up");
    std::string err;
    ASSERT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
  }
  testing::BrokerProcess broker(dir + "/b", 1);
  ASSERT_FALSE(broker.bootstrap().empty());
  const testing::Dataset d =
      testing::MakeDataset(dir + "/b", testing::SmallMonth(100, 6));
  testing::Publish(broker.bootstrap(), d.lines);
  std::vector<std::string> run =
      MemberArgs(broker.bootstrap(), "recreated", db);
  run.push_back("--until-caught-up");
  std::string err;
  EXPECT_NE(testing::RunProgram(run, nullptr, &err), 0) << err;
  EXPECT_NE(err.find("the topic was deleted and re-created (or truncated)"),
            std::string::npos)
      << err;
}

// `run` says how many conflicting duplicates it recorded, as `ingest` does.
TEST(KafkaProcess, RunSaysItsConflictingDuplicates) {
  const std::string dir = testing::TempDir("kafka_conflicts");
  testing::BrokerProcess broker(dir, 1);
  ASSERT_FALSE(broker.bootstrap().empty());
  testing::WriteFile(
      dir + "/in.jsonl",
      R"({"type":"chat","id":"c1","ts":1794276000000,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})"
      "\n"
      R"({"type":"chat","id":"c1","ts":1794276001000,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})"
      "\n");
  std::string err = Produce(broker, dir + "/in.jsonl");
  std::vector<std::string> run =
      MemberArgs(broker.bootstrap(), "conflicts", dir + "/db");
  run.push_back("--until-caught-up");
  ASSERT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
  EXPECT_NE(err.find("chatkpi run: 1 conflicting duplicate(s)"),
            std::string::npos)
      << err;
}

// An order whose events name two buyers: keyed by buyer, its events go to
// two partitions, and `run` counts each part as an order (docs/kafka.md,
// "Known limits"). `produce` cannot route it right, but says so.
TEST(KafkaProcess, ProduceWarnsOfAnOrderNamingTwoBuyers) {
  const std::string dir = testing::TempDir("kafka_order_buyers");
  testing::BrokerProcess broker(dir, 2);
  ASSERT_FALSE(broker.bootstrap().empty());
  testing::WriteFile(
      dir + "/in.jsonl",
      R"({"type":"order","id":"o1","ts":1794535210000,"order":"O1","buyer":"alice","status":"created","amount":10,"items":1})"
      "\n"
      R"({"type":"order","id":"o2","ts":1794535220000,"order":"O1","buyer":"bob","status":"paid","amount":10,"items":1})"
      "\n"
      R"({"type":"order","id":"o3","ts":1794535230000,"order":"O2","buyer":"bob","status":"created","amount":10,"items":1})"
      "\n");
  const std::string err = Produce(broker, dir + "/in.jsonl");
  EXPECT_NE(err.find("warning: 1 order event(s) name another buyer than the "
                     "first event of their order (order O1: alice, then bob)"),
            std::string::npos)
      << err;
}

// Keyed by buyer, a buyer's events go to the partition its hash picks
// among the topic's partitions: with more partitions its new events go to
// another one than its old ones, and a conversation would be counted in
// two places. The store keeps the count it was built from and refuses
// topics of another.
TEST(KafkaProcess, TopicsOfAnotherPartitionCountAreRefused) {
  const std::string dir = testing::TempDir("kafka_partition_count");
  testing::WriteFile(
      dir + "/in.jsonl",
      R"({"type":"chat","id":"c1","ts":1794276000000,"buyer":"u1","agent":"shop:a","dir":"in"})"
      "\n");
  const std::string db = dir + "/db";
  for (int partitions : {2, 4}) {
    SCOPED_TRACE(partitions);
    const std::string broker_dir = absl::StrCat(dir, "/b", partitions);
    std::filesystem::create_directories(broker_dir);
    testing::BrokerProcess broker(broker_dir, partitions);
    ASSERT_FALSE(broker.bootstrap().empty());
    std::string err = Produce(broker, dir + "/in.jsonl");
    std::vector<std::string> run = MemberArgs(broker.bootstrap(), "pc", db);
    run.push_back("--until-caught-up");
    const int code = testing::RunProgram(run, nullptr, &err);
    if (partitions == 2) {
      EXPECT_EQ(code, 0) << err;
    } else {
      EXPECT_NE(code, 0);
      EXPECT_NE(err.find("topic chat has 4 partitions, but --db " + db +
                         " was built from 2"),
                std::string::npos)
          << err;
    }
  }
}

// What an operator can get wrong on the command line and used to run with
// exit 0: an output topic that is an input (dead letters read back as dead
// letters, 23 then 43 of 1), group.id or bootstrap.servers as properties
// (they overrode --group and --brokers while the log named the flags), a
// topic name with a typo's quotes, and a store restarted naming another
// order topic (its orders then missing).
TEST(KafkaProcess, RunRefusesTopicsAndPropertiesThatWouldMislead) {
  const std::string dir = testing::TempDir("kafka_mislead");
  testing::BrokerProcess broker(dir, 2);
  ASSERT_FALSE(broker.bootstrap().empty());
  testing::WriteFile(
      dir + "/in.jsonl",
      R"({"type":"chat","id":"c1","ts":1794276000000,"buyer":"u1","agent":"shop:a","dir":"in"})"
      "\n"
      R"({"type":"order","id":"o1","ts":1794276001000,"order":"O1","buyer":"u1","status":"paid","amount":10,"items":1})"
      "\n");
  Produce(broker, dir + "/in.jsonl");
  const std::string db = dir + "/db";
  auto run = [&](std::vector<std::string> extra, std::string* err) {
    std::vector<std::string> args = MemberArgs(broker.bootstrap(), "g", db);
    args.push_back("--until-caught-up");
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunProgram(args, nullptr, err);
  };
  std::string err;
  ASSERT_EQ(run({}, &err), 0) << err;
  const struct {
    std::vector<std::string> extra;
    int code;
    const char* says;
  } kCases[] = {
      {{"--order-topic", "st"}, 1, "was fed from topic orders"},
      {{"--dlq-topic", "chat"}, 2, "--dlq-topic chat is an input topic"},
      {{"--changelog-topic", "orders"}, 2, "is an input topic"},
      {{"--kafka-config", "group.id=other"},
       2,
       "group.id is given with --group"},
      {{"--kafka-config", "bootstrap.servers=127.0.0.1:1"},
       2,
       "bootstrap.servers is given with --brokers"},
      {{"--order-topic", "\"orders\""}, 2, "is not a Kafka topic name"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.extra.back());
    EXPECT_EQ(run(c.extra, &err), c.code) << err;
    EXPECT_NE(err.find(c.says), std::string::npos) << err;
  }
}

// `run` does not follow a replay's switch: a replay of a replayed store
// beside a running member switched DIR and exited 0, while the member
// went on writing the old generation under the old rules (DIR then lacked
// every new event). A replay refuses a Kafka member's store in use.
TEST(KafkaProcess, ReplayRefusesAStoreAMemberHasOpen) {
  const std::string dir = testing::TempDir("kafka_replay_busy");
  testing::BrokerProcess broker(dir, 1);
  ASSERT_FALSE(broker.bootstrap().empty());
  testing::WriteFile(
      dir + "/in.jsonl",
      R"({"type":"chat","id":"c1","ts":1794276000000,"buyer":"u1","agent":"shop:a","dir":"in"})"
      "\n");
  Produce(broker, dir + "/in.jsonl");
  testing::WriteFile(dir + "/v2.json", R"({"version": "v2"})");
  const std::string db = dir + "/db";
  ChildProcess member(MemberArgs(broker.bootstrap(), "g", db), dir + "/m.out",
                      dir + "/m.err");
  ASSERT_TRUE(WaitUntil(absl::Seconds(30), [&] {
    return SettledOwnership(member.Stderr()).has_value();
  })) << member.Stderr();
  std::string err;
  EXPECT_EQ(
      testing::RunChatkpi({"replay", "--db", db, "--rules", dir + "/v2.json"},
                          nullptr, &err),
      1);
  EXPECT_NE(err.find("is a Kafka member's store and a `chatkpi run` has it "
                     "open"),
            std::string::npos)
      << err;
  member.Signal(SIGTERM);
  ASSERT_TRUE(member.Wait(absl::Seconds(30)).has_value());
  // Stopped, the member's store replays.
  EXPECT_EQ(
      testing::RunChatkpi({"replay", "--db", db, "--rules", dir + "/v2.json"},
                          nullptr, &err),
      0)
      << err;
}

// Messages the broker deleted (retention) before the member read them are
// not silently skipped: the member warns which offsets it never saw and
// `stats` counts them (payroll must not lose events quietly).
TEST(KafkaProcess, OffsetsDeletedBeforeTheyWereReadAreReported) {
  const std::string dir = testing::TempDir("kafka_gap");
  testing::BrokerProcess broker(dir, 1);
  ASSERT_FALSE(broker.bootstrap().empty());
  const std::string db = dir + "/db";
  std::vector<std::string> run = MemberArgs(broker.bootstrap(), "gap", db);
  run.push_back("--until-caught-up");
  std::filesystem::create_directories(dir + "/a");
  std::filesystem::create_directories(dir + "/b");

  const testing::Dataset first =
      testing::MakeDataset(dir + "/a", testing::SmallMonth(500, 3));
  testing::Publish(broker.bootstrap(), first.lines);
  std::string err;
  ASSERT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
  EXPECT_EQ(err.find("never delivered"), std::string::npos) << err;

  // Far more than the embedded broker keeps of one partition (~5 MiB):
  // the oldest of these are deleted before the member comes back.
  auto big = testing::SmallMonth(60000, 4);
  big.month = "2026-10";
  const testing::Dataset second = testing::MakeDataset(dir + "/b", big);
  testing::Publish(broker.bootstrap(), second.lines);
  ASSERT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
  EXPECT_NE(err.find("chat/0 offsets "), std::string::npos) << err;
  EXPECT_NE(err.find("were never delivered"), std::string::npos) << err;

  std::string stats;
  ASSERT_EQ(testing::RunChatkpi({"stats", "--db", db}, &stats), 0);
  const size_t at = stats.find("\"skipped_offsets\": ");
  ASSERT_NE(at, std::string::npos) << stats;
  EXPECT_NE(stats.substr(at, 21), "\"skipped_offsets\": 0,") << stats;
}

}  // namespace
}  // namespace chatkpi

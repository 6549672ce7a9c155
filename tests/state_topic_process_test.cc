// The state topic (engine/state_topic.h, docs/scaling.md "The state
// topic"): a member that takes over a partition whose start the input
// topics no longer hold restores the partition from the state topic and
// gets the exact month; one without it cannot.
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "engine/rules.h"
#include "engine/state_topic.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "ingest/kafka_mock_cluster.h"
#include "ingest/kafka_producer.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/kafka_test_util.h"
#include "tests/reference_model.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChildProcess;
using testing::Dataset;
using testing::MakeDataset;
using testing::MemberArgs;
using testing::SmallMonth;
using testing::TempDir;
using testing::WaitUntil;

// `chatkpi run --until-caught-up --changelog-topic changelog` as a member
// of group "g"; its stderr.
std::string CatchUp(const std::string& brokers, const std::string& db,
                    const std::string& state_topic) {
  std::vector<std::string> run = MemberArgs(brokers, "g", db);
  run.push_back("--until-caught-up");
  run.push_back("--changelog-topic");
  run.push_back("changelog");
  if (!state_topic.empty()) {
    run.push_back("--state-topic");
    run.push_back(state_topic);
  }
  std::string err;
  EXPECT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
  return err;
}

// A store's November against the batch reference model over `lines`.
void ExpectReferenceMonth(const std::string& db,
                          const std::vector<GeneratedLine>& lines,
                          int64_t malformed) {
  std::vector<Event> events;
  EventParser parser;
  Event e;
  for (const GeneratedLine& l : lines) {
    if (l.kind != LineKind::kMalformed && parser.Parse(l.json, &e).ok()) {
      events.push_back(e);
    }
  }
  auto rules = DefaultRules();
  ASSERT_TRUE(rules.ok());
  const RefSnapshot want =
      ReferenceSnapshot(events, *rules, DayNumber(absl::CivilDay(2026, 11, 1)),
                        DayNumber(absl::CivilDay(2026, 11, 30)));
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto got = ReadSnapshot(**store, absl::CivilDay(2026, 11, 1),
                          absl::CivilDay(2026, 11, 30));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->dead_letters, malformed);
  std::map<std::string, Counters> agents;
  for (const AgentRow& r : got->agents) agents[r.agent] = r.counters;
  EXPECT_EQ(agents.size(), want.agents.size());
  for (const auto& [agent, c] : want.agents) {
    for (int i = 0; i < kNumCounters; ++i) {
      EXPECT_EQ(agents[agent][i], c[i]) << agent << " " << kCounterNames[i];
    }
  }
  for (int i = 0; i < kNumCounters; ++i) {
    EXPECT_EQ(got->unattributed[i], want.unattributed[i])
        << "unattributed " << kCounterNames[i];
  }
}

TEST(StateTopicProcess, AFreshMemberRestoresAPartitionWhoseStartIsGone) {
  const std::string dir = TempDir("state_topic_restore");
  // One partition per topic, so that the whole month is in it: far more
  // than the embedded broker keeps of a partition (~5 MiB).
  ChildProcess broker(
      {CHATKPI_BINARY, "broker", "--partitions", "1", "--state-topic", "state",
       "--changelog-topic", "changelog"},
      dir + "/broker.out", dir + "/broker.err");
  ASSERT_TRUE(WaitUntil(absl::Seconds(10), [&] {
    return broker.Stdout().find('\n') != std::string::npos;
  })) << broker.Stderr();
  const std::string brokers =
      broker.Stdout().substr(0, broker.Stdout().find('\n'));
  const Dataset d = MakeDataset(dir, SmallMonth(60000, 17));
  ASSERT_FALSE(d.snapshot_json.empty());

  // Member A reads the month as it arrives, in six parts, publishing the
  // partition's state; the seventh part arrives after A is gone.
  constexpr int kParts = 7;
  std::vector<std::vector<GeneratedLine>> parts(kParts);
  for (size_t i = 0; i < d.lines.size(); ++i) {
    parts[i * kParts / d.lines.size()].push_back(d.lines[i]);
  }
  const std::string a_db = dir + "/a";
  for (int i = 0; i + 1 < kParts; ++i) {
    testing::Publish(brokers, parts[i]);
    const std::string err = CatchUp(brokers, a_db, "state");
    ASSERT_EQ(err.find("were never delivered"), std::string::npos) << err;
  }
  testing::Publish(brokers, parts[kParts - 1]);
  EXPECT_EQ(testing::SnapshotJson(a_db).empty(), false);

  // The input topics no longer start at offset 0: a member without the
  // state topic says its events are missing.
  {
    std::vector<std::string> run = MemberArgs(brokers, "other", dir + "/c");
    run.push_back("--until-caught-up");
    std::string err;
    ASSERT_EQ(testing::RunProgram(run, nullptr, &err), 0) << err;
    EXPECT_NE(err.find("were never delivered"), std::string::npos) << err;
    EXPECT_NE(testing::SnapshotJson(dir + "/c"), d.snapshot_json);
  }

  // A fresh member of A's group takes the partition over: it restores the
  // state A published, then reads the seventh part from the input.
  const std::string b_db = dir + "/b";
  const std::string err = CatchUp(brokers, b_db, "state");
  const size_t restored = err.find("state: restored partition 0 from state");
  EXPECT_NE(restored, std::string::npos) << err;
  if (restored != std::string::npos) {
    std::cout << err.substr(restored, err.find('\n', restored) - restored)
              << "\n";
  }
  EXPECT_EQ(err.find("were never delivered"), std::string::npos) << err;
  EXPECT_EQ(testing::SnapshotJson(b_db), d.snapshot_json);
  ExpectReferenceMonth(b_db, d.lines, d.malformed);

  // The team view: B took the partition's changelog over with the
  // restored rows.
  ChildProcess query(
      {CHATKPI_BINARY, "serve", "--from-changelog", "--brokers", brokers,
       "--changelog-topic", "changelog", "--no-auth", "--port", "0"},
      dir + "/query.out", dir + "/query.err");
  const int port = testing::ListeningPort(query, absl::Seconds(15));
  ASSERT_NE(port, 0) << query.Stderr();
  std::string seen;
  EXPECT_TRUE(WaitUntil(absl::Seconds(30),
                        [&] {
                          seen = testing::MonthSnapshot(port);
                          return seen == d.snapshot_json;
                        }))
      << "query instance:\n"
      << seen << "\nsingle process:\n"
      << d.snapshot_json;
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

// `chatkpi run --state-topic state --changelog-topic changelog` in group
// "g", left running.
std::unique_ptr<ChildProcess> StartMember(const std::string& brokers,
                                          const std::string& dir,
                                          const std::string& name) {
  std::vector<std::string> run = MemberArgs(brokers, "g", dir + "/" + name);
  for (const char* flag :
       {"--state-topic", "state", "--changelog-topic", "changelog"}) {
    run.push_back(flag);
  }
  return std::make_unique<ChildProcess>(run, dir + "/" + name + ".out",
                                        dir + "/" + name + ".err");
}

// Partitions move: to a new member (restored from the state topic), back
// after it is killed (restored onto a store that holds them in part), and
// the survivor's month and the team view stay exact.
TEST(StateTopicProcess, PartitionsMovingBetweenMembersStayExact) {
  const std::string dir = TempDir("state_topic_moves");
  constexpr int kPartitions = 4;
  ChildProcess broker(
      {CHATKPI_BINARY, "broker", "--partitions", absl::StrCat(kPartitions),
       "--state-topic", "state", "--changelog-topic", "changelog"},
      dir + "/broker.out", dir + "/broker.err");
  ASSERT_TRUE(WaitUntil(absl::Seconds(10), [&] {
    return broker.Stdout().find('\n') != std::string::npos;
  })) << broker.Stderr();
  const std::string brokers =
      broker.Stdout().substr(0, broker.Stdout().find('\n'));
  const Dataset d = MakeDataset(dir, SmallMonth(8000, 23));
  ASSERT_FALSE(d.snapshot_json.empty());
  std::vector<std::vector<GeneratedLine>> halves(2);
  for (size_t i = 0; i < d.lines.size(); ++i) {
    halves[i * 2 / d.lines.size()].push_back(d.lines[i]);
  }
  testing::Publish(brokers, halves[0]);

  auto a = StartMember(brokers, dir, "a");
  ASSERT_TRUE(WaitUntil(absl::Seconds(40), [&] {
    auto owned = testing::SettledOwnership(a->Stderr());
    return owned.has_value() && owned->size() == kPartitions;
  })) << a->Stderr();

  // B takes some partitions over and restores them from what A published.
  auto b = StartMember(brokers, dir, "b");
  std::set<uint32_t> b_owns;
  ASSERT_TRUE(WaitUntil(
      absl::Seconds(60),
      [&] {
        auto owned_a = testing::SettledOwnership(a->Stderr());
        auto owned_b = testing::SettledOwnership(b->Stderr());
        if (!owned_a.has_value() || !owned_b.has_value() || owned_b->empty() ||
            owned_a->size() + owned_b->size() != kPartitions) {
          return false;
        }
        b_owns = *owned_b;
        return true;
      }))
      << a->Stderr() << "\n----\n"
      << b->Stderr();
  for (uint32_t p : b_owns) {
    EXPECT_NE(b->Stderr().find(
                  absl::StrCat("state: restored partition ", p, " from state")),
              std::string::npos)
        << b->Stderr();
  }

  // B reads part of the second half of its partitions and dies at that
  // instant; A takes them back and restores what B added on top of what
  // its own store holds, then reads the rest from the input.
  testing::Publish(brokers, halves[1]);
  const size_t a_log_before = a->Stderr().size();
  // Two progress lines of B counting messages: its loop commits (and
  // publishes the positions) every 100 ms, so by the second one what it
  // had read at the first is in the state topic.
  ASSERT_TRUE(WaitUntil(absl::Seconds(60), [&] {
    // "<rate> events/s, <messages> messages (...".
    const std::string err = b->Stderr();
    int lines = 0;
    for (size_t at = err.find(" messages ("); at != std::string::npos;
         at = err.find(" messages (", at + 1)) {
      const size_t from = err.rfind(' ', at - 1) + 1;
      int64_t messages = 0;
      if (absl::SimpleAtoi(err.substr(from, at - from), &messages) &&
          messages > 0) {
        ++lines;
      }
    }
    return lines >= 2;
  })) << b->Stderr();
  b->Signal(SIGKILL);
  ASSERT_EQ(b->Wait(absl::Seconds(10)), 128 + SIGKILL);
  ASSERT_TRUE(WaitUntil(absl::Seconds(60), [&] {
    auto owned = testing::SettledOwnership(a->Stderr());
    return owned.has_value() && owned->size() == kPartitions;
  })) << a->Stderr();
  // At least one of B's partitions is ahead of A's store in the state
  // topic, so A restores it (the others, if B read nothing of them, A
  // resumes from its own positions).
  const std::string a_err = a->Stderr();
  int restored = 0;
  for (uint32_t p : b_owns) {
    restored +=
        a_err.find(absl::StrCat("state: restored partition ", p, " from state"),
                   a_log_before) != std::string::npos;
  }
  EXPECT_GE(restored, 1) << a_err;

  ChildProcess query(
      {CHATKPI_BINARY, "serve", "--from-changelog", "--brokers", brokers,
       "--changelog-topic", "changelog", "--no-auth", "--port", "0"},
      dir + "/query.out", dir + "/query.err");
  const int port = testing::ListeningPort(query, absl::Seconds(15));
  ASSERT_NE(port, 0) << query.Stderr();
  std::string seen;
  EXPECT_TRUE(WaitUntil(absl::Seconds(30),
                        [&] {
                          seen = testing::MonthSnapshot(port);
                          return seen == d.snapshot_json;
                        }))
      << "query instance:\n"
      << seen << "\nsingle process:\n"
      << d.snapshot_json;
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(absl::Seconds(30)), 0) << a->Stderr();
  EXPECT_EQ(testing::SnapshotJson(dir + "/a"), d.snapshot_json);
  ExpectReferenceMonth(dir + "/a", d.lines, d.malformed);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

// Positions of a former owner that arrive after the current owner's are
// ignored; events of any owner are kept.
TEST(StateTopic, RestoresTheNewestOwnersPositions) {
  auto cluster = KafkaMockCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic("state", 2).ok());
  KafkaClientConfig config;
  config.brokers = (*cluster)->bootstrap();
  auto publisher = StateTopicPublisher::Open(config, "state", 2);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  const std::string e1 =
      R"({"type":"chat","id":"c1","ts":1794272400000,"buyer":"u1",)"
      R"("agent":"shop:a","dir":"in"})";
  const std::string e2 =
      R"({"type":"chat","id":"c2","ts":1794272460000,"buyer":"u1",)"
      R"("agent":"shop:a","dir":"out"})";
  StatePositions p7;
  p7.last[0] = 7;
  p7.last[1] = 3;
  p7.records = 1;
  (*publisher)->AddEvent(1, /*epoch=*/5, "c1", e1);
  ASSERT_TRUE((*publisher)->PublishPositions(1, 5, p7).ok());
  // The former owner (epoch 4), still running, read one more.
  StatePositions p9 = p7;
  p9.last[0] = 9;
  p9.records = 2;
  (*publisher)->AddEvent(1, /*epoch=*/4, "c2", e2);
  ASSERT_TRUE((*publisher)->PublishPositions(1, 4, p9).ok());

  const std::string dir = TempDir("state_topic_epochs");
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  auto rules = DefaultRules();
  ASSERT_TRUE(rules.ok());
  EngineOptions eo;
  eo.shard = 1;
  auto engine = Engine::Open(*rules, store->get(), eo);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::string sources[2] = {"kafka/chat/1", "kafka/orders/1"};
  auto took = TakeOverPartitionState(config, "state", 1, 6, sources, 1000,
                                     engine->get(), [](const std::string&) {});
  ASSERT_TRUE(took.ok()) << took.status();
  EXPECT_TRUE(took->restored);
  EXPECT_TRUE(took->complete);
  EXPECT_EQ(took->events, 2);
  // Epoch 5's positions (7, 3), not epoch 4's later (9, 3): offsets 8 and
  // 9 are read again from the input, where c2 is a redelivery.
  EXPECT_EQ(took->positions.last[0], 7);
  auto chat = (*engine)->GetPosition("kafka/chat/1");
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->value_or(""), "7");
  auto order = (*engine)->GetPosition("kafka/orders/1");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->value_or(""), "3");
  EXPECT_EQ((*engine)->stats().accepted, 2);

  // Taking it over again restores nothing: the store is not behind.
  auto again = TakeOverPartitionState(config, "state", 1, 6, sources, 1000,
                                      engine->get(), [](const std::string&) {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->restored);
  EXPECT_EQ((*engine)->stats().accepted, 2);

  // A takeover in generation 4 (the group was re-created) is refused.
  auto recreated =
      TakeOverPartitionState(config, "state", 1, 4, sources, 1000,
                             engine->get(), [](const std::string&) {});
  EXPECT_EQ(recreated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(recreated.status().message().find("the group was re-created"),
            std::string_view::npos)
      << recreated.status();
  engine->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

// Takes partition 0 of topic "state" over onto a new store and expects the
// state refused: nothing restored, nothing applied, no position taken.
// Returns what the takeover logged.
std::string TakeOverExpectingRefusal(const KafkaClientConfig& config,
                                     const std::string& name) {
  const std::string dir = TempDir(name);
  auto store = Store::Open(dir + "/db", StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return "";
  auto rules = DefaultRules();
  EXPECT_TRUE(rules.ok());
  auto engine = Engine::Open(*rules, store->get(), {});
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return "";
  const std::string sources[2] = {"kafka/chat/0", "kafka/orders/0"};
  std::string logged;
  auto took = TakeOverPartitionState(
      config, "state", 0, 6, sources, 1000, engine->get(),
      [&](const std::string& line) { logged += line; });
  EXPECT_TRUE(took.ok()) << took.status();
  if (took.ok()) {
    EXPECT_FALSE(took->restored);
    EXPECT_FALSE(took->complete);
  }
  auto chat = (*engine)->GetPosition("kafka/chat/0");
  EXPECT_TRUE(chat.ok() && !chat->has_value());
  EXPECT_EQ((*engine)->stats().accepted, 0);
  engine->reset();
  store->reset();
  std::filesystem::remove_all(dir);
  return logged;
}

// A state published by a member whose store held history before the
// topic existed is incomplete: restoring it would lose that history.
TEST(StateTopic, RefusesToRestoreAnIncompleteState) {
  auto cluster = KafkaMockCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic("state", 1).ok());
  KafkaClientConfig config;
  config.brokers = (*cluster)->bootstrap();
  auto publisher = StateTopicPublisher::Open(config, "state", 1);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  StatePositions p;
  p.last[0] = 100;
  p.last[1] = 50;
  p.complete = false;
  ASSERT_TRUE((*publisher)->PublishPositions(0, 3, p).ok());
  const std::string logged =
      TakeOverExpectingRefusal(config, "state_topic_incomplete");
  EXPECT_NE(logged.find("only in part"), std::string::npos) << logged;
}

// A state that lost records (time or size retention on the topic) is not
// restored: the restore would silently lack the deleted events.
TEST(StateTopic, RefusesToRestoreAStateThatLostRecords) {
  auto cluster = KafkaMockCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic("state", 1).ok());
  KafkaClientConfig config;
  config.brokers = (*cluster)->bootstrap();
  auto publisher = StateTopicPublisher::Open(config, "state", 1);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  // As if retention had deleted two of the three events published.
  (*publisher)
      ->AddEvent(0, 3, "c1",
                 R"({"type":"chat","id":"c1","ts":1794272400000,)"
                 R"("buyer":"u1","agent":"shop:a","dir":"in"})");
  StatePositions p;
  p.last[0] = 2;
  p.records = 3;
  ASSERT_TRUE((*publisher)->PublishPositions(0, 3, p).ok());
  const std::string logged =
      TakeOverExpectingRefusal(config, "state_topic_lost");
  EXPECT_NE(logged.find("holds 1 events and dead letters of partition 0, "
                        "fewer than the 3"),
            std::string::npos)
      << logged;
}

TEST(StateTopic, PositionsRoundTrip) {
  StatePositions p;
  p.last[0] = 12;
  p.last[1] = -1;
  p.complete = false;
  p.records = 40;
  EXPECT_EQ(EncodeStatePositions(p), "12 -1 0 40");
  StatePositions q;
  ASSERT_TRUE(DecodeStatePositions("12 -1 0 40", &q));
  EXPECT_EQ(q.last[0], 12);
  EXPECT_EQ(q.last[1], -1);
  EXPECT_FALSE(q.complete);
  EXPECT_EQ(q.records, 40);
  EXPECT_FALSE(DecodeStatePositions("12 -1 0", &q));
  EXPECT_FALSE(DecodeStatePositions("12 -2 1 0", &q));
  EXPECT_FALSE(DecodeStatePositions("12 3 2 0", &q));
  EXPECT_FALSE(DecodeStatePositions("12 3 1 -1", &q));
}

}  // namespace
}  // namespace chatkpi

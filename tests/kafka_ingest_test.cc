// The Kafka consume loop in process, against librdkafka's mock cluster:
// the snapshot equals the file-ingest snapshot of the same events however
// the two topics interleave, restarts resume at the stored offsets, and bad
// messages become dead letters without stopping their partition -- with
// the partitions' engines on one thread, or spread over two or four.
#include "engine/kafka_ingest.h"

#include <filesystem>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/owned_shards.h"
#include "engine/replay.h"
#include "gtest/gtest.h"
#include "ingest/kafka_mock_cluster.h"
#include "ingest/kafka_producer.h"
#include "store/fault_injection.h"
#include "store/store.h"
#include "tests/kafka_test_util.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::Dataset;
using testing::MakeDataset;
using testing::Publish;
using testing::ReadOwnedView;
using testing::SmallMonth;
using testing::SnapshotJson;
using testing::TempDir;

class KafkaIngestTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    dir_ = TempDir("kafka_ingest");
    auto cluster = KafkaMockCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    for (const char* t : {"chat", "orders", "dlq"}) {
      ASSERT_TRUE(cluster_->CreateTopic(t, 4).ok());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Consumes until caught up into `db`; returns the report.
  KafkaIngestReport Consume(const std::string& db,
                            const std::string& dlq_topic = "",
                            size_t commit_every = 500) {
    KafkaIngestReport report;
    absl::Status s =
        TryConsume(db, StoreOptions(), commit_every, &report, dlq_topic);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(report.caught_up);
    return report;
  }
  absl::Status TryConsume(const std::string& db, const StoreOptions& so,
                          size_t commit_every, KafkaIngestReport* report,
                          const std::string& dlq_topic = "") {
    KafkaIngestOptions o;
    o.consumer.client.brokers = cluster_->bootstrap();
    o.consumer.group = "test";
    o.dlq_topic = dlq_topic;
    o.until_caught_up = true;
    o.commit_every = commit_every;
    o.threads = GetParam();
    o.log = [](const std::string&) {};
    auto store = Store::Open(db, so);
    if (!store.ok()) return store.status();
    auto rules = DefaultRules();
    if (!rules.ok()) return rules.status();
    return RunKafkaIngest(*rules, store->get(), o, report);
  }

  std::string dir_;
  std::unique_ptr<KafkaMockCluster> cluster_;
};

TEST_P(KafkaIngestTest, OrderTopicDelayedBehindChatMatchesFileIngest) {
  const Dataset d = MakeDataset(dir_, SmallMonth(4000, 11));
  const std::string db = dir_ + "/kafka";
  // The whole chat topic first, consumed; the order topic only later.
  Publish(cluster_->bootstrap(), d.lines, 1);
  KafkaIngestReport first = Consume(db);
  EXPECT_GT(first.messages, 0);
  Publish(cluster_->bootstrap(), d.lines, 2);
  KafkaIngestReport second = Consume(db);
  EXPECT_EQ(first.messages + second.messages,
            static_cast<int64_t>(d.lines.size()))
      << "the second run must resume the chat partitions at their stored "
         "offsets, not re-read them";
  EXPECT_EQ(first.dead_letters + second.dead_letters, d.malformed);
  EXPECT_EQ(SnapshotJson(db), d.snapshot_json);

  testing::OwnedView v = ReadOwnedView(db);
  ASSERT_TRUE(v.owned.has_value());
  EXPECT_EQ(*v.owned, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(v.event_ids.size(), d.event_ids.size());
  EXPECT_EQ(std::set<std::string>(v.event_ids.begin(), v.event_ids.end()),
            d.event_ids);

  // A third run finds nothing new, and changes nothing.
  KafkaIngestReport third = Consume(db);
  EXPECT_EQ(third.messages, 0);
  EXPECT_EQ(SnapshotJson(db), d.snapshot_json);
}

TEST_P(KafkaIngestTest, BadMessagesAreDeadLettersAndGoToTheDlq) {
  KafkaClientConfig c;
  c.brokers = cluster_->bootstrap();
  auto producer = KafkaProducer::Open(c);
  ASSERT_TRUE(producer.ok());
  const int64_t ts = testing::Local("2026-11-10 09:00:00");
  const std::string good =
      absl::StrCat(R"({"type":"chat","id":"c1","ts":)", ts,
                   R"(,"buyer":"u1","agent":"shop:a","dir":"in"})");
  const std::string answer = absl::StrCat(
      R"({"type":"chat","id":"c2","ts":)", ts + 5000,
      R"(,"buyer":"u1","agent":"shop:a","dir":"out","text":"亲"})");
  // All under one key, so they share a partition and its order.
  for (const std::string& v : {good, std::string("not json"), std::string(""),
                               std::string(R"({"type":"chat","id":"c9"})"),
                               std::string("\xff\xfe{"), answer}) {
    ASSERT_TRUE((*producer)->Produce("chat", "u1", v).ok());
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());

  const std::string db = dir_ + "/kafka";
  KafkaIngestReport report = Consume(db, "dlq");
  EXPECT_EQ(report.messages, 6);
  EXPECT_EQ(report.accepted, 2);
  EXPECT_EQ(report.dead_letters, 4);
  // The partition went on past the bad messages: the answer after them
  // closed the question.
  const std::string json = SnapshotJson(db);
  EXPECT_NE(json.find("\"answered\": 1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"dead_letters\": 4"), std::string::npos) << json;

  // Dead letters are keyed by topic/partition/offset.
  {
    StoreOptions so;
    so.read_only = true;
    auto store = Store::Open(db, so);
    ASSERT_TRUE(store.ok());
    std::vector<std::string> positions;
    ASSERT_TRUE((*store)
                    ->Scan(Family::kDead, "", "",
                           [&](std::string_view k, std::string_view) {
                             positions.emplace_back(k);
                             return true;
                           })
                    .ok());
    ASSERT_EQ(positions.size(), 4u);
    for (const std::string& p : positions) {
      EXPECT_EQ(p.rfind("chat/", 0), 0u) << p;
      EXPECT_TRUE(KafkaPositionShard(p).has_value()) << p;
    }
  }
  int64_t in_dlq = 0;
  for (int p = 0; p < 4; ++p) {
    auto m = (*producer)->Watermarks("dlq", p, absl::Seconds(5));
    ASSERT_TRUE(m.ok()) << m.status();
    in_dlq += m->second - m->first;
  }
  EXPECT_EQ(in_dlq, 4);

  // Read again from scratch positions: no dead letter is counted or sent
  // twice.
  {
    auto store = Store::Open(db, StoreOptions());
    ASSERT_TRUE(store.ok());
    Commit commit(store->get());
    for (int p = 0; p < 4; ++p) {
      commit.Delete(Family::kMeta, absl::StrCat("pos/kafka/chat/", p));
    }
    ASSERT_TRUE((*store)->Write(&commit).ok());
  }
  KafkaIngestReport again = Consume(db, "dlq");
  EXPECT_EQ(again.messages, 6);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(again.dead_letters, 0);
  EXPECT_EQ(SnapshotJson(db), json);
  in_dlq = 0;
  for (int p = 0; p < 4; ++p) {
    auto m = (*producer)->Watermarks("dlq", p, absl::Seconds(5));
    in_dlq += m->second - m->first;
  }
  EXPECT_EQ(in_dlq, 4);
}

// Many small commits, on several workers at once: each commit's run of
// event log sequence numbers is recorded under its shard (a commit reads
// the log's end before it writes), so replay applies every event in the
// shard that applied it and ends with the same month.
TEST_P(KafkaIngestTest, ManySmallShardCommitsReplayToTheSameMonth) {
  const Dataset d = MakeDataset(dir_, SmallMonth(3000, 12));
  Publish(cluster_->bootstrap(), d.lines);
  const std::string db = dir_ + "/kafka";
  KafkaIngestReport report = Consume(db, "", /*commit_every=*/20);
  EXPECT_EQ(report.messages, static_cast<int64_t>(d.lines.size()));
  EXPECT_EQ(SnapshotJson(db), d.snapshot_json);

  auto csv = [](const std::string& store) {
    std::string out;
    EXPECT_EQ(
        testing::RunChatkpi({"snapshot", "--db", store, "--from", "2026-11-01",
                             "--to", "2026-11-30", "--format", "csv"},
                            &out),
        0);
    return out;
  };
  const std::string before = csv(db);
  EXPECT_EQ(before, csv(dir_ + "/baseline"));
  // The default rules under another version: the same figures.
  auto rules = ParseRules(R"({"version": "v2"})");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ReplayOptions ro;
  ro.retire_wait = absl::ZeroDuration();
  ro.threads = GetParam();  // the partitions' engines on as many threads
  auto replayed = Replay(db, *rules, ro);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->events, static_cast<int64_t>(d.event_ids.size()));
  EXPECT_EQ(csv(db), before);
}

// The disk fills mid-run while the workers apply and commit and the
// polling thread reads on: the run stops with the store's error (not a
// stand-in), no commit lands half (each shard's state and offsets are one
// write), and the next run resumes at the stored offsets to exactly the
// month. The budget is a third of what a whole run writes, so the failure
// comes after some commits (the resumed run reads less than everything).
TEST_P(KafkaIngestTest, FullDiskMidRunStopsWithItsErrorAndResumesExactly) {
  const Dataset d = MakeDataset(dir_, SmallMonth(6000, 13));
  Publish(cluster_->bootstrap(), d.lines);
  const int64_t messages = static_cast<int64_t>(d.lines.size());
  constexpr size_t kCommitEvery = 100;
  int64_t whole_run_bytes = 0;
  {
    auto faults = std::make_shared<FaultInjection>();
    StoreOptions so;
    so.fault_injection = faults;
    KafkaIngestReport report;
    ASSERT_TRUE(TryConsume(dir_ + "/clean", so, kCommitEvery, &report).ok());
    ASSERT_EQ(report.messages, messages);
    whole_run_bytes = faults->bytes_written();
  }
  const std::string db = dir_ + "/kafka";
  {
    auto faults = std::make_shared<FaultInjection>();
    StoreOptions so;
    so.fault_injection = faults;
    faults->FailWritesAfter(whole_run_bytes / 3);
    KafkaIngestReport report;
    absl::Status s = TryConsume(db, so, kCommitEvery, &report);
    ASSERT_FALSE(s.ok()) << "a third of the bytes must not suffice";
    EXPECT_TRUE(absl::StrContains(s.message(), "No space left")) << s;
    EXPECT_GT(faults->failures(), 0);
  }
  KafkaIngestReport resumed = Consume(db, "", kCommitEvery);
  EXPECT_GT(resumed.messages, 0);
  EXPECT_LT(resumed.messages, messages)
      << "the failure came before the first commit: nothing was tested";
  EXPECT_EQ(SnapshotJson(db), d.snapshot_json);
  testing::OwnedView v = ReadOwnedView(db);
  EXPECT_EQ(std::set<std::string>(v.event_ids.begin(), v.event_ids.end()),
            d.event_ids);
  EXPECT_EQ(v.event_ids.size(), d.event_ids.size());
}

INSTANTIATE_TEST_SUITE_P(Threads, KafkaIngestTest, ::testing::Values(1, 2, 4),
                         [](const auto& info) {
                           return absl::StrCat(info.param, "threads");
                         });

}  // namespace
}  // namespace chatkpi

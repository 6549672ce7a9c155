// The changelog's owner epochs (engine/changelog.h, docs/scaling.md): a
// query instance keeps, per partition, only the current owner's messages,
// and counts each partition's dead letters once; a member's snapshot counts
// the dead letters of the partitions it owns.
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "absl/time/civil_time.h"
#include "engine/changelog.h"
#include "engine/counters.h"
#include "engine/engine.h"
#include "engine/local_day.h"
#include "engine/owned_shards.h"
#include "gtest/gtest.h"
#include "query/month_score.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::TempDir;

Counters Orders(int64_t n) {
  Counters c;
  c[kOrders] = n;
  return c;
}

int64_t OrdersOf(const PeriodSnapshot& s, const std::string& agent) {
  for (const AgentRow& r : s.agents) {
    if (r.agent == agent) return r.counters[kOrders];
  }
  return 0;
}

class ChangelogEpochTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("changelog_epoch");
    auto store = Store::Open(dir_, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    applier_ = std::make_unique<ChangelogApplier>(store_.get(), "cl");
  }
  void TearDown() override {
    applier_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // One message at the next offset of changelog partition 0.
  void Send(const std::string& key, const std::string& value,
            const std::string& epoch) {
    auto applied = applier_->Apply(0, offset_++, key, value, epoch);
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_TRUE(*applied) << key;
  }
  void Row(uint32_t p, int day_of_month, const std::string& agent,
           int64_t orders, const std::string& epoch) {
    Send(ChangelogKey(p, DayNumber(absl::CivilDay(2026, 11, day_of_month)),
                      agent),
         orders == 0 ? std::string() : EncodeCounters(Orders(orders)), epoch);
  }
  PeriodSnapshot Snapshot(int first_day) {
    EXPECT_TRUE(applier_->Flush().ok());
    auto s = ReadSnapshot(*store_, absl::CivilDay(2026, 11, first_day),
                          absl::CivilDay(2026, 11, 30));
    EXPECT_TRUE(s.ok()) << s.status();
    return *s;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ChangelogApplier> applier_;
  int64_t offset_ = 0;
};

TEST_F(ChangelogEpochTest, ANewOwnersRowsReplaceThePartitionsWholeRowSet) {
  // Member A owns partition 3 from generation 5 with its full state.
  Send(ChangelogOwnerKey(3), "5", "5");
  Row(3, 2, "alice", 4, "5");
  Row(3, 2, "", 6, "5");        // unattributed
  Row(1, 2, "alice", 10, "1");  // another partition, untouched throughout
  // B takes partition 3 over at generation 8 and, part-way through its
  // rebuild, has published bob's row, which A's state does not have.
  Send(ChangelogOwnerKey(3), "8", "8");
  Row(3, 2, "bob", 2, "8");
  Row(3, 2, "", 9, "8");
  PeriodSnapshot mid = Snapshot(1);
  EXPECT_EQ(OrdersOf(mid, "alice"), 10);  // partition 1 only
  EXPECT_EQ(OrdersOf(mid, "bob"), 2);
  EXPECT_EQ(mid.unattributed[kOrders], 9);
  // A takes it back at generation 11 and republishes what it holds; bob's
  // row is not among it and must go.
  Send(ChangelogOwnerKey(3), "11", "11");
  Row(3, 2, "alice", 4, "11");
  Row(3, 2, "", 6, "11");
  // B's messages still in flight (or B still running) are a former owner's.
  Row(3, 2, "bob", 3, "8");
  Row(3, 3, "carol", 1, "8");
  EXPECT_EQ(applier_->stale(), 2);
  EXPECT_EQ(applier_->resets(), 4);  // 3 at 5, 8, 11; 1 at 1
  for (int first_day : {1, 2}) {     // month rollups, then day rows
    PeriodSnapshot s = Snapshot(first_day);
    EXPECT_EQ(OrdersOf(s, "alice"), 4 + 10) << first_day;
    EXPECT_EQ(OrdersOf(s, "bob"), 0) << first_day;
    EXPECT_EQ(OrdersOf(s, "carol"), 0) << first_day;
    EXPECT_EQ(s.unattributed[kOrders], 6) << first_day;
  }
}

TEST_F(ChangelogEpochTest, ARowOfANewerEpochResetsBeforeItsMarkerArrives) {
  // The marker and the rows travel in different changelog partitions, so a
  // reader may see a new owner's row first.
  Row(2, 5, "alice", 7, "3");
  Row(2, 6, "bob", 1, "3");
  Row(2, 5, "alice", 2, "9");
  Send(ChangelogOwnerKey(2), "9", "9");  // same epoch: nothing more
  PeriodSnapshot s = Snapshot(1);
  EXPECT_EQ(OrdersOf(s, "alice"), 2);
  EXPECT_EQ(OrdersOf(s, "bob"), 0);
  EXPECT_EQ(applier_->resets(), 2);  // at 3, then at 9
}

TEST_F(ChangelogEpochTest, TheEpochsSurviveAReaderRestart) {
  Row(2, 5, "alice", 7, "9");
  ASSERT_TRUE(applier_->Flush().ok());
  applier_ = std::make_unique<ChangelogApplier>(store_.get(), "cl");
  Row(2, 5, "alice", 1, "4");  // a former owner's, read after the restart
  EXPECT_EQ(applier_->stale(), 1);
  EXPECT_EQ(OrdersOf(Snapshot(1), "alice"), 7);
}

TEST_F(ChangelogEpochTest, DeadLettersAreCountedOncePerPartition) {
  Send(ChangelogDeadLettersKey(0), "4", "2");
  Send(ChangelogDeadLettersKey(1), "3", "2");
  EXPECT_EQ(Snapshot(1).dead_letters, 4 + 3);
  // Partition 0 is published again by its next owner (same dead letters,
  // counted again there) and by its former owner, late.
  Send(ChangelogOwnerKey(0), "6", "6");
  Send(ChangelogDeadLettersKey(0), "4", "6");
  Send(ChangelogDeadLettersKey(0), "5", "2");
  EXPECT_EQ(Snapshot(1).dead_letters, 4 + 3);
  // A new owner without the count yet: the partition counts 0 until it
  // arrives.
  Send(ChangelogOwnerKey(1), "7", "7");
  EXPECT_EQ(Snapshot(1).dead_letters, 4);
  Send(ChangelogDeadLettersKey(1), "3", "7");
  EXPECT_EQ(Snapshot(1).dead_letters, 4 + 3);
}

TEST_F(ChangelogEpochTest, MalformedEpochsAndKeysAreNotApplied) {
  for (const auto& [key, value, epoch] :
       {std::tuple<std::string, std::string, std::string>{ChangelogOwnerKey(1),
                                                          "1", "x"},
        {ChangelogDeadLettersKey(1), "-1", "1"},
        {"3/not-a-day/alice", "", "1"},
        {"owner", "1", "1"}}) {
    auto applied = applier_->Apply(0, offset_++, key, value, epoch);
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_FALSE(*applied) << key;
  }
}

TEST(MemberDeadLetters, AMembersSnapshotCountsItsOwnedPartitionsOnly) {
  const std::string dir = TempDir("member_dead");
  {
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    Commit c(store->get());
    // Dead letters of partitions 0, 1 and 2; the member owns 1 and 2 now
    // (partition 0 moved away; its two dead letters are the new owner's).
    for (const char* position : {"chat/0/5", "chat/0/9", "chat/1/3",
                                 "orders/2/7", "orders/2/8", "orders/2/12"}) {
      c.Put(Family::kDead, position, "raw");
    }
    PutOwnedShards(&c, {2, 1});
    ASSERT_TRUE((*store)->Write(&c).ok());
    auto n = ReadDeadLetterCount(**store);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 1 + 3);
    auto s = ReadSnapshot(**store, absl::CivilDay(2026, 11, 1),
                          absl::CivilDay(2026, 11, 30));
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->dead_letters, 1 + 3);
  }
  std::filesystem::remove_all(dir);
}

// A Kafka member's store holds the partitions it owns: `score` on it paid
// from part of the team's events (agent08 211,098 fen against 218,499),
// exit 0. It is refused unless the member owns every partition.
TEST(MemberScores, AStoreHoldingSomePartitionsRefusesToScore) {
  const std::string dir = TempDir("member_scores");
  auto store = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  auto rules = DefaultRules();
  ASSERT_TRUE(rules.ok());
  {
    auto engine = Engine::Open(*rules, store->get());
    ASSERT_TRUE(engine.ok()) << engine.status();
    const Event e = testing::In("c1", testing::Local("2026-11-10 10:00:00"),
                                "u1", "shop:a");
    ASSERT_TRUE((*engine)->Apply(e, e.id).ok());
    ASSERT_TRUE((*engine)->Commit().ok());
  }
  auto scheme =
      LoadSchemeByNameOrPath("ecom10", testing::SourceDir() + "/query/schemes");
  ASSERT_TRUE(scheme.ok()) << scheme.status();
  auto own = [&](std::vector<uint32_t> shards) {
    Commit c(store->get());
    PutOwnedShards(&c, std::move(shards));
    PutKafkaPartitionCount(&c, 4);
    ASSERT_TRUE((*store)->Write(&c).ok());
  };
  own({0, 1});
  auto report = ScoreMonth(**store, *scheme, absl::CivilMonth(2026, 11));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find(
                "holds partitions [0 1] of 4: scored, the month would pay "
                "from part of the team's events"),
            std::string::npos)
      << report.status();
  own({0, 1, 2, 3});
  report = ScoreMonth(**store, *scheme, absl::CivilMonth(2026, 11));
  EXPECT_TRUE(report.ok()) << report.status();
  store->reset();
  std::filesystem::remove_all(dir);
}

// A query instance's store holds day rows but no assessment inputs: it
// refuses to score (every target and mark would be missing, and pay with
// them), and refuses to go on reading another changelog topic, whose owner
// epochs are not those it keeps.
TEST_F(ChangelogEpochTest, ATeamViewRefusesScoresAndAnotherTopic) {
  Row(0, 10, "shop:a", 3, "1");
  ASSERT_TRUE(applier_->Flush().ok());
  auto topics = ChangelogTopicsRead(*store_);
  ASSERT_TRUE(topics.ok()) << topics.status();
  EXPECT_EQ(*topics, std::set<std::string>({"cl"}));
  auto scheme =
      LoadSchemeByNameOrPath("ecom10", testing::SourceDir() + "/query/schemes");
  ASSERT_TRUE(scheme.ok()) << scheme.status();
  auto report = ScoreMonth(*store_, *scheme, absl::CivilMonth(2026, 11));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("team view"), std::string::npos)
      << report.status();

  ChangelogReaderOptions opts;
  opts.client.brokers = "127.0.0.1:1";  // never reached
  opts.topic = "cl2";
  opts.until_caught_up = true;
  opts.log = [](const std::string&) {};
  ChangelogReaderReport r;
  absl::Status s = RunChangelogReader(store_.get(), opts, &r);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("holds the team view of changelog topic cl, "
                             "not cl2"),
            std::string::npos)
      << s;
  EXPECT_EQ(r.messages, 0);
}

}  // namespace
}  // namespace chatkpi

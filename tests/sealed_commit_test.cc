// The store's side of the file shards' commit pipeline (docs/engine.md,
// "Parallel ingest"). Commit::SealLog: file shards compress their commits'
// log blocks each on its own thread, at the sequence numbers the commits
// will have, and Store::WriteAll writes them together as one. A sealed log
// must land exactly where it was sealed for: a shard run key (engine/
// shard_runs.h) and the id index name those numbers. Store::ExpectWrite:
// the commit is written on another thread while the engines, which have
// already forgotten what it writes, read the store: no read of what it
// writes may see the store without it, and reads of anything else go on.
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

std::unique_ptr<Store> OpenStore(const std::string& name) {
  auto store = Store::Open(testing::TempDir(name) + "/db", {});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

TEST(SealedCommit, SealedLogsOfSeveralCommitsLandWhereTheyWereSealed) {
  std::unique_ptr<Store> store = OpenStore("sealed_order");
  ASSERT_NE(store, nullptr);
  Commit first(store.get());
  ASSERT_TRUE(*first.AppendEvent("a", "{\"id\":\"a\"}"));
  ASSERT_TRUE(store->Write(&first).ok());  // the log holds seq 0

  // Two commits sealed as WriteAll orders them: 1..2, then 3.
  Commit c1(store.get());
  Commit c2(store.get());
  ASSERT_TRUE(*c1.AppendEvent("b", "{\"id\":\"b\"}"));
  ASSERT_TRUE(*c1.AppendEvent("c", "{\"id\":\"c\"}"));
  ASSERT_TRUE(*c2.AppendEvent("d", "{\"id\":\"d\"}"));
  ASSERT_TRUE(c2.SealLog(3).ok());  // sealed in any order, on any thread
  ASSERT_TRUE(c1.SealLog(1).ok());
  EXPECT_EQ(c1.num_events(), 2u);
  EXPECT_EQ(c2.num_events(), 1u);
  ASSERT_TRUE(store->WriteAll({&c1, &c2}).ok());
  EXPECT_EQ(store->next_seq(), 4u);
  const char* want[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}", "{\"id\":\"c\"}",
                        "{\"id\":\"d\"}"};
  for (uint64_t seq = 0; seq < 4; ++seq) {
    auto raw = store->ReadEvent(seq);
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_EQ(*raw, want[seq]) << seq;
  }
  // The ids are claimed as logged: a redelivery is refused.
  Commit again(store.get());
  EXPECT_FALSE(*again.AppendEvent("d", "{\"id\":\"d\"}"));

  // Written, the commits take events again, unsealed.
  ASSERT_TRUE(*c1.AppendEvent("e", "{\"id\":\"e\"}"));
  ASSERT_TRUE(store->Write(&c1).ok());
  auto raw = store->ReadEvent(4);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(*raw, "{\"id\":\"e\"}");
}

TEST(SealedCommit, ALogSealedForAnotherPlaceIsRefusedWhole) {
  std::unique_ptr<Store> store = OpenStore("sealed_wrong_seq");
  ASSERT_NE(store, nullptr);
  Commit c1(store.get());
  Commit c2(store.get());
  ASSERT_TRUE(*c1.AppendEvent("a", "{\"id\":\"a\"}"));
  ASSERT_TRUE(*c2.AppendEvent("b", "{\"id\":\"b\"}"));
  c1.Put(Family::kMeta, "beside", "x");
  ASSERT_TRUE(c1.SealLog(0).ok());
  // c2 follows c1's one event: sealing it at 0 as well is a caller's
  // error, which must not store events under numbers that overlap.
  ASSERT_TRUE(c2.SealLog(0).ok());
  absl::Status s = store->WriteAll({&c1, &c2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "sealed at 0")) << s;
  EXPECT_EQ(store->next_seq(), 0u);
  auto beside = store->Get(Family::kMeta, "beside");
  ASSERT_TRUE(beside.ok());
  EXPECT_FALSE(beside->has_value());
  EXPECT_FALSE(store->ReadEvent(0).ok());
}

TEST(SealedCommit, NoEventIsAddedToASealedLog) {
  std::unique_ptr<Store> store = OpenStore("sealed_append");
  ASSERT_NE(store, nullptr);
  Commit c(store.get());
  ASSERT_TRUE(*c.AppendEvent("a", "{\"id\":\"a\"}"));
  ASSERT_TRUE(c.SealLog(0).ok());
  auto late = c.AppendEvent("b", "{\"id\":\"b\"}");
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.ReplaceEvent("a", "{\"id\":\"a\",\"x\":1}").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.SealLog(0).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store->Write(&c).ok());
  EXPECT_EQ(store->next_seq(), 1u);
  // The refused event was not claimed: it is new to the store.
  auto contains = store->ContainsId("b");
  ASSERT_TRUE(contains.ok());
  EXPECT_FALSE(*contains);
}

TEST(SealedCommit, ReadsOfWhatAnAnnouncedWriteHoldsWaitForIt) {
  std::unique_ptr<Store> store = OpenStore("announced_write");
  ASSERT_NE(store, nullptr);
  Commit before(store.get());
  before.Put(Family::kAggregates, "gone", "x");
  ASSERT_TRUE(store->Write(&before).ok());

  Commit c(store.get());
  c.Put(Family::kMeta, "k", "v");
  c.Delete(Family::kAggregates, "gone");
  store->ExpectWrite({&c});
  // Readers that come before the write lands (here, most likely) wait for
  // it: they never see the store without it.
  absl::StatusOr<std::optional<std::string>> put, deleted;
  std::thread reader([&] {
    put = store->Get(Family::kMeta, "k");
    deleted = store->Get(Family::kAggregates, "gone");
  });
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(store->WriteAll({&c}).ok());
  reader.join();
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_TRUE(put->has_value());
  EXPECT_EQ(**put, "v");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(deleted->has_value());
  // Written, reads go on without waiting.
  auto again = store->Get(Family::kMeta, "k");
  ASSERT_TRUE(again.ok() && again->has_value());
}

TEST(SealedCommit, ReadsOfOtherKeysGoOnWhileAWriteIsAnnounced) {
  std::unique_ptr<Store> store = OpenStore("announced_other_keys");
  ASSERT_NE(store, nullptr);
  Commit before(store.get());
  before.Put(Family::kMeta, "other", "1");
  before.Put(Family::kAggregates, "k", "old");
  ASSERT_TRUE(store->Write(&before).ok());

  Commit c(store.get());
  c.Put(Family::kMeta, "k", "v");
  c.Put(Family::kMeta, "other-2", "2");
  store->ExpectWrite({&c});
  // Keys the write does not hold -- in another family, or absent -- read
  // as they are while it is pending. A read that waited would wait for a
  // write that comes only after it: the reader's result is looked at once
  // it is done, or after a minute, which only a wait takes.
  struct Seen {
    absl::StatusOr<std::optional<std::string>> other, same_key_other_family,
        absent;
  };
  auto seen = std::make_shared<Seen>();
  auto done = std::make_shared<absl::Notification>();
  std::thread reader([&store, seen, done] {
    seen->other = store->Get(Family::kMeta, "other");
    seen->same_key_other_family = store->Get(Family::kAggregates, "k");
    seen->absent = store->Get(Family::kMeta, "absent");
    done->Notify();
  });
  const bool read = done->WaitForNotificationWithTimeout(absl::Minutes(1));
  EXPECT_TRUE(read) << "a read of a key the announced write does not hold "
                       "waited for the write";
  ASSERT_TRUE(store->WriteAll({&c}).ok());
  reader.join();
  ASSERT_TRUE(seen->other.ok() && seen->other->has_value());
  EXPECT_EQ(**seen->other, "1");
  ASSERT_TRUE(seen->same_key_other_family.ok() &&
              seen->same_key_other_family->has_value());
  EXPECT_EQ(**seen->same_key_other_family, "old");
  ASSERT_TRUE(seen->absent.ok());
  EXPECT_FALSE(seen->absent->has_value());
}

TEST(SealedCommit, AFailedAnnouncedWriteReleasesTheReaders) {
  std::unique_ptr<Store> store = OpenStore("announced_failed_write");
  ASSERT_NE(store, nullptr);
  Commit c(store.get());
  c.Put(Family::kEvents, "forged", "x");  // refused whole
  c.Put(Family::kMeta, "k", "v");
  store->ExpectWrite({&c});
  absl::StatusOr<std::optional<std::string>> seen;
  std::thread reader([&] { seen = store->Get(Family::kMeta, "k"); });
  EXPECT_FALSE(store->WriteAll({&c}).ok());
  reader.join();
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_FALSE(seen->has_value());
}

}  // namespace
}  // namespace chatkpi

// Engines of several shards on one store (a Kafka member's partitions)
// share its id index: an event id taken by one engine's pending commit is a
// redelivery for every other engine, before and after that commit.
#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "query/snapshot.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::In;
using testing::Local;

TEST(SharedStore, AnIdPendingInOneShardIsARedeliveryInAnother) {
  const std::string dir = testing::TempDir("shared_store") + "/db";
  auto store = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  auto open = [&](uint32_t shard) {
    EngineOptions o;
    o.shard = shard;
    auto e = Engine::Open(testing::TestRules(), store->get(), o);
    EXPECT_TRUE(e.ok()) << e.status();
    return std::move(*e);
  };
  std::unique_ptr<Engine> one = open(1);
  std::unique_ptr<Engine> two = open(2);
  const int64_t t = Local("2026-11-10 09:00:00");

  // The raw line of an `in` (a copy with other content is read back).
  auto json = [](const Event& e) {
    return absl::StrCat(R"({"type":"chat","id":")", e.id, R"(","ts":)", e.ts_ms,
                        R"(,"buyer":")", e.buyer, R"(","agent":")", e.agent,
                        R"(","dir":"in"})");
  };
  auto apply = [&](Engine& engine, const Event& e) {
    return *engine.Apply(e, json(e));
  };
  // The same id with another buyer and agent, as if keyed to another
  // partition: shard 1 took it first, so shard 2 must not count it (the
  // copy it holds is shard 1's: docs/engine.md "Duplicates").
  EXPECT_TRUE(apply(*one, In("dup", t, "u1", "shop:a")));
  EXPECT_FALSE(apply(*two, In("dup", t + 1000, "u2", "shop:b")));
  EXPECT_TRUE(apply(*two, In("c2", t + 2000, "u3", "shop:b")));
  ASSERT_TRUE(two->Commit().ok());  // shard 2 commits first
  ASSERT_TRUE(one->Commit().ok());
  // And after both commits.
  EXPECT_FALSE(apply(*two, In("dup", t + 3000, "u2", "shop:b")));
  ASSERT_TRUE(two->Commit().ok());
  EXPECT_EQ(one->stats().accepted + two->stats().accepted, 2);
  EXPECT_EQ(two->stats().duplicates, 2);

  auto snap = ReadSnapshot(**store, absl::CivilDay(2026, 11, 10),
                           absl::CivilDay(2026, 11, 10));
  ASSERT_TRUE(snap.ok()) << snap.status();
  const AgentRow* a = testing::FindAgent(*snap, "shop:a");
  const AgentRow* b = testing::FindAgent(*snap, "shop:b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->counters[kConsultations], 1);  // u1
  EXPECT_EQ(b->counters[kConsultations], 1);  // u3 only, not u2
  EXPECT_EQ((*store)->next_seq(), 2u);
}

}  // namespace
}  // namespace chatkpi

// An engine beside file-shard siblings asks them which shard holds an order
// (ShardSiblings::OrderShard, behind a lock every shard's thread shares)
// only while it does not hold the order's state itself (docs/engine.md,
// "Throughput"), and counts the order the same either way.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::EventJson;
using testing::In;
using testing::Local;
using testing::Order;
using testing::TempDir;
using testing::TestRules;

// One shard that holds every order, counting how often it is asked.
class CountingSiblings : public ShardSiblings {
 public:
  uint32_t ShardOf(const Event&) const override { return 0; }
  uint32_t ShardOfBuyer(std::string_view) const override { return 0; }
  Engine* Sibling(uint32_t) override { return engine; }
  absl::StatusOr<uint32_t> OrderShard(std::string_view order,
                                      uint32_t shard) override {
    asked.emplace_back(order);
    return shard;
  }
  void SetOrderShard(std::string_view, uint32_t) override {}
  absl::Status CommitAll() override { return Engine::CommitTogether({engine}); }

  Engine* engine = nullptr;
  std::vector<std::string> asked;
};

TEST(OrderShardLookup, AskedOnlyForAnOrderItDoesNotHold) {
  const std::string dir = TempDir("order_shard_lookup");
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  CountingSiblings siblings;
  EngineOptions eo;
  eo.siblings = &siblings;
  auto engine = Engine::Open(TestRules(), store->get(), eo);
  ASSERT_TRUE(engine.ok()) << engine.status();
  siblings.engine = engine->get();

  // u1 asks at 09:59 (agent shop:a), then orders o1 at 10:00 and pays it at
  // 10:05 (99.00 yuan); o2 is created at 10:06.
  const std::vector<Event> events = {
      In("c1", Local("2026-11-10 09:59:00"), "u1", "shop:a"),
      Order("e1", Local("2026-11-10 10:00:00"), "o1", "u1",
            OrderStatus::kCreated, 9900),
      Order("e2", Local("2026-11-10 10:05:00"), "o1", "u1", OrderStatus::kPaid,
            9900),
      Order("e3", Local("2026-11-10 10:06:00"), "o2", "u1",
            OrderStatus::kCreated, 500),
  };
  for (const Event& e : events) {
    auto applied = (*engine)->ApplyBesideSiblings(e, EventJson(e));
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(*applied, Engine::Applied::kNew) << e.id;
  }
  // o1 is asked for at its first event only: its state, with that event, is
  // this engine's when the payment comes. o2 is new again.
  EXPECT_EQ(siblings.asked, (std::vector<std::string>{"o1", "o2"}));

  // The same numbers as without siblings: the `in` at 09:59 attributes both
  // orders to shop:a; o1 is paid (1 paid order, 9900 fen, 1 item).
  ASSERT_TRUE((*engine)->Commit().ok());
  auto row = (*store)->Get(
      Family::kAggregates,
      AggregateKey(0, DayNumber(absl::CivilDay(2026, 11, 10)), "shop:a"));
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_TRUE(row->has_value());
  Counters c;
  ASSERT_TRUE(DecodeCounters(**row, &c));
  EXPECT_EQ(c[kOrders], 2);
  EXPECT_EQ(c[kOrderedBuyers], 1);
  EXPECT_EQ(c[kPaidOrders], 1);
  EXPECT_EQ(c[kPaidBuyers], 1);
  EXPECT_EQ(c[kPaidItems], 1);
  EXPECT_EQ(c[kSalesFen], 9900);
  EXPECT_EQ(c[kConsultations], 1);
  engine->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

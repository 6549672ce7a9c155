// The stable hashes computed once per event (engine/event_hashes.h) and the
// cheaper sketch paths (engine/limits.h): each must give exactly what the
// hash of the strings gave, or a shard, an id claim or a stored sketch
// changes.
#include "engine/event_hashes.h"

#include <array>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/file_shards.h"
#include "engine/limits.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "store/stable_hash.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::TempDir;

// StableHash as documented (FNV-1a, then splitmix64's finalizer), written
// out again: the values decide file shards and stored formats.
uint64_t ReferenceStableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

Event Parsed(EventParser& parser, const std::string& line, Event* e) {
  EXPECT_TRUE(parser.Parse(line, e).ok()) << line;
  return *e;
}

TEST(EventHashes, HashEventGivesTheStableHashesOfIdAndShardKey) {
  EventParser parser;
  Event e;
  Parsed(parser,
         R"({"type":"chat","id":"c-1","ts":1793462589291,"buyer":"buyer53597",)"
         R"("agent":"shop:agent28","dir":"in","text":"hi"})",
         &e);
  EXPECT_FALSE(e.hashed);
  HashEvent(&e);
  ASSERT_TRUE(e.hashed);
  EXPECT_EQ(e.id_hash, ReferenceStableHash("c-1"));
  EXPECT_EQ(e.key_hash, ReferenceStableHash("buyer53597"));
  EXPECT_EQ(IdHashOf(e), ReferenceStableHash("c-1"));
  EXPECT_EQ(ShardKeyHashOf(e), ReferenceStableHash("buyer53597"));

  // An assessment has no buyer: it is sharded by its agent.
  Parsed(parser,
         R"({"type":"assessment","id":"a-1","ts":1793462589291,)"
         R"("agent":"shop:agent7","period":"2026-11","metric":"qa_score",)"
         R"("value":90})",
         &e);
  HashEvent(&e);
  EXPECT_EQ(e.key_hash, ReferenceStableHash("shop:agent7"));
  EXPECT_EQ(e.id_hash, ReferenceStableHash("a-1"));
}

TEST(EventHashes, TheParserClearsTheHashesOfTheEventBefore) {
  // FileShards reuses its slots: a slot parsed again must not keep the
  // hashes of the event it held, or that event's shard and id are used.
  EventParser parser;
  Event e;
  Parsed(parser,
         R"({"type":"order","id":"o-1","ts":1793462466045,"order":"x1",)"
         R"("buyer":"b1","status":"created","amount":1.5,"items":1})",
         &e);
  HashEvent(&e);
  Parsed(parser,
         R"({"type":"order","id":"o-2","ts":1793462466045,"order":"x1",)"
         R"("buyer":"b2","status":"created","amount":1.5,"items":1})",
         &e);
  EXPECT_FALSE(e.hashed);
  EXPECT_EQ(IdHashOf(e), ReferenceStableHash("o-2"));
  EXPECT_EQ(ShardKeyHashOf(e), ReferenceStableHash("b2"));
  // A line that fails leaves the slot unhashed too.
  HashEvent(&e);
  EXPECT_FALSE(parser.Parse(R"({"type":"order","id":"o-3"})", &e).ok());
  EXPECT_FALSE(e.hashed);
}

TEST(EventHashes, FileShardIsTheSameHashedOrNot) {
  for (int i = 0; i < 200; ++i) {
    Event e = testing::In(absl::StrCat("c", i), 1, absl::StrCat("buyer", i),
                          "shop:a");
    const uint32_t plain = FileShardOf(e, kFileShardsOfParallelStore);
    EXPECT_EQ(plain, ReferenceStableHash(e.buyer) % kFileShardsOfParallelStore);
    HashEvent(&e);
    EXPECT_EQ(FileShardOf(e, kFileShardsOfParallelStore), plain) << e.buyer;
    EXPECT_EQ(FileShardOfBuyer(e.buyer, kFileShardsOfParallelStore), plain);
  }
}

TEST(EventHashes, SketchAddHashIsAdd) {
  DistinctSketch by_value, by_hash;
  for (int i = 0; i < 5000; ++i) {
    const std::string v = absl::StrCat("buyer", i * 7919);
    EXPECT_EQ(by_value.Add(v), by_hash.AddHash(ReferenceStableHash(v))) << v;
  }
  EXPECT_EQ(by_value.registers(), by_hash.registers());
}

// Estimate as it was written first: a libm call per register.
int64_t ReferenceEstimate(const DistinctSketch& s) {
  const double m = DistinctSketch::kRegisters;
  double sum = 0;
  int zeros = 0;
  for (uint8_t r : s.registers()) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);
  return std::llround(e);
}

TEST(EventHashes, SketchEstimateIsTheFormulaOfLibmPowers) {
  // Registers of every rank a sketch holds, and of a damaged store's bytes.
  uint64_t x = 12345;
  for (int round = 0; round < 50; ++round) {
    DistinctSketch s;
    for (uint8_t& r : s.registers()) {
      x = Mix64(x + round);
      const int max = round < 40 ? 12 + round : 256;
      r = static_cast<uint8_t>(x % max);
    }
    EXPECT_EQ(s.Estimate(), ReferenceEstimate(s)) << round;
  }
  DistinctSketch empty;
  EXPECT_EQ(empty.Estimate(), 0);
}

TEST(EventHashes, DayLoadBytesKeepTheirLayout) {
  // Byte 0: format 0x10 | warned agents 1 | warned buyers 2; then the
  // agents' registers, then the buyers'.
  DayLoad d;
  for (size_t i = 0; i < DistinctSketch::kRegisters; ++i) {
    d.agents.registers()[i] = static_cast<uint8_t>(i % 7);
    d.buyers.registers()[i] = static_cast<uint8_t>(i % 11 + 1);
  }
  d.warned_buyers = true;
  const std::string bytes = EncodeDayLoad(d);
  ASSERT_EQ(bytes.size(), 1 + 2 * DistinctSketch::kRegisters);
  EXPECT_EQ(bytes[0], 0x12);
  for (size_t i = 0; i < DistinctSketch::kRegisters; ++i) {
    ASSERT_EQ(bytes[1 + i], static_cast<char>(i % 7)) << i;
    ASSERT_EQ(bytes[1 + DistinctSketch::kRegisters + i],
              static_cast<char>(i % 11 + 1))
        << i;
  }
  DayLoad back;
  ASSERT_TRUE(DecodeDayLoad(bytes, &back));
  EXPECT_EQ(back.agents.registers(), d.agents.registers());
  EXPECT_EQ(back.buyers.registers(), d.buyers.registers());
  EXPECT_TRUE(back.warned_buyers);
  EXPECT_FALSE(back.warned_agents);
}

DayLoad StoredDay(Store& store, int32_t day) {
  DayLoad d;
  auto v = store.Get(Family::kMeta, DayLoadKey(0, day));
  EXPECT_TRUE(v.ok() && v->has_value());
  if (v.ok() && v->has_value()) {
    EXPECT_TRUE(DecodeDayLoad(**v, &d));
  }
  return d;
}

TEST(EventHashes, ADayObservedAgainAfterEvictionIsReloadedAndSaved) {
  // Observe keeps the day it saw last; an eviction must forget it, or the
  // next observation of that day goes to an entry no longer kept.
  const std::string dir = TempDir("event_hashes_evict");
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  DayCardinality days(store->get(), 0, CardinalityLimits());
  ASSERT_TRUE(days.Observe(100, "a1", "b1").ok());
  ASSERT_TRUE(days.Observe(100, "a2", "b2").ok());
  ASSERT_TRUE(days.Observe(101, "a1", "b1").ok());  // the day seen last
  {
    Commit c(store->get());
    days.AddTo(&c);
    ASSERT_TRUE((*store)->Write(&c).ok());
    days.Committed();
  }
  // A commit that wrote neither day: the last commit no longer holds them,
  // so the eviction drops both from memory.
  days.Committed();
  days.Evict(102);
  ASSERT_TRUE(days.Observe(101, "a3", "b3", StableHash("b3")).ok());
  {
    Commit c(store->get());
    days.AddTo(&c);
    ASSERT_TRUE((*store)->Write(&c).ok());
    days.Committed();
  }
  DistinctSketch agents, buyers;
  for (const char* a : {"a1", "a3"}) agents.Add(a);
  for (const char* b : {"b1", "b3"}) buyers.Add(b);
  const DayLoad d101 = StoredDay(**store, 101);
  EXPECT_EQ(d101.agents.registers(), agents.registers());
  EXPECT_EQ(d101.buyers.registers(), buyers.registers());
  DistinctSketch agents100, buyers100;
  for (const char* a : {"a1", "a2"}) agents100.Add(a);
  for (const char* b : {"b1", "b2"}) buyers100.Add(b);
  const DayLoad d100 = StoredDay(**store, 100);
  EXPECT_EQ(d100.agents.registers(), agents100.registers());
  EXPECT_EQ(d100.buyers.registers(), buyers100.registers());
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(EventHashes, AnEngineGivenHashedEventsStoresWhatPlainOnesGive) {
  // The same events through two engines, hashed (as FileShards queues
  // them) and not: the same day sketches, and an id claimed by hash is
  // the id claimed by name (a copy of it is a redelivery either way).
  const int64_t t0 = testing::Local("2026-11-11 09:00:00");
  std::vector<Event> events;
  for (int i = 0; i < 300; ++i) {
    events.push_back(testing::In(absl::StrCat("c", i), t0 + i * 1000,
                                 absl::StrCat("buyer", i % 37),
                                 absl::StrCat("shop:a", i % 5)));
    events.push_back(testing::Order(
        absl::StrCat("o", i), t0 + i * 1000 + 1, absl::StrCat("ord", i),
        absl::StrCat("buyer", i % 41), OrderStatus::kCreated, 100));
  }
  std::vector<std::string> day_bytes;
  for (bool hashed : {false, true}) {
    const std::string dir = TempDir(
        absl::StrCat("event_hashes_engine_", hashed ? "hashed" : "plain"));
    auto store = Store::Open(dir + "/db", StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    auto engine = Engine::Open(testing::TestRules(), store->get(), {});
    ASSERT_TRUE(engine.ok()) << engine.status();
    for (Event e : events) {
      if (hashed) HashEvent(&e);
      (*engine)->Prefetch(e);
      auto applied = (*engine)->Apply(e, testing::EventJson(e));
      ASSERT_TRUE(applied.ok()) << applied.status();
      EXPECT_TRUE(*applied) << e.id;
    }
    // Each copy again, the other way: redeliveries.
    for (Event e : events) {
      if (!hashed) HashEvent(&e);
      auto applied = (*engine)->Apply(e, testing::EventJson(e));
      ASSERT_TRUE(applied.ok()) << applied.status();
      EXPECT_FALSE(*applied) << e.id;
    }
    ASSERT_TRUE((*engine)->Commit().ok());
    EXPECT_EQ((*engine)->stats().duplicates, 600);
    auto v = (*store)->Get(
        Family::kMeta, DayLoadKey(0, DayNumber(absl::CivilDay(2026, 11, 11))));
    ASSERT_TRUE(v.ok() && v->has_value());
    day_bytes.push_back(**v);
    engine->reset();
    store->reset();
    std::filesystem::remove_all(dir);
  }
  EXPECT_EQ(day_bytes[0], day_bytes[1]);
}

}  // namespace
}  // namespace chatkpi

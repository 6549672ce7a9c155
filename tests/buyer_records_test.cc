// A commit appends to a stored buyer only what it added (engine/state.h,
// EncodeBuyerRecord). States read back from the store through such
// records — evicted past a tiny pool, in a month committed every few
// dozen events — give the reference's numbers, with one thread and with
// shards, and no stored value holds more records than kMaxStoredRecords.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/evicted_states.h"
#include "engine/file_ingest.h"
#include "engine/state.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::TempDir;
using testing::TestRules;
using testing::WriteLines;

TEST(BuyerRecords, StatesReadBackThroughRecordsMatchTheReference) {
  GeneratorOptions gen;
  gen.seed = 11;
  gen.agents = 4;
  gen.buyers = 400;
  gen.shuffle = true;
  auto lines = GenerateJsonl(gen);
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_GT(lines->size(), 5000u);
  const std::string dir = TempDir("buyer_records");
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, *lines);
  for (int threads : {1, 2}) {
    const std::string db = absl::StrCat(dir, "/db", threads);
    {
      auto store = Store::Open(db, StoreOptions());
      ASSERT_TRUE(store.ok()) << store.status();
      EngineOptions eo;
      // Most states leave memory after each commit and the pool keeps
      // almost none: they come back from the store, through their records.
      eo.live_state_budget_bytes = size_t{32} << 10;
      eo.evicted_states = std::make_shared<EvictedStates>(size_t{4} << 10);
      auto engine = Engine::Open(TestRules(), store->get(), eo);
      ASSERT_TRUE(engine.ok()) << engine.status();
      FileIngestOptions opts;
      opts.threads = threads;
      opts.commit_every = 61;
      FileIngestReport report;
      absl::Status s = IngestFiles(**engine, {file}, opts, &report);
      ASSERT_TRUE(s.ok()) << s;
    }
    testing::ExpectStoreMatchesReference(db, file, absl::CivilDay(2026, 10, 30),
                                         absl::CivilDay(2026, 12, 2));
    auto store = Store::Open(db, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    int buyers = 0;
    int appended = 0;
    int max_records = 0;
    absl::Status s = (*store)->Scan(
        Family::kBuyers, "", "",
        [&](std::string_view key, std::string_view value) {
          BuyerState b;
          EXPECT_TRUE(DecodeBuyerState(value, &b)) << key;
          ++buyers;
          appended += b.stored_records > 1;
          max_records = std::max<int>(max_records, b.stored_records);
          return true;
        });
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_GE(buyers, 400) << threads << " threads";
    EXPECT_GT(appended, buyers / 2) << threads << " threads";
    EXPECT_LE(max_records, int{kMaxStoredRecords}) << threads << " threads";
  }
  std::filesystem::remove_all(dir);
}

// Only the buyers family concatenates; an append anywhere else would be
// a Merge that RocksDB refuses at the write, or worse at a read: the
// commit is refused whole before it is written.
TEST(BuyerRecords, AppendToAnotherFamilyRefusesTheCommit) {
  const std::string dir = TempDir("append_refused") + "/db";
  auto store = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  Commit c(store->get());
  c.Put(Family::kMeta, "k", "v");
  c.Append(Family::kOrders, "o", "x");
  absl::Status s = (*store)->Write(&c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  auto v = (*store)->Get(Family::kMeta, "k");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->has_value());
  Commit ok(store->get());
  ok.Append(Family::kBuyers, "b", "x");
  ok.Append(Family::kBuyers, "b", "y");
  ASSERT_TRUE((*store)->Write(&ok).ok());
  auto b = (*store)->Get(Family::kBuyers, "b");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ(**b, "xy");
}

}  // namespace
}  // namespace chatkpi

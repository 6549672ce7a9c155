// File shards write a commit while they apply the next batch (docs/engine.md,
// "Parallel ingest"): the engines forget what the commit writes — states
// evicted, rows and assessments dropped — before it lands, so whatever they
// read back from the store in the next batch must wait for it.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/engine.h"
#include "engine/evicted_states.h"
#include "engine/file_ingest.h"
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

// A shuffled month whose buyers come back in every batch, committed every
// 300 lines under a state budget that keeps almost nothing and a pool of
// evicted states that keeps nothing: nearly every event reads its buyer's
// or order's state back from the store, often the state the commit just
// handed over (and not yet written) holds. The numbers are the reference's.
TEST(OverlappedCommit, StatesEvictedWhileTheirCommitIsWrittenAreReadBackRight) {
  GeneratorOptions gen;
  gen.seed = 11;
  gen.agents = 4;
  gen.target_events = 20'000;
  gen.shuffle = true;
  gen.duplicate_rate = 0.02;  // redeliveries of ids the write holds
  auto lines = GenerateJsonl(gen);
  ASSERT_TRUE(lines.ok()) << lines.status();
  const std::string dir = TempDir("overlapped_commit");
  const std::string file = dir + "/events.jsonl";
  WriteLines(file, *lines);
  for (int threads : {2, 4}) {
    const std::string db = absl::StrCat(dir, "/db", threads);
    {
      auto store = Store::Open(db, StoreOptions());
      ASSERT_TRUE(store.ok()) << store.status();
      EngineOptions eo;
      eo.live_state_budget_bytes = size_t{4} << 10;
      eo.evicted_states = std::make_shared<EvictedStates>(0);
      auto engine = Engine::Open(TestRules(), store->get(), eo);
      ASSERT_TRUE(engine.ok()) << engine.status();
      FileIngestOptions opts;
      opts.threads = threads;
      opts.commit_every = 300;
      FileIngestReport report;
      absl::Status s = IngestFiles(**engine, {file}, opts, &report);
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_GT((*store)->commits(), 50u);
    }
    SCOPED_TRACE(absl::StrCat(threads, " threads"));
    testing::ExpectStoreMatchesReference(db, file, absl::CivilDay(2026, 10, 30),
                                         absl::CivilDay(2026, 12, 2));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

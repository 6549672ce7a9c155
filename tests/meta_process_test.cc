// Damaged stored metadata through the real binary (engine/meta.h): a store
// whose stored rules no longer parse makes `snapshot` and `stats` fail with
// a message naming the store and the key, instead of printing figures
// under "default" rules with exit 0.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/meta.h"
#include "gtest/gtest.h"
#include "tests/raw_store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::ProcessResult;
using testing::RunProcess;

TEST(MetaProcess, DamagedStoredRulesFailSnapshotAndStats) {
  const std::string dir = testing::TempDir("meta_process");
  const std::string db = dir + "/db";
  const int64_t ts = testing::Local("2026-11-02 10:00:00");
  testing::WriteFile(
      dir + "/in.jsonl",
      absl::StrCat(
          R"({"type":"chat","id":"q1","ts":)", ts,
          R"(,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})", "\n",
          R"({"type":"chat","id":"a1","ts":)", ts + 30000,
          R"(,"buyer":"u1","agent":"shop:a","dir":"out","text":"在的"})",
          "\n"));
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "ingest", "--db", db, dir + "/in.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> snapshot = {
      ChatkpiBinary(), "snapshot",   "--db", db,
      "--from",        "2026-11-01", "--to", "2026-11-30"};
  r = RunProcess(snapshot);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The rules cut short, as a damaged value would be.
  ASSERT_TRUE(testing::PutRawStoreValue(db, Family::kMeta, kMetaRules,
                                        "{\"version\": \"default\", \"resp")
                  .ok());
  const std::string expected =
      absl::StrCat("--db ", db, ": stored meta key \"rules\" is corrupt");
  r = RunProcess(snapshot);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, expected)) << r.err;
  EXPECT_EQ(r.out, "");
  r = RunProcess({ChatkpiBinary(), "stats", "--db", db});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, expected)) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace chatkpi

// Whole-process tests of `chatkpi ingest` / `snapshot` / `stats`: generated
// files against the reference model, re-runs, SIGKILL at random instants,
// and every malformed line of docs/spec.md §1 as a dead letter.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "store/store.h"
#include "store/store_files.h"
#include "tests/process_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::Gen;
using testing::Ingest;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

const char kFrom[] = "2026-10-30";
const char kTo[] = "2026-12-02";

std::string Snapshot(const std::string& db, const std::string& from = kFrom,
                     const std::string& to = kTo) {
  return testing::Snapshot(db, from, to);
}

PeriodSnapshot ReadBack(const std::string& db) {
  return testing::StoredSnapshot(db, absl::CivilDay(2026, 10, 30),
                                 absl::CivilDay(2026, 12, 2));
}

TEST(IngestProcess, GeneratedFileMatchesReference) {
  std::string dir = TempDir("cli");
  std::string file =
      Gen(dir, {"--seed", "11", "--agents", "5", "--buyers", "300", "--shuffle",
                "--duplicates", "0.1", "--malformed", "0.02",
                "--delay-orders-s", "7200"});
  int64_t bad = 0;
  testing::ParseJsonlFile(file, &bad);
  ASSERT_GT(bad, 0);
  // One shard on one thread, eight shards on two and four threads
  // (docs/engine.md, "Parallel ingest"): the same numbers.
  for (const char* threads : {"4", "2", "1"}) {
    SCOPED_TRACE(absl::StrCat(threads, " threads"));
    std::filesystem::remove_all(dir + "/db");
    auto r = Ingest(dir + "/db", {file}, {"--threads", threads});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    testing::ExpectStoreMatchesReference(dir + "/db", file,
                                         absl::CivilDay(2026, 10, 30),
                                         absl::CivilDay(2026, 12, 2));
  }

  // The snapshot command prints exactly the stored snapshot.
  EXPECT_EQ(Snapshot(dir + "/db"), SnapshotToJson(ReadBack(dir + "/db")));

  // Re-running on the same file changes nothing, dead letters included.
  std::string before = Snapshot(dir + "/db");
  auto r = Ingest(dir + "/db", {file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Snapshot(dir + "/db"), before);
  std::filesystem::remove_all(dir);
}

TEST(IngestProcess, TwoFilesInTwoRunsEqualOneRun) {
  std::string dir = TempDir("split");
  std::string file = Gen(dir, {"--seed", "12", "--buyers", "200", "--shuffle"});
  std::string all = ReadFile(file);
  size_t mid = all.find('\n', all.size() / 2) + 1;
  WriteFile(dir + "/a.jsonl", all.substr(0, mid));
  WriteFile(dir + "/b.jsonl", all.substr(mid));
  ASSERT_EQ(Ingest(dir + "/one", {file}, {"--threads", "1"}).exit_code, 0);
  ASSERT_EQ(
      Ingest(dir + "/two", {dir + "/a.jsonl"}, {"--threads", "2"}).exit_code,
      0);
  ASSERT_EQ(
      Ingest(dir + "/two", {dir + "/b.jsonl"}, {"--threads", "4"}).exit_code,
      0);
  EXPECT_EQ(Snapshot(dir + "/one"), Snapshot(dir + "/two"));
  std::filesystem::remove_all(dir);
}

TEST(IngestProcess, StdinIsAccepted) {
  std::string dir = TempDir("stdin");
  std::string file = Gen(dir, {"--seed", "13", "--buyers", "50"});
  ASSERT_EQ(Ingest(dir + "/a", {file}).exit_code, 0);
  auto r = RunProcess(
      {"/bin/sh", "-c",
       absl::StrCat(ChatkpiBinary(), " ingest --db ", dir, "/b - < ", file)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Snapshot(dir + "/a"), Snapshot(dir + "/b"));
  std::filesystem::remove_all(dir);
}

TEST(IngestProcess, SigkillAtRandomInstantsThenRerun) {
  std::string dir = TempDir("crash");
  std::string file =
      Gen(dir, {"--seed", "21", "--agents", "10", "--events", "300000",
                "--shuffle", "--duplicates", "0.05", "--malformed", "0.001"});
  // The clean run on one thread (one shard, docs/engine.md "Parallel
  // ingest"); the killed runs on 2 and 4 (eight shards), the rerun on 1.
  ASSERT_EQ(Ingest(dir + "/clean", {file}, {"--threads", "1"}).exit_code, 0);
  const std::string want = Snapshot(dir + "/clean");

  const std::string db = dir + "/killed";
  // Commits the store's commit record (store/store_files.h) counts so far.
  auto commits = [&db] {
    std::optional<CommitRecord> r = ReadCommitRecord(db);
    return r.has_value() ? r->commits : uint64_t{0};
  };
  std::mt19937 rng(4);
  int killed_mid_stream = 0;
  for (int round = 0; round < 6; ++round) {
    const uint64_t before = commits();
    pid_t pid = testing::StartProcess({ChatkpiBinary(), "ingest", "--db", db,
                                       "--commit-every", "3000", "--threads",
                                       round % 3 == 2 ? "4" : "2", file});
    // Killed after this run has committed a random 1..6 times, then a
    // random bit of the next interval, not after a fixed delay: on a loaded
    // machine a run can take a second to commit at all, and a kill before
    // its first commit interrupts nothing (the test would pass vacuously).
    const uint64_t target =
        before + std::uniform_int_distribution<int>(1, 6)(rng);
    bool exited = false;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (commits() < target && absl::Now() < deadline) {
      // Looks at the child without reaping it (WaitProcess does that).
      siginfo_t info{};
      if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    const bool committed = commits() >= target;
    if (committed && !exited) {
      absl::SleepFor(
          absl::Milliseconds(std::uniform_int_distribution<int>(0, 20)(rng)));
    }
    kill(pid, SIGKILL);
    const int code = testing::WaitProcess(pid);
    ASSERT_TRUE(committed || exited)
        << "round " << round << ": no commit within 60 s (" << commits()
        << " commits, " << before << " before the run)";
    if (code != -SIGKILL) {
      EXPECT_EQ(code, 0) << "round " << round << ": the run failed";
    } else {
      ++killed_mid_stream;
      // The kill came after this run's commits, so it stored something and
      // left the rest of the file for the rerun.
      EXPECT_GE(commits(), target) << "round " << round;
    }
  }
  // 6 rounds of at most 6 commits of 3000 lines each stop well short of the
  // 300000 lines, unless a run is far faster than its commits.
  EXPECT_GE(killed_mid_stream, 4) << "the kills should interrupt the stream";
  auto r = Ingest(db, {file}, {"--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Snapshot(db), want);
  // Nothing doubled in the log either: one entry per distinct id. (The
  // stores differ in their shards, listed after the counts.)
  auto stats_clean =
      RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/clean"});
  auto stats_killed = RunProcess({ChatkpiBinary(), "stats", "--db", db});
  EXPECT_EQ(stats_clean.out.substr(0, stats_clean.out.find("\"shards\"")),
            stats_killed.out.substr(0, stats_killed.out.find("\"shards\"")));
  std::filesystem::remove_all(dir);
}

TEST(IngestProcess, EveryMalformedLineIsADeadLetter) {
  // Good lines (hand-computed below) around one line per rejection reason of
  // docs/spec.md §1.
  const std::string ts = absl::StrCat(testing::Local("2026-11-10 09:00:00"));
  const std::string ts30 = absl::StrCat(testing::Local("2026-11-10 09:00:30"));
  const std::string ts_order =
      absl::StrCat(testing::Local("2026-11-10 10:00:00"));
  std::vector<std::string> lines = {
      absl::StrCat(
          R"({"type":"chat","id":"g1","ts":)", ts,
          R"(,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})"),
      R"({"type":"chat","id":"b1","ts":)",  // not JSON (truncated)
      "this is not json",
      absl::StrCat(R"({"type":"chat","ts":)", ts,
                   R"(,"buyer":"u1","agent":"shop:a","dir":"in"})"),  // no id
      absl::StrCat(
          R"({"type":"chat","id":"b3","ts":")", ts,
          R"(","buyer":"u1","agent":"shop:a","dir":"in"})"),  // ts string
      absl::StrCat(
          R"({"type":"order","id":"b4","ts":)", ts_order,
          R"(,"order":"X","buyer":"u1","status":"paid","amount":-1,"items":1})"),
      absl::StrCat(
          R"({"type":"order","id":"b5","ts":)", ts_order,
          R"(,"order":"X","buyer":"u1","status":"paid","amount":1.234,"items":1})"),
      absl::StrCat(
          R"({"type":"order","id":"b6","ts":)", ts_order,
          R"(,"order":"X","buyer":"u1","status":"paid","amount":1,"items":0})"),
      absl::StrCat(R"({"type":"refund","id":"b7","ts":)", ts, "}"),
      absl::StrCat(R"({"type":"chat","id":"b8","ts":)", ts,
                   R"(,"buyer":"u1","agent":"shop:a","dir":"sideways"})"),
      absl::StrCat(
          R"({"type":"order","id":"b9","ts":)", ts_order,
          R"(,"order":"X","buyer":"u1","status":"shipped","amount":1,"items":1})"),
      R"({"type":"chat","id":"b10","ts":946684799999,"buyer":"u1","agent":"shop:a","dir":"in"})",
      R"({"type":"chat","id":"b11","ts":4102444800000,"buyer":"u1","agent":"shop:a","dir":"in"})",
      absl::StrCat(R"({"type":"chat","id":"b12","ts":)", ts, R"(,"buyer":")",
                   std::string(4097, 'x'), R"(","agent":"shop:a","dir":"in"})"),
      absl::StrCat(R"({"type":"chat","id":"b13","ts":)", ts,
                   R"(,"buyer":"u1","agent":"shop:a","dir":"out","text":")",
                   std::string(65537, 'y'), R"("})"),
      absl::StrCat(R"({"type":"chat","id":"","ts":)", ts,
                   R"(,"buyer":"u1","agent":"shop:a","dir":"in"})"),
      absl::StrCat(R"({"type":"chat","id":"b15","ts":)", ts,
                   R"(,"agent":"shop:a","dir":"in"})"),  // no buyer
      absl::StrCat(
          R"({"type":"order","id":"b16","ts":)", ts_order,
          R"(,"order":"X","buyer":"u1","status":"paid","amount":"12","items":1})"),
      absl::StrCat(
          R"({"type":"chat","id":"g2","ts":)", ts30,
          R"(,"buyer":"u1","agent":"shop:a","dir":"out","text":"亲，在的"})"),
      absl::StrCat(
          R"({"type":"order","id":"g3","ts":)", ts_order,
          R"(,"order":"X","buyer":"u1","status":"paid","amount":0.29,"items":1})"),
      "",  // a blank line is neither an event nor a dead letter
  };
  const int64_t kBad = 17;
  std::string dir = TempDir("dead");
  std::string content;
  for (const auto& l : lines) content += l + "\n";
  WriteFile(dir + "/mixed.jsonl", content);
  auto r = Ingest(dir + "/db", {dir + "/mixed.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ingest(dir + "/db", {dir + "/mixed.jsonl"});  // re-read: kept once
  ASSERT_EQ(r.exit_code, 0) << r.err;

  PeriodSnapshot s = ReadBack(dir + "/db");
  EXPECT_EQ(s.dead_letters, kBad);
  ASSERT_EQ(s.agents.size(), 1u);
  const Counters& a = s.agents[0].counters;
  EXPECT_EQ(a[kConsultations], 1);
  EXPECT_EQ(a[kAnswered], 1);
  EXPECT_EQ(a[kResponseMsSum], 30000);
  EXPECT_EQ(a[kCourteous], 1);
  EXPECT_EQ(a[kOrders], 1);     // X: created time = its paid
  EXPECT_EQ(a[kSalesFen], 29);  // 0.29 yuan
  EXPECT_EQ(a[kPaidItems], 1);

  auto stats = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find(absl::StrCat("\"dead_letters\": ", kBad)),
            std::string::npos)
      << stats.out;
  EXPECT_NE(stats.out.find("\"events\": 3"), std::string::npos) << stats.out;
  std::filesystem::remove_all(dir);
}

TEST(IngestProcess, UserErrorsExitNonZeroWithAMessage) {
  std::string dir = TempDir("errors");
  auto r = Ingest(dir + "/db", {dir + "/missing.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("missing.jsonl"), std::string::npos) << r.err;

  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", dir + "/db", "--from",
                  "2026-11-31", "--to", "2026-11-30"});
  EXPECT_EQ(r.exit_code, 2);
  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", dir + "/db", "--from",
                  "2026-11-30", "--to", "2026-11-01"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("before"), std::string::npos) << r.err;
  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", dir + "/nothing",
                  "--from", "2026-11-01", "--to", "2026-11-30"});
  EXPECT_NE(r.exit_code, 0);
  r = RunProcess({ChatkpiBinary(), "ingest", "--bogus", "1"});
  EXPECT_EQ(r.exit_code, 2);
  // Commands that take flags only name a stray argument (a file meant for
  // ingest, say) instead of ignoring it.
  for (const char* cmd : {"replay", "run"}) {
    r = RunProcess({ChatkpiBinary(), cmd, "--db", dir + "/db", "events.jsonl"});
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.err.find("unexpected argument 'events.jsonl'"),
              std::string::npos)
        << cmd << ": " << r.err;
  }

  // A foreign directory is refused, not turned into a store.
  std::filesystem::create_directories(dir + "/foreign");
  WriteFile(dir + "/foreign/notes.txt", "hello");
  WriteFile(dir + "/e.jsonl", "");
  r = Ingest(dir + "/foreign", {dir + "/e.jsonl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not a chatkpi store"), std::string::npos) << r.err;

  // Other rules on an existing store: refused, pointing at replay.
  ASSERT_EQ(Ingest(dir + "/db2", {dir + "/e.jsonl"}).exit_code, 0);
  WriteFile(dir + "/rules.json",
            R"({"version": "v2", "attribution": {"model": "first"}})");
  r = Ingest(dir + "/db2", {dir + "/e.jsonl"},
             {"--rules", dir + "/rules.json"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("replay"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

// The evicted-state pool's budget changes where a late event finds its
// buyer (the pool or a store read), never a number: no pool at all, a tiny
// one and the default give the same snapshot on a shuffled month with
// small commits, where most events are late. A budget out of range is a
// usage error.
TEST(IngestProcess, StateCacheBudgetChangesNoNumber) {
  std::string dir = TempDir("state-cache");
  std::string file = Gen(dir, {"--seed", "13", "--agents", "5", "--buyers",
                               "300", "--shuffle", "--delay-orders-s", "7200"});
  ASSERT_EQ(
      Ingest(dir + "/default", {file}, {"--commit-every", "500"}).exit_code, 0);
  const std::string want = Snapshot(dir + "/default");
  for (const char* mib : {"0", "1"}) {
    const std::string db = dir + "/cache-" + mib;
    auto r =
        Ingest(db, {file}, {"--commit-every", "500", "--state-cache-mib", mib});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Snapshot(db), want) << mib;
  }
  auto r = Ingest(dir + "/bad", {file}, {"--state-cache-mib", "-1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--state-cache-mib must be in [0, 1048576]"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// The end of a writer's run (docs/engine.md, "The end of a run"): the close
// begun in the background (Store::BeginClose) and the flush begun when the
// input ends (Store::FlushInBackground) leave a store the next open reads
// whole without replaying anything, refuse writes once the close began, and
// lose nothing committed when the close's writes fail or the process is
// killed during them. And the head of a run: a new store's creation cut
// short.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "store/fault_injection.h"
#include "store/store.h"
#include "store/store_files.h"
#include "tests/process_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;

constexpr int kIds = 70000;  // past the 64k at which the filter is saved

// Write-ahead log files of `dir` that hold anything: what an open replays.
std::vector<std::string> NonEmptyWals(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && fs::file_size(e.path()) > 0) {
      out.push_back(e.path().filename().string());
    }
  }
  return out;
}

// kIds events in three commits, each with a buyer state, a row and a meta
// key, so that every kind of family has something in its memtable.
void Fill(Store& store) {
  for (int part = 0; part < 3; ++part) {
    Commit c(&store);
    for (int i = part * kIds / 3; i < (part + 1) * kIds / 3; ++i) {
      ASSERT_TRUE(*c.AppendEvent(absl::StrCat("e", i), "{}"));
    }
    c.Put(Family::kBuyers, absl::StrCat("buyer", part), "state");
    c.Put(Family::kAggregates, absl::StrCat("row", part), "counts");
    c.Put(Family::kMeta, absl::StrCat("key", part), "value");
    ASSERT_TRUE(store.Write(&c).ok());
  }
}

// What Fill wrote, as a read-only open sees it, and the id index complete
// up to the log's end (nothing for the next writer to read back).
void ExpectFilled(const std::string& dir) {
  StoreOptions ro;
  ro.read_only = true;
  auto store = Store::Open(dir, ro);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->next_seq(), uint64_t{kIds});
  for (int part = 0; part < 3; ++part) {
    EXPECT_EQ(*(*store)->Get(Family::kBuyers, absl::StrCat("buyer", part)),
              "state");
    EXPECT_EQ(*(*store)->Get(Family::kAggregates, absl::StrCat("row", part)),
              "counts");
    EXPECT_EQ(*(*store)->Get(Family::kMeta, absl::StrCat("key", part)),
              "value");
  }
}

// A store opened with `so` (its fault_injection set), filled (Fill), whose
// disk then fails, and whose close has begun.
void OpenFilledThenFailWrites(const std::string& dir, const StoreOptions& so,
                              std::unique_ptr<Store>* out) {
  auto store = Store::Open(dir, so);
  ASSERT_TRUE(store.ok()) << store.status();
  Fill(**store);
  so.fault_injection->SetFailWrites(true);
  (*store)->BeginClose();
  *out = std::move(*store);
}

void ExpectIdsFound(const std::string& dir) {
  auto store = Store::Open(dir, {});
  ASSERT_TRUE(store.ok()) << store.status();
  Commit c(store->get());
  for (int i = 0; i < kIds; i += 97) {
    ASSERT_FALSE(*c.AppendEvent(absl::StrCat("e", i), "{}")) << i;
  }
  ASSERT_TRUE(*c.AppendEvent("new", "{}"));
}

// The close begun early does all a close does: every memtable flushed (no
// WAL left to replay, the id index's mark of its last spill included), the
// ids spilled up to the log's end and the filter saved; a write after it is
// refused.
TEST(StoreClose, BegunInTheBackgroundLeavesNothingToReplay) {
  const std::string dir = testing::TempDir("beginclose") + "/db";
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    Fill(**store);
    (*store)->BeginClose();
    Commit late(store->get());
    late.Put(Family::kMeta, "late", "x");
    EXPECT_TRUE(absl::IsFailedPrecondition((*store)->Write(&late)));
    (*store)->BeginClose();  // a second call changes nothing
  }
  EXPECT_EQ(NonEmptyWals(dir), std::vector<std::string>());
  EXPECT_TRUE(fs::exists(dir + "/ids.filter"));
  ExpectFilled(dir);
  {
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(dir, ro);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*(*store)->Get(Family::kMeta, "late"), std::nullopt);
    // Spilled at the close: 70000 = 0x11170.
    EXPECT_EQ(*(*store)->Get(Family::kMeta, "ids.indexed_to"),
              std::string("\0\0\0\0\0\1\x11\x70", 8));
  }
  ExpectIdsFound(dir);
}

// The close's flushes end in any order: the last family in the store's
// order (rollups) still flushing a large memtable when meta, which the id
// index's last spill writes to, is flushed leaves no WAL either (meta is
// flushed after the others are done, so the WAL holding the spill's mark
// is not kept for the rollups' sake).
TEST(StoreClose, NoWalLeftWhenTheLastFamilyFlushesLongest) {
  for (int round = 0; round < 3; ++round) {
    const std::string dir =
        testing::TempDir(absl::StrCat("slowfamily", round)) + "/db";
    {
      auto store = Store::Open(dir, {});
      ASSERT_TRUE(store.ok()) << store.status();
      Fill(**store);
      // Just under the rollups' memtable size: one memtable, flushed by
      // the close alone, while the spill of kIds ids is written.
      Commit c(store->get());
      const std::string value(1000, 'r');
      for (int i = 0; i < 7000; ++i) {
        c.Put(Family::kRollups, absl::StrCat("rollup", i), value);
      }
      ASSERT_TRUE((*store)->Write(&c).ok());
      (*store)->BeginClose();
    }
    EXPECT_EQ(NonEmptyWals(dir), std::vector<std::string>()) << round;
    ExpectFilled(dir);
  }
}

// A flush begun while commits are still being written (the input's end)
// keeps them all: what comes after goes to new memtables, which the close
// flushes too.
TEST(StoreClose, FlushBegunBeforeTheLastCommitsKeepsThem) {
  const std::string dir = testing::TempDir("flushearly") + "/db";
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    Commit first(store->get());
    first.Put(Family::kBuyers, "early", "1");
    ASSERT_TRUE((*store)->Write(&first).ok());
    (*store)->FlushInBackground();
    Fill(**store);
    (*store)->BeginClose();
  }
  EXPECT_EQ(NonEmptyWals(dir), std::vector<std::string>());
  ExpectFilled(dir);
  StoreOptions ro;
  ro.read_only = true;
  auto store = Store::Open(dir, ro);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->Get(Family::kBuyers, "early"), "1");
}

// A disk that fails under the close begun in the background (its flush, the
// last spill, the filter) loses nothing committed: the next open reads it
// back from the WAL and the log.
TEST(StoreClose, FailedBackgroundCloseLosesNothing) {
  const std::string dir = testing::TempDir("failedclose") + "/db";
  auto faults = std::make_shared<FaultInjection>();
  {
    StoreOptions so;
    so.fault_injection = faults;
    std::unique_ptr<Store> store;
    ASSERT_NO_FATAL_FAILURE(OpenFilledThenFailWrites(dir, so, &store));
  }
  EXPECT_GT(faults->failures(), 0);
  faults->Clear();
  EXPECT_NE(NonEmptyWals(dir), std::vector<std::string>());
  ExpectFilled(dir);
  ExpectIdsFound(dir);
}

// `chatkpi ingest` killed at random instants after its last commit was
// written, while its close runs (the flush, the spill, the freeing): the
// store holds every event, a re-run adds none, and a read-only snapshot and
// the re-run's agree with an undisturbed run. A clean run leaves no WAL.
TEST(StoreClose, IngestKilledDuringItsCloseLosesNothing) {
  using testing::ChatkpiBinary;
  const std::string dir = testing::TempDir("killedclose");
  const std::string file =
      testing::Gen(dir, {"--seed", "31", "--agents", "10", "--events", "150000",
                         "--shuffle", "--duplicates", "0.02"});
  const std::vector<std::string> flags = {"--commit-every", "40000",
                                          "--threads", "2"};
  auto clean = testing::Ingest(dir + "/clean", {file}, flags);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(NonEmptyWals(dir + "/clean"), std::vector<std::string>());
  const std::string want =
      testing::Snapshot(dir + "/clean", "2026-10-30", "2026-12-02");
  const uint64_t final_commits = ReadCommitRecord(dir + "/clean")->commits;

  std::mt19937 rng(7);
  int killed_in_close = 0;
  for (int round = 0; round < 6; ++round) {
    const std::string db = absl::StrCat(dir, "/killed", round);
    std::vector<std::string> argv = {ChatkpiBinary(), "ingest", "--db", db};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(file);
    pid_t pid = testing::StartProcess(argv);
    // The last commit is written: the record counts it and the writer is
    // still open (the close record clears that).
    auto in_close = [&] {
      std::optional<CommitRecord> r = ReadCommitRecord(db);
      return r.has_value() && r->commits == final_commits && r->writer_open;
    };
    bool exited = false;
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (!in_close() && absl::Now() < deadline) {
      siginfo_t info{};
      if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
        break;
      }
      absl::SleepFor(absl::Microseconds(500));
    }
    if (!exited) {
      absl::SleepFor(
          absl::Milliseconds(std::uniform_int_distribution<int>(0, 40)(rng)));
    }
    kill(pid, SIGKILL);
    const int code = testing::WaitProcess(pid);
    if (code == -SIGKILL) {
      ++killed_in_close;
    } else {
      EXPECT_EQ(code, 0) << "round " << round;
    }
    SCOPED_TRACE(absl::StrCat("round ", round, " exit ", code));
    EXPECT_EQ(testing::Snapshot(db, "2026-10-30", "2026-12-02"), want);
    auto again = testing::Ingest(db, {file}, flags);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find(" 0 new events"), std::string::npos) << again.err;
    EXPECT_EQ(testing::Snapshot(db, "2026-10-30", "2026-12-02"), want);
    EXPECT_EQ(NonEmptyWals(db), std::vector<std::string>());
    fs::remove_all(db);
  }
  // The close takes tens of ms; a run seldom ends before a kill within it.
  EXPECT_GE(killed_in_close, 3);
  fs::remove_all(dir);
}

// A new store's families are created in one call after RocksDB made the
// database (one OPTIONS file instead of one per family): a crash between
// the two leaves a database of the default family alone under chatkpi's
// marker. A reader finds no store there; a writer finishes the creation
// and the store works.
TEST(StoreCreation, CutShortBeforeTheFamiliesIsFinishedByAWriter) {
  const std::string dir = testing::TempDir("cutcreation") + "/db";
  fs::create_directories(dir);
  ASSERT_TRUE(WriteStoreMarker(dir).ok());
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir, &raw).ok());
    delete raw;
  }
  StoreOptions ro;
  ro.read_only = true;
  EXPECT_TRUE(absl::IsNotFound(Store::Open(dir, ro).status()));
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    Fill(**store);
  }
  ExpectFilled(dir);
}

// The very first step of a creation is the marker, written to a temporary
// file and renamed: a crash in between leaves a directory holding that file
// alone. A reader finds no store there; a writer creates one.
TEST(StoreCreation, CutShortInTheMarkerIsFinishedByAWriter) {
  const std::string dir = testing::TempDir("cutmarker") + "/db";
  fs::create_directories(dir);
  std::ofstream(dir + "/" + kStoreMarkerFile + ".tmp") << "chatkpi";
  StoreOptions ro;
  ro.read_only = true;
  auto reader = Store::Open(dir, ro);
  EXPECT_TRUE(absl::IsNotFound(reader.status())) << reader.status();
  {
    auto store = Store::Open(dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    Fill(**store);
  }
  ExpectFilled(dir);
  // Anything else beside it is someone else's directory.
  const std::string other = testing::TempDir("cutmarker_other") + "/db";
  fs::create_directories(other);
  std::ofstream(other + "/" + kStoreMarkerFile + ".tmp") << "chatkpi";
  std::ofstream(other + "/notes.txt") << "mine";
  EXPECT_TRUE(absl::IsFailedPrecondition(Store::Open(other, {}).status()));
  EXPECT_TRUE(fs::exists(other + "/notes.txt"));
  EXPECT_FALSE(fs::exists(other + "/CURRENT"));
}

// A store opened unlogged (a replay's new generation) writes its commits to
// memtables only, and Persist() puts every one of them on disk: a read-only
// open afterwards finds all of them, the ids included.
TEST(UnloggedStore, PersistWritesOutEveryCommitWithoutALog) {
  const std::string dir = testing::TempDir("unlogged") + "/db";
  {
    StoreOptions so;
    so.unlogged = true;
    auto store = Store::Open(dir, so);
    ASSERT_TRUE(store.ok()) << store.status();
    Fill(**store);
    // A logged store has its three commits in a WAL by now.
    EXPECT_EQ(NonEmptyWals(dir), std::vector<std::string>());
    ASSERT_TRUE((*store)->Persist().ok());
  }
  ExpectFilled(dir);
  ExpectIdsFound(dir);
}

// A write-out that fails is reported: without a log, the commits it did not
// write out are not anywhere else, so the caller must not use the store.
TEST(UnloggedStore, FailedWriteOutIsReported) {
  const std::string dir = testing::TempDir("unlogged_fails") + "/db";
  auto faults = std::make_shared<FaultInjection>();
  StoreOptions so;
  so.unlogged = true;
  so.fault_injection = faults;
  std::unique_ptr<Store> store;
  ASSERT_NO_FATAL_FAILURE(OpenFilledThenFailWrites(dir, so, &store));
  const absl::Status persisted = store->Persist();
  EXPECT_FALSE(persisted.ok());
  EXPECT_GT(faults->failures(), 0);
  faults->Clear();
}

}  // namespace
}  // namespace chatkpi

// Fault injection in the store: writes that fail as a full disk
// or with an I/O error, in process (store/fault_injection.h) and in a real
// `chatkpi ingest` process (a file size limit; a full tmpfs where one can be
// mounted). What must hold:
//  * a failed commit stores nothing: the source position in the store is
//    never past what the stored state contains;
//  * the engine stops at the first failure and the command exits non-zero
//    with a message that says what happened;
//  * once the fault clears, a re-run ends with exactly the snapshot of an
//    uninterrupted run: no event lost, none counted twice.
#include "store/fault_injection.h"

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "query/snapshot.h"
#include "store/backup.h"
#include "store/generations.h"
#include "store/store.h"
#include "store/store_files.h"
#include "tests/process_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::Ingest;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

const absl::CivilDay kFrom(2026, 10, 30);
const absl::CivilDay kTo(2026, 12, 2);

std::string Snapshot(const std::string& db) {
  return testing::Snapshot(db, "2026-10-30", "2026-12-02");
}

std::string GenerateFile(const std::string& dir, uint64_t seed, int64_t lines) {
  GeneratorOptions o;
  o.seed = seed;
  o.agents = 6;
  o.target_events = lines;
  o.shuffle = true;
  o.delay_orders_ms = 3600'000;
  o.duplicate_rate = 0.05;
  o.malformed_rate = 0.01;
  const std::string path = dir + "/events.jsonl";
  std::ofstream out(path, std::ios::binary);
  auto n = WriteJsonl(o, out);
  EXPECT_TRUE(n.ok()) << n.status();
  return path;
}

std::string SnapshotJson(Store& store) {
  auto s = ReadSnapshot(store, kFrom, kTo);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? SnapshotToJson(*s) : "";
}

struct StoreFigures {
  std::string snapshot;
  uint64_t events = 0;
  int64_t position = 0;  // lines of the file committed
};

// Opens `db` without faults and reads what it holds.
StoreFigures Inspect(const std::string& db, const std::string& file) {
  StoreFigures f;
  auto store = Store::Open(db, StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return f;
  f.snapshot = SnapshotJson(**store);
  f.events = (*store)->next_seq();
  auto pos = (*store)->Get(
      Family::kMeta,
      absl::StrCat(kMetaPositionPrefix,
                   std::filesystem::weakly_canonical(file).string()));
  EXPECT_TRUE(pos.ok()) << pos.status();
  if (pos.ok() && pos->has_value()) {
    std::vector<std::string> parts = absl::StrSplit(**pos, '\t');
    EXPECT_TRUE(absl::SimpleAtoi(parts[0], &f.position)) << **pos;
  }
  return f;
}

absl::Status IngestInto(const std::string& db, const std::string& file,
                        std::shared_ptr<FaultInjection> faults,
                        size_t commit_every, int threads = 1) {
  StoreOptions so;
  so.fault_injection = std::move(faults);
  auto store = Store::Open(db, so);
  if (!store.ok()) return store.status();
  auto rules = DefaultRules();
  if (!rules.ok()) return rules.status();
  auto engine = Engine::Open(*rules, store->get());
  if (!engine.ok()) return engine.status();
  FileIngestOptions opts;
  opts.commit_every = commit_every;
  opts.threads = threads;
  FileIngestReport report;
  absl::Status s = IngestFiles(**engine, {file}, opts, &report);
  if (!s.ok() && threads == 1) {
    // The engine refuses to go on after a failure. (With more threads the
    // file shards' engines took the events: this one is not used.)
    absl::Status again = (*engine)->Commit();
    EXPECT_FALSE(again.ok());
    EXPECT_EQ(again, s);
  }
  return s;
}

// The first `lines` lines of `file`, as their own file.
std::string Prefix(const std::string& dir, const std::string& file,
                   int64_t lines) {
  std::string all = ReadFile(file);
  size_t end = 0;
  for (int64_t i = 0; i < lines; ++i) end = all.find('\n', end) + 1;
  const std::string path = dir + "/prefix.jsonl";
  WriteFile(path, all.substr(0, end));
  return path;
}

// Ingest with `threads` onto a disk that fills at various points.
void FullDiskMidIngest(int threads) {
  const std::string dir = TempDir(absl::StrCat("full_disk", threads));
  const std::string file = GenerateFile(dir, 81, 30'000);
  ASSERT_TRUE(IngestInto(dir + "/clean", file, nullptr, 1000, threads).ok());
  const StoreFigures clean = Inspect(dir + "/clean", file);
  ASSERT_GT(clean.events, 20'000u);

  // Budgets from "fails at the first commit" to "fails near the end"; each
  // failing append writes what fits, so the WAL ends in a torn record.
  int failed_runs = 0;
  for (int64_t budget : {2'000, 150'000, 1'000'000, 2'500'000, 4'000'000}) {
    SCOPED_TRACE(absl::StrCat("budget ", budget));
    const std::string db = absl::StrCat(dir, "/db", budget);
    auto faults = std::make_shared<FaultInjection>();
    faults->FailWritesAfter(budget);
    absl::Status s = IngestInto(db, file, faults, 1000, threads);
    if (s.ok()) continue;  // the budget outlasted the file
    ++failed_runs;
    EXPECT_GT(faults->failures(), 0);
    EXPECT_TRUE(absl::StrContains(s.message(), "No space left")) << s;
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;

    // What the store holds is exactly the committed prefix of the file.
    const StoreFigures partial = Inspect(db, file);
    EXPECT_LT(partial.events, clean.events);
    const std::string prefix_dir =
        TempDir(absl::StrCat("full_disk_prefix", threads));
    const std::string prefix = Prefix(prefix_dir, file, partial.position);
    ASSERT_TRUE(
        IngestInto(prefix_dir + "/db", prefix, nullptr, 1000, threads).ok());
    const StoreFigures want = Inspect(prefix_dir + "/db", prefix);
    EXPECT_EQ(partial.events, want.events);
    EXPECT_EQ(partial.snapshot, want.snapshot);
    std::filesystem::remove_all(prefix_dir);

    // The disk has room again: a re-run completes the store.
    ASSERT_TRUE(IngestInto(db, file, nullptr, 1000, threads).ok());
    const StoreFigures recovered = Inspect(db, file);
    EXPECT_EQ(recovered.events, clean.events);
    EXPECT_EQ(recovered.snapshot, clean.snapshot);
    EXPECT_EQ(recovered.position, clean.position);
  }
  EXPECT_GE(failed_runs, 4);
  std::filesystem::remove_all(dir);
}

TEST(FaultInjection, FullDiskMidIngestCommitsNothingPastTheFailure) {
  FullDiskMidIngest(1);
}

// Eight file shards on two threads: the failing write is the one store
// write of every shard's commit, each prepared on its shard's thread
// (docs/engine.md, "Parallel ingest").
TEST(FaultInjection, FullDiskMidParallelIngestCommitsNothingPastTheFailure) {
  FullDiskMidIngest(2);
}

TEST(FaultInjection, IoErrorStopsTheEngineAndTheStore) {
  const std::string dir = TempDir("io_error");
  auto faults = std::make_shared<FaultInjection>();
  StoreOptions so;
  so.fault_injection = faults;
  auto store = Store::Open(dir + "/db", so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto rules = DefaultRules();
  ASSERT_TRUE(rules.ok());
  auto engine = Engine::Open(*rules, store->get());
  ASSERT_TRUE(engine.ok()) << engine.status();
  const int64_t t0 = testing::Local("2026-11-03 10:00:00");
  auto in = [&](int i) {
    return testing::In(absl::StrCat("e", i), t0 + i * 1000, "b1", "shop:a");
  };
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*engine)->Apply(in(i), "{}").ok());
  (*engine)->SetPosition("test", "10");
  ASSERT_TRUE((*engine)->Commit().ok());

  for (int i = 10; i < 20; ++i) ASSERT_TRUE((*engine)->Apply(in(i), "{}").ok());
  (*engine)->SetPosition("test", "20");
  faults->SetFailWrites(true);
  absl::Status s = (*engine)->Commit();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "injected I/O error")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "nothing of it was stored")) << s;
  // The engine and the store both stay stopped, even once the disk works.
  faults->Clear();
  EXPECT_EQ((*engine)->Apply(in(20), "{}").status(), s);
  DeadLetter d{"test:21", "invalid json", "x"};
  EXPECT_EQ((*engine)->AddDeadLetter(d), s);
  EXPECT_EQ((*engine)->Commit(), s);
  Commit direct(store->get());
  direct.Put(Family::kMeta, "x", "y");
  EXPECT_FALSE((*store)->Write(&direct).ok());
  engine->reset();
  store->reset();

  // Reopened, the store holds the first commit only.
  auto reopened = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->next_seq(), 10u);
  auto pos = (*reopened)->Get(Family::kMeta, "pos/test");
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(pos->has_value());
  EXPECT_EQ(**pos, "10");
  std::filesystem::remove_all(dir);
}

TEST(FaultInjection, FailureWhileOpeningIsAnError) {
  const std::string dir = TempDir("open_fault");
  for (int64_t budget : {0, 100, 1000, 5000}) {
    auto faults = std::make_shared<FaultInjection>();
    faults->FailWritesAfter(budget);
    StoreOptions so;
    so.fault_injection = faults;
    const std::string db = absl::StrCat(dir, "/db", budget);
    auto store = Store::Open(db, so);
    if (store.ok()) {
      auto rules = DefaultRules();
      ASSERT_TRUE(rules.ok());
      auto engine = Engine::Open(*rules, store->get());
      if (engine.ok()) continue;
    }
    // A store whose creation was cut short is finished once the disk has
    // room, not refused as "not a chatkpi store".
    store = absl::InternalError("closed");
    auto again = Store::Open(db, StoreOptions());
    ASSERT_TRUE(again.ok()) << budget << ": " << again.status();
    auto rules = DefaultRules();
    ASSERT_TRUE(rules.ok());
    EXPECT_TRUE(Engine::Open(*rules, again->get()).ok());
  }
  std::filesystem::remove_all(dir);
}

// What `count` says once `db` was opened with `ro` (whose faults count what
// the open does) and closed again.
int64_t AfterACleanOpen(const std::string& db, const StoreOptions& ro,
                        const std::function<int64_t()>& count) {
  auto clean = Store::Open(db, ro);
  EXPECT_TRUE(clean.ok()) << clean.status();
  return count();
}

// A read-only open beside a running writer can find a table file named by
// the MANIFEST it read already deleted by the writer's compaction. It looks
// again instead of calling the store corrupt, and shows the whole store:
// each table open of a clean read-only open in turn goes missing once.
TEST(FaultInjection, ReadOnlyOpenLooksAgainForAVanishedTableFile) {
  const std::string dir = TempDir("vanished_table");
  const std::string file = GenerateFile(dir, 83, 20'000);
  const std::string db = dir + "/db";
  ASSERT_TRUE(IngestInto(db, file, nullptr, 1000).ok());
  auto writer = Store::Open(db, StoreOptions());  // the record says "open"
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string whole = SnapshotJson(**writer);

  StoreOptions read_only;
  read_only.read_only = true;
  StoreOptions follower;
  follower.read_only = true;
  follower.secondary_dir = dir + "/follower";
  for (StoreOptions ro : {read_only, follower}) {
    auto faults = std::make_shared<FaultInjection>();
    ro.fault_injection = faults;
    const int64_t opens =
        AfterACleanOpen(db, ro, [&] { return faults->table_opens(); });
    ASSERT_GT(opens, 2);  // the probe's and the open's
    for (int64_t k = 0; k < opens; ++k) {
      const int64_t before = faults->table_opens();
      faults->LoseTableOpen(k);
      auto reader = Store::Open(db, ro);
      ASSERT_TRUE(reader.ok())
          << ro.secondary_dir << k << ": " << reader.status();
      EXPECT_GT(faults->table_opens() - before, opens) << k;  // looked again
      EXPECT_EQ(SnapshotJson(**reader), whole) << k;
    }
  }
  writer = absl::InternalError("closed");

  // A follower's catch-up that finds a new table file missing opens anew.
  for (int64_t k : {0, 1, 2, 3}) {
    auto faults = std::make_shared<FaultInjection>();
    follower.fault_injection = faults;
    auto reader = Store::Open(db, follower);
    ASSERT_TRUE(reader.ok()) << reader.status();
    std::filesystem::create_directories(dir + "/more");
    const std::string more = GenerateFile(dir + "/more", 90 + k, 5'000);
    ASSERT_TRUE(IngestInto(db, more, nullptr, 1000).ok());
    const int64_t before = faults->table_opens();
    faults->LoseTableOpen(k);
    auto caught_up = (*reader)->CatchUp();
    ASSERT_TRUE(caught_up.ok()) << caught_up.status();
    EXPECT_GT(faults->table_opens() - before, k + 1) << k;
    auto fresh = Store::Open(db, read_only);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    EXPECT_EQ(SnapshotJson(**reader), SnapshotJson(**fresh)) << k;
  }
  std::filesystem::remove_all(dir);
}

// A writer, in this process, whose last commits only its WAL holds; and
// what it does at a flush: tables written, MANIFEST updated, the WALs it
// emptied deleted.
class WriterBesideReaders : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("writer_beside");
    db_ = dir_ + "/db";
    ASSERT_TRUE(
        IngestInto(db_, GenerateFile(dir_, 84, 20'000), nullptr, 1000).ok());
    writer_ = Store::Open(db_, StoreOptions());
    ASSERT_TRUE(writer_.ok()) << writer_.status();
    auto rules = DefaultRules();
    ASSERT_TRUE(rules.ok());
    engine_ = Engine::Open(*rules, writer_->get());
    ASSERT_TRUE(engine_.ok()) << engine_.status();
  }
  void TearDown() override {
    engine_ = absl::InternalError("closed");
    writer_ = absl::InternalError("closed");
    std::filesystem::remove_all(dir_);
  }

  // Commits that only the writer's WAL holds; then the writer's snapshot.
  std::string CommitMore() {
    const std::string more = absl::StrCat(dir_, "/more", ++files_);
    std::filesystem::create_directories(more);
    FileIngestOptions opts;
    opts.commit_every = 1000;
    FileIngestReport report;
    EXPECT_TRUE(IngestFiles(**engine_,
                            {GenerateFile(more, 100 + files_, 3'000)}, opts,
                            &report)
                    .ok());
    return SnapshotJson(**writer_);
  }

  // Flushes and waits until a WAL it emptied is deleted (the writer's first
  // WAL may stay: RocksDB keeps it for a family not written since).
  void Flush() {
    const std::vector<uint64_t> wals = ListWals(db_);
    (*writer_)->FlushInBackground();
    for (int i = 0; i < 30'000 && !WalDeletedSince(db_, wals); ++i) {
      usleep(1000);
    }
  }

  // Opens with `o` (read-only or a follower), each with the writer's flush
  // run at another of its directory listings, after new commits that only
  // the writer's WAL holds: each open shows every commit. The last listings
  // come first, while the writer's flushes have not yet made it compact (a
  // compaction deletes tables, which makes an open look again anyway).
  void ExpectEveryOpenWhole(StoreOptions o) {
    auto faults = std::make_shared<FaultInjection>();
    o.fault_injection = faults;
    const int64_t listings =
        AfterACleanOpen(db_, o, [&] { return faults->listings(); });
    ASSERT_GT(listings, 1);  // the probe's and the open's
    for (int64_t k = listings - 1; k >= 0; --k) {
      const std::string whole = CommitMore();
      const std::vector<uint64_t> wals = ListWals(db_);
      faults->RunAtListing(k, [&] { Flush(); });
      auto reader = Store::Open(db_, o);
      ASSERT_TRUE(reader.ok()) << k << ": " << reader.status();
      EXPECT_NE(ListWals(db_), wals) << k;  // the flush deleted WALs
      EXPECT_EQ(SnapshotJson(**reader), whole) << k;
    }
  }

  std::string dir_;
  std::string db_;
  absl::StatusOr<std::unique_ptr<Store>> writer_;
  absl::StatusOr<std::unique_ptr<Engine>> engine_;
  int files_ = 0;
};

// The writer finishes a flush between a read-only open's reading of the
// MANIFEST and its listing of the WALs: the WALs are gone, and the commits
// they held are in tables that MANIFEST does not name. RocksDB opens that
// view without an error; the store looks again and shows every commit.
TEST_F(WriterBesideReaders, ReadOnlyOpenLooksAgainWhenTheWriterDeletesAWal) {
  StoreOptions ro;
  ro.read_only = true;
  ExpectEveryOpenWhole(ro);
}

// The same for a follower: RocksDB's secondary reads the MANIFEST, then
// lists and replays the WALs, as a read-only open does.
TEST_F(WriterBesideReaders, FollowerOpenLooksAgainWhenTheWriterDeletesAWal) {
  StoreOptions follower;
  follower.read_only = true;
  follower.secondary_dir = dir_ + "/follower";
  ExpectEveryOpenWhole(follower);
}

// The same flush at each directory listing of a backup (a follower's
// catch-up, then a checkpoint, which copies the WALs it lists): the copy
// holds every commit.
TEST_F(WriterBesideReaders, BackupLooksAgainWhenTheWriterDeletesAWal) {
  auto faults = std::make_shared<FaultInjection>();
  auto backup = BackupStore(db_, dir_ + "/clean_copy", faults);
  ASSERT_TRUE(backup.ok()) << backup.status();
  const int64_t listings = faults->listings();
  ASSERT_GT(listings, 2);
  StoreOptions ro;
  ro.read_only = true;
  // The last listings first: those of the checkpoint, while the writer's
  // flushes have not yet made it compact (a compaction deletes tables, which
  // fails the copy, so it would look again anyway).
  for (int64_t k = listings - 1; k >= 0; --k) {
    const std::string whole = CommitMore();
    const std::string to = absl::StrCat(dir_, "/copy", k);
    faults->RunAtListing(k, [&] { Flush(); });
    backup = BackupStore(db_, to, faults);
    ASSERT_TRUE(backup.ok()) << k << ": " << backup.status();
    auto copy = Store::Open(to, ro);
    ASSERT_TRUE(copy.ok()) << k << ": " << copy.status();
    EXPECT_EQ(SnapshotJson(**copy), whole) << k;
  }
}

// A replay switches DIR to a new generation while a backup copies the old
// one, and deletes the old one (no writer holds it): its files went from
// under the copy, which failed as "corrupt ... restore the store from a
// backup" (exit 1), or with exit 2. The backup copies the new generation.
TEST(FaultInjection, BackupCopiesTheNewGenerationWhenAReplaySwitchesDir) {
  const std::string dir = TempDir("backup_switch");
  const std::string db = dir + "/db";
  ASSERT_TRUE(IngestInto(db, GenerateFile(dir, 85, 3'000), nullptr, 1000).ok());
  const GenerationPaths paths = GenerationPaths::For(db);
  std::string old_name, new_name;
  {
    auto lock = LockGenerations(paths);
    ASSERT_TRUE(lock.ok()) << lock.status();
    auto name = ConvertLayout(paths, "v1");
    ASSERT_TRUE(name.ok()) << name.status();
    old_name = *name;
    auto next = NewGenerationName(paths, "v2");
    ASSERT_TRUE(next.ok()) << next.status();
    new_name = *next;
  }
  // The new generation: the old one's events and more.
  const std::string new_dir = paths.Generation(new_name);
  {
    StoreOptions ro;
    ro.read_only = true;
    auto old_store = Store::Open(db, ro);
    ASSERT_TRUE(old_store.ok()) << old_store.status();
    ASSERT_TRUE((*old_store)->Checkpoint(new_dir).ok());
    ASSERT_TRUE(WriteStoreMarker(new_dir).ok());
  }
  const std::string more = dir + "/more";
  std::filesystem::create_directories(more);
  ASSERT_TRUE(
      IngestInto(new_dir, GenerateFile(more, 86, 2'000), nullptr, 1000).ok());
  std::string expected;
  {
    StoreOptions ro;
    ro.read_only = true;
    auto new_store = Store::Open(new_dir, ro);
    ASSERT_TRUE(new_store.ok()) << new_store.status();
    expected = SnapshotJson(**new_store);
  }
  // At the backup's first directory listing (its follower's open of the old
  // generation): the switch, the old generation retired and deleted.
  auto faults = std::make_shared<FaultInjection>();
  faults->RunAtListing(0, [&] {
    auto lock = LockGenerations(paths);
    ASSERT_TRUE(lock.ok());
    ASSERT_TRUE(CreateMarker(paths.RetiredMarker(old_name)).ok());
    ASSERT_TRUE(SwitchLive(paths, new_name).ok());
    auto removed = CollectGenerations(paths);
    ASSERT_TRUE(removed.ok()) << removed.status();
    EXPECT_EQ(*removed, std::vector<std::string>{old_name});
  });
  auto backup = BackupStore(db, dir + "/copy", faults);
  ASSERT_TRUE(backup.ok()) << backup.status();
  StoreOptions ro;
  ro.read_only = true;
  auto copy = Store::Open(dir + "/copy", ro);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(SnapshotJson(**copy), expected);
  std::filesystem::remove_all(dir);
}

// `chatkpi ingest` in a process whose file size limit stands for a full
// disk: writes past it fail with EFBIG (SIGXFSZ is ignored, as a shell
// `trap '' XFSZ` leaves it for the exec'd program).
TEST(FaultInjection, IngestProcessExitsNonZeroOnWriteFailureThenResumes) {
  const std::string dir = TempDir("fsize");
  const std::string file = GenerateFile(dir, 82, 40'000);
  auto clean = Ingest(dir + "/clean", {file}, {"--commit-every", "2000"});
  ASSERT_EQ(clean.exit_code, 0) << clean.err;

  const std::string db = dir + "/db";
  auto r = RunProcess(
      {"/bin/sh", "-c",
       absl::StrCat("trap '' XFSZ; exec prlimit --fsize=2000000 ",
                    ChatkpiBinary(), " ingest --commit-every 2000 --db ", db,
                    " ", file)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "chatkpi ingest: commit to --db"))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "nothing of it was stored")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "File too large")) << r.err;

  auto again = Ingest(db, {file}, {"--commit-every", "2000"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(absl::StrContains(again.err, "lines already taken in"))
      << again.err;
  EXPECT_EQ(Snapshot(db), Snapshot(dir + "/clean"));
  auto events = [&](const std::string& d) {
    std::string out = RunProcess({ChatkpiBinary(), "stats", "--db", d}).out;
    return out.substr(0, out.find(", \"sources\""));
  };
  EXPECT_EQ(events(db), events(dir + "/clean"));
  std::filesystem::remove_all(dir);
}

// A real full disk: a 3 MiB tmpfs. Needs root (CI runs as root); skipped
// where mounting is not allowed.
TEST(FaultInjection, IngestProcessOnAFullTmpfs) {
  const std::string dir = TempDir("tmpfs");
  const std::string mnt = dir + "/mnt";
  std::filesystem::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=3m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  const std::string file = GenerateFile(dir, 83, 40'000);
  auto clean = Ingest(dir + "/clean", {file}, {"--commit-every", "2000"});
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  const std::string db = mnt + "/db";
  auto r = Ingest(db, {file}, {"--commit-every", "2000"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "No space left on device")) << r.err;

  // Room again: move the store to a larger disk and run the same command.
  std::filesystem::copy(db, dir + "/moved",
                        std::filesystem::copy_options::recursive);
  umount(mnt.c_str());
  auto again = Ingest(dir + "/moved", {file}, {"--commit-every", "2000"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Snapshot(dir + "/moved"), Snapshot(dir + "/clean"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

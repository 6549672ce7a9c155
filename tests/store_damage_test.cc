// Damaged and foreign `--db` directories (docs/hardening.md, "Damaged and
// foreign stores"): a MANIFEST cut short, a missing CURRENT, table files the
// MANIFEST does not list, commits lost from the WAL and another
// application's RocksDB are refused by every command that opens a store,
// and no file of the directory is created, changed or deleted; a store
// after SIGKILL opens as usual; `backup` copies a store in use and
// `restore` makes a store of the copy.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "store/store_files.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;
using testing::ChatkpiBinary;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;

// The commit record names source positions by the engine's meta keys.
static_assert(std::string_view(kMetaPositionPrefix) == kPositionKeyPrefix);

// Every file of `dir` (recursively) with its bytes.
std::map<std::string, std::string> Contents(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      out[fs::relative(e.path(), dir).string()] = ReadFile(e.path().string());
    }
  }
  return out;
}

std::vector<std::string> Named(const std::string& dir,
                               const std::string& prefix,
                               const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(suffix)) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Snapshot(const std::string& db) {
  return {ChatkpiBinary(), "snapshot",   "--db", db,
          "--from",        "2026-11-01", "--to", "2026-11-30"};
}

class StoreDamage : public ::testing::Test {
 protected:
  // A store written by two runs (the second run's MANIFEST lists its
  // flushes), its snapshot, and the files it came from.
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TempDir("damage"));
    first_ = new std::string(*dir_ + "/first.jsonl");
    second_ = new std::string(*dir_ + "/second.jsonl");
    ProcessResult r =
        RunProcess({ChatkpiBinary(), "gen", "--seed", "4", "--agents", "4",
                    "--events", "8000", "--out", *dir_ + "/all.jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(*dir_ + "/all.jsonl");
    std::ofstream a(*first_), b(*second_);
    std::string line;
    for (int i = 0; std::getline(in, line); ++i) {
      (i < 2000 ? a : b) << line << "\n";
    }
    a.close();
    b.close();
    for (const std::string* f : {first_, second_}) {
      r = RunProcess({ChatkpiBinary(), "ingest", "--db", *dir_ + "/good", *f});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    r = RunProcess(Snapshot(*dir_ + "/good"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    reference_ = new std::string(r.out);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete first_;
    delete second_;
    delete reference_;
  }

  static std::string Copy(const std::string& name) {
    const std::string db = *dir_ + "/" + name;
    fs::remove_all(db);
    fs::copy(*dir_ + "/good", db, fs::copy_options::recursive);
    return db;
  }

  // Every command that opens a store: each exits 1 with a message about
  // `db` containing `says` and none advising `ingest` on it, and the
  // directory is left byte for byte as it was.
  static void ExpectRefusedUntouched(const std::string& db,
                                     const std::string& says) {
    const auto before = Contents(db);
    // Beside it too: nothing is created (no DIR.lock, no DIR.generations).
    auto siblings = [&]() {
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(fs::path(db).parent_path())) {
        const std::string name = e.path().filename().string();
        if (name.starts_with(fs::path(db).filename().string())) {
          names.push_back(name);
        }
      }
      std::sort(names.begin(), names.end());
      return names;
    };
    const std::vector<std::string> beside = siblings();
    const std::vector<std::vector<std::string>> commands = {
        Snapshot(db),
        {ChatkpiBinary(), "stats", "--db", db},
        {ChatkpiBinary(), "score", "--db", db, "--month", "2026-11", "--scheme",
         "kpi100"},
        // Would fail at the bind if it got past the store.
        {ChatkpiBinary(), "serve", "--db", db, "--no-auth", "--bind",
         "256.0.0.1"},
        {ChatkpiBinary(), "serve", "--db", db, "--no-auth", "--follow",
         "--bind", "256.0.0.1"},
        {ChatkpiBinary(), "ingest", "--db", db, *second_},
        {ChatkpiBinary(), "backup", "--db", db, "--to", db + ".backup"},
    };
    for (const auto& argv : commands) {
      ProcessResult r = RunProcess(argv);
      SCOPED_TRACE(absl::StrCat(argv[1], ": ", r.err));
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_TRUE(absl::StrContains(r.err, "--db " + db)) << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, says)) << r.err;
      EXPECT_FALSE(absl::StrContains(r.err, "chatkpi ingest`")) << r.err;
      EXPECT_FALSE(fs::exists(db + ".backup"));
      EXPECT_TRUE(before == Contents(db)) << "files changed";
      EXPECT_EQ(siblings(), beside);
    }
  }

  static std::string* dir_;
  static std::string* first_;
  static std::string* second_;
  static std::string* reference_;
};
std::string* StoreDamage::dir_ = nullptr;
std::string* StoreDamage::first_ = nullptr;
std::string* StoreDamage::second_ = nullptr;
std::string* StoreDamage::reference_ = nullptr;

// What a copy of a live store can leave: the MANIFEST cut at any point.
// RocksDB reads a cut MANIFEST as one that ends there, and the store it
// opens is an older one (the later flushes unlisted) or one that lacks
// families; both used to give numbers or be "finished" by `ingest`.
TEST_F(StoreDamage, ManifestCutAnywhereIsRefused) {
  const std::vector<std::string> manifests =
      Named(*dir_ + "/good", "MANIFEST-", "");
  ASSERT_EQ(manifests.size(), 1u);
  const size_t size = fs::file_size(manifests[0]);
  ASSERT_GT(size, 1000u);
  for (size_t cut : {size_t{60}, size / 5, size * 2 / 5, size * 3 / 5,
                     size * 4 / 5, size - 40, size - 1}) {
    SCOPED_TRACE(absl::StrCat("cut at ", cut, " of ", size));
    const std::string db = Copy("manifest_cut");
    fs::resize_file(db + "/" + fs::path(manifests[0]).filename().string(), cut);
    ExpectRefusedUntouched(db, "is corrupt");
  }
}

TEST_F(StoreDamage, MissingCurrentIsRefused) {
  const std::string db = Copy("no_current");
  fs::remove(db + "/CURRENT");
  ExpectRefusedUntouched(db, "its CURRENT file is missing");
}

TEST_F(StoreDamage, MissingTableIsRefused) {
  const std::string db = Copy("missing_table");
  const auto tables = Named(db, "", ".sst");
  ASSERT_FALSE(tables.empty());
  fs::remove(tables.back());
  ExpectRefusedUntouched(db, "is corrupt");
}

// A table file the MANIFEST does not list, in a store its writer closed:
// RocksDB would delete it at the next open for writing.
TEST_F(StoreDamage, UnreferencedTableIsRefused) {
  const std::string db = Copy("stray_table");
  const auto tables = Named(db, "", ".sst");
  ASSERT_FALSE(tables.empty());
  fs::copy_file(tables.front(), db + "/999999.sst");
  ExpectRefusedUntouched(db, "999999.sst");
}

// A commit whose WAL records are cut off (what a damaged disk or a copy
// of the WAL mid-write leaves) is reported with the events it held,
// instead of the store opening one commit back.
TEST_F(StoreDamage, CommitsLostFromTheWalAreReported) {
  const std::string db = *dir_ + "/wal_cut";
  fs::remove_all(db);
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "gen", "--seed", "6", "--agents", "4",
                  "--events", "1500000", "--out", *dir_ + "/big.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Killed once it has made four commits (the first records the rules, each
  // later one 100,000 events), which are then in its WAL only. (One thread:
  // a store of several file shards records their number in one more.)
  const pid_t pid = testing::StartProcess(
      {ChatkpiBinary(), "ingest", "--db", db, "--threads", "1",
       "--commit-every", "100000", *dir_ + "/big.jsonl"});
  while (!absl::StrContains(ReadFile(db + "/CHATKPI-COMMITS"), "commits 4")) {
    ASSERT_NE(waitpid(pid, nullptr, WNOHANG), pid) << "ingest ended early";
    usleep(10000);
  }
  kill(pid, SIGKILL);
  testing::WaitProcess(pid);
  // The record says 4 commits up to event 300,000 (the record is written
  // after each commit, so the kill cannot have left it ahead of the WAL).
  ASSERT_TRUE(
      absl::StrContains(ReadFile(db + "/CHATKPI-COMMITS"), "next_seq 300000"));
  r = RunProcess({ChatkpiBinary(), "stats", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << "a killed store opens as usual: " << r.err;
  ASSERT_TRUE(absl::StrContains(r.out, "\"events\": 300000")) << r.out;
  // The newest WAL cut in the fourth commit's records: RocksDB recovers
  // the first three and drops the rest as a torn tail.
  const auto wals = Named(db, "", ".log");
  ASSERT_FALSE(wals.empty());
  std::string newest;
  for (const std::string& w : wals) {
    if (fs::file_size(w) > 0) newest = w;
  }
  ASSERT_FALSE(newest.empty());
  fs::resize_file(newest, fs::file_size(newest) * 9 / 10);
  ExpectRefusedUntouched(db,
                         "commit 4 is lost (events 200000 to 299999 of the "
                         "log");
  // And which source positions went with it.
  r = RunProcess(Snapshot(db));
  EXPECT_TRUE(absl::StrContains(
      r.err, absl::StrCat("the store resumes ", *dir_,
                          "/big.jsonl at 200000 instead of 300000")))
      << r.err;
}

// A store whose writer was killed (the normal crash) opens without
// complaint, whatever the writer was doing (flushes and compactions run
// in the background of a long ingest, leaving table files and MANIFEST
// records half made), and resuming gives the reference numbers.
TEST_F(StoreDamage, KilledWriterStoreOpensAndResumes) {
  const std::string big = *dir_ + "/killed.jsonl";
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "gen", "--seed", "7", "--agents", "4",
                  "--events", "700000", "--out", big});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string clean = *dir_ + "/killed_reference";
  const std::string db = *dir_ + "/killed";
  for (const std::string& d : {clean, db}) fs::remove_all(d);
  r = RunProcess({ChatkpiBinary(), "ingest", "--db", clean, big});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const ProcessResult reference = RunProcess(Snapshot(clean));
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  // Killed as soon as the record shows commit k: its background work on
  // the commits before is then under way.
  int killed = 0;
  for (int k : {2, 4, 6}) {
    const pid_t pid =
        testing::StartProcess({ChatkpiBinary(), "ingest", "--db", db, big});
    const std::string want = absl::StrCat("commits ", k, "\n");
    while (!absl::StrContains(ReadFile(db + "/CHATKPI-COMMITS"), want) &&
           waitpid(pid, nullptr, WNOHANG) == 0) {
      usleep(2000);
    }
    if (kill(pid, SIGKILL) == 0) ++killed;
    testing::WaitProcess(pid);
    r = RunProcess({ChatkpiBinary(), "stats", "--db", db});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_GT(killed, 0);
  r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, big});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess(Snapshot(db));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, reference.out);
}

// Readers opened while `ingest` flushes and deletes WALs see a whole
// store every time: none calls it damaged (a read-only open can miss a WAL
// deleted under it, and looks again).
TEST_F(StoreDamage, ReadersBesideARunningIngestNeverRefuse) {
  const std::string big = *dir_ + "/readers.jsonl";
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "gen", "--seed", "8", "--agents", "4",
                  "--events", "1000000", "--out", big});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string db = *dir_ + "/readers";
  fs::remove_all(db);
  r = RunProcess({ChatkpiBinary(), "ingest", "--db", db, *first_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid =
      testing::StartProcess({ChatkpiBinary(), "ingest", "--db", db, big});
  int reads = 0;
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    r = RunProcess({ChatkpiBinary(), "stats", "--db", db});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ++reads;
  }
  EXPECT_GT(reads, 0);
}

// Readers opened while the first `ingest` creates the store: until it has
// made the store, "no chatkpi store there"; never "corrupt" (a creation
// under way is no damage), and once it has, the store.
TEST_F(StoreDamage, ReadersBesideACreatingIngestNeverCallItCorrupt) {
  const std::string db = *dir_ + "/creating";
  int refused = 0;
  int opened = 0;
  for (int round = 0; round < 4; ++round) {
    fs::remove_all(db);
    const pid_t pid =
        testing::StartProcess({ChatkpiBinary(), "ingest", "--db", db, *first_});
    while (waitpid(pid, nullptr, WNOHANG) == 0) {
      StoreOptions ro;
      ro.read_only = true;
      auto store = Store::Open(db, ro);
      if (store.ok()) {
        ++opened;
      } else {
        ++refused;
        EXPECT_TRUE(absl::IsNotFound(store.status())) << store.status();
      }
    }
  }
  EXPECT_GT(refused, 0);
}

// Another application's RocksDB, with a family called `events` like one
// of chatkpi's: refused by every command, and no byte of it changes.
TEST_F(StoreDamage, ForeignRocksDbIsNeverTouched) {
  for (const std::vector<std::string>& families :
       {std::vector<std::string>{"events"},
        std::vector<std::string>{"events", "ids", "buyers", "orders",
                                 "aggregates", "assessments", "dead", "meta",
                                 "rollups"},
        std::vector<std::string>{}}) {
    const std::string db = *dir_ + "/foreign";
    fs::remove_all(db);
    {
      rocksdb::Options o;
      o.create_if_missing = true;
      rocksdb::DB* raw = nullptr;
      ASSERT_TRUE(rocksdb::DB::Open(o, db, &raw).ok());
      std::unique_ptr<rocksdb::DB> owner(raw);
      for (const std::string& name : families) {
        rocksdb::ColumnFamilyHandle* h = nullptr;
        ASSERT_TRUE(owner->CreateColumnFamily(o, name, &h).ok());
        ASSERT_TRUE(owner->Put(rocksdb::WriteOptions(), h, "k", "v").ok());
        owner->DestroyColumnFamilyHandle(h);
      }
      ASSERT_TRUE(owner->Close().ok());
    }
    SCOPED_TRACE(absl::StrCat(families.size(), " families"));
    ExpectRefusedUntouched(db, "is not a chatkpi store");
  }
}

// A backup taken while `ingest` writes the store, restored and resumed,
// gives the reference numbers; restore never overwrites a store.
TEST_F(StoreDamage, BackupDuringIngestRestoresToTheReference) {
  const std::string db = *dir_ + "/live";
  const std::string backup = *dir_ + "/live.backup";
  const std::string restored = *dir_ + "/restored";
  for (const std::string& d : {db, backup, restored}) fs::remove_all(d);
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "ingest", "--db", db, *first_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid =
      testing::StartProcess({ChatkpiBinary(), "ingest", "--db", db, *second_});
  r = RunProcess({ChatkpiBinary(), "backup", "--db", db, "--to", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(testing::WaitProcess(pid), 0);
  r = RunProcess(
      {ChatkpiBinary(), "restore", "--from", backup, "--db", restored});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Whatever commits the backup caught, resuming completes them.
  r = RunProcess({ChatkpiBinary(), "ingest", "--db", restored, *second_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess(Snapshot(restored));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, *reference_);

  // Into an existing store: refused, the store unchanged.
  const auto before = Contents(restored);
  r = RunProcess(
      {ChatkpiBinary(), "restore", "--from", backup, "--db", restored});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "never overwrites")) << r.err;
  EXPECT_TRUE(before == Contents(restored));
}

// A backup whose table file was damaged after it was taken (a byte flipped
// in the middle of a data block) was restored with exit 0; the damage
// showed only when a command read that block (a replay, perhaps after the
// source store was gone). Restore reads every block first and refuses.
TEST_F(StoreDamage, DamagedBackupIsNotRestored) {
  const std::string db = *dir_ + "/source";
  const std::string backup = *dir_ + "/source.backup";
  const std::string restored = *dir_ + "/restored-damaged";
  for (const std::string& d : {db, backup, restored}) fs::remove_all(d);
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "ingest", "--db", db, *first_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({ChatkpiBinary(), "backup", "--db", db, "--to", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The largest table file: the event log's blocks.
  std::string largest;
  uintmax_t size = 0;
  for (const auto& e : fs::directory_iterator(backup)) {
    if (e.path().extension() == ".sst" && e.file_size() > size) {
      size = e.file_size();
      largest = e.path().string();
    }
  }
  ASSERT_GT(size, 8192u);
  {
    // The backup's files may be hard links of the source's: damage a copy.
    const std::string copy = largest + ".copy";
    fs::copy_file(largest, copy);
    fs::rename(copy, largest);
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&c, 1);
  }
  r = RunProcess(
      {ChatkpiBinary(), "restore", "--from", backup, "--db", restored});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "corrupt")) << r.err;
  EXPECT_FALSE(fs::exists(restored));
}

// Generations left beside a deleted DIR belong to the store that was there:
// a backup restored to DIR was read with them (`--rules-version`, `diff`
// mixed two shops' numbers, exit 0). Restore refuses.
TEST_F(StoreDamage, RestoreBesideAnotherStoresGenerationsIsRefused) {
  const std::string db = *dir_ + "/gone";
  const std::string backup = *dir_ + "/other.backup";
  const std::string other = *dir_ + "/other";
  for (const std::string& d : {db, db + ".generations", backup, other}) {
    fs::remove_all(d);
  }
  ProcessResult r =
      RunProcess({ChatkpiBinary(), "ingest", "--db", other, *first_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({ChatkpiBinary(), "backup", "--db", other, "--to", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::create_directories(db + ".generations/default-1");
  r = RunProcess({ChatkpiBinary(), "restore", "--from", backup, "--db", db});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "chatkpi never mixes two stores"))
      << r.err;
  EXPECT_FALSE(fs::exists(db));
  // Once the generations are gone, the same restore makes the store.
  fs::remove_all(db + ".generations");
  r = RunProcess({ChatkpiBinary(), "restore", "--from", backup, "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace chatkpi

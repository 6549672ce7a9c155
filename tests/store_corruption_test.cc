// Damaged `--db` directories: a store whose CURRENT, MANIFEST or
// table files are garbage, truncated or missing is refused with a message
// that says it is corrupt and a non-zero exit, by every command, and no
// damage anywhere makes chatkpi crash.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;
using testing::ChatkpiBinary;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

// A store with table files: the second `ingest` opens it, and RocksDB
// writes what the first left in its log out to SSTs.
class StoreCorruption : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir("corrupt"));
    file_ = new std::string(*dir_ + "/ev.jsonl");
    auto r = RunProcess({ChatkpiBinary(), "gen", "--seed", "9", "--agents", "4",
                         "--events", "6000", "--malformed", "0.01", "--out",
                         *file_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (int i = 0; i < 2; ++i) {
      r = RunProcess(
          {ChatkpiBinary(), "ingest", "--db", *dir_ + "/good", *file_});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete file_;
  }

  // A fresh copy of the good store.
  std::string Copy(const std::string& name) {
    const std::string db = *dir_ + "/" + name;
    fs::remove_all(db);
    fs::copy(*dir_ + "/good", db, fs::copy_options::recursive);
    return db;
  }
  static std::vector<std::string> Files(const std::string& db,
                                        const std::string& suffix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(db)) {
      const std::string name = e.path().filename().string();
      if (name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
              0) {
        out.push_back(e.path().string());
      }
      if (suffix == "MANIFEST" && name.rfind("MANIFEST-", 0) == 0) {
        out.push_back(e.path().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static void Overwrite(const std::string& path, size_t offset,
                        const std::string& bytes) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // Every command that opens the store refuses it as corrupt.
  void ExpectRefusedAsCorrupt(const std::string& db) {
    for (const std::vector<std::string>& argv :
         {std::vector<std::string>{ChatkpiBinary(), "snapshot", "--db", db,
                                   "--from", "2026-11-01", "--to",
                                   "2026-11-30"},
          std::vector<std::string>{ChatkpiBinary(), "stats", "--db", db},
          std::vector<std::string>{ChatkpiBinary(), "ingest", "--db", db,
                                   *file_}}) {
      ProcessResult r = RunProcess(argv);
      EXPECT_EQ(r.exit_code, 1) << argv[1] << ": " << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, "is corrupt"))
          << argv[1] << ": " << r.err;
      EXPECT_TRUE(absl::StrContains(r.err, "--db " + db)) << r.err;
    }
  }

  static std::string* dir_;
  static std::string* file_;
};
std::string* StoreCorruption::dir_ = nullptr;
std::string* StoreCorruption::file_ = nullptr;

TEST_F(StoreCorruption, GarbageInCurrent) {
  const std::string db = Copy("current");
  testing::WriteFile(db + "/CURRENT", "\x01\x02garbage\n");
  ExpectRefusedAsCorrupt(db);
}

TEST_F(StoreCorruption, CurrentNamesAMissingManifest) {
  const std::string db = Copy("current_missing");
  testing::WriteFile(db + "/CURRENT", "MANIFEST-999999\n");
  ExpectRefusedAsCorrupt(db);
}

TEST_F(StoreCorruption, GarbageInManifest) {
  const std::string db = Copy("manifest");
  auto manifests = Files(db, "MANIFEST");
  ASSERT_FALSE(manifests.empty());
  for (const std::string& m : manifests)
    Overwrite(m, 100, std::string(64, '\xa5'));
  ExpectRefusedAsCorrupt(db);
}

TEST_F(StoreCorruption, TruncatedManifest) {
  const std::string db = Copy("manifest_short");
  for (const std::string& m : Files(db, "MANIFEST")) fs::resize_file(m, 40);
  ExpectRefusedAsCorrupt(db);
}

TEST_F(StoreCorruption, TruncatedTable) {
  const std::string db = Copy("sst_short");
  auto tables = Files(db, ".sst");
  ASSERT_FALSE(tables.empty()) << "the fixture should have made table files";
  fs::resize_file(tables[0], fs::file_size(tables[0]) / 2);
  ExpectRefusedAsCorrupt(db);
}

TEST_F(StoreCorruption, MissingTable) {
  const std::string db = Copy("sst_missing");
  auto tables = Files(db, ".sst");
  ASSERT_FALSE(tables.empty());
  fs::remove(tables.back());
  ExpectRefusedAsCorrupt(db);
}

// Damage in a table's blocks is found by their checksums when a read
// touches them: the command fails with "corrupt" instead of using the data.
TEST_F(StoreCorruption, GarbageInEveryTableIsCaughtWhenRead) {
  const std::string db = Copy("sst_blocks");
  for (const std::string& t : Files(db, ".sst")) {
    const size_t size = fs::file_size(t);
    // Past the first bytes, before the footer and index at the end.
    for (size_t off = 64; off + 256 < size * 3 / 4; off += 2048) {
      Overwrite(t, off, std::string(32, '\x5a'));
    }
  }
  ProcessResult r = RunProcess({ChatkpiBinary(), "snapshot", "--db", db,
                                "--from", "2026-11-01", "--to", "2026-11-30"});
  EXPECT_EQ(r.exit_code, 1) << r.out.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(r.err, "corrupt")) << r.err;
}

// Random damage to any file: truncation, zeroes, garbage. Whatever a
// command then says, it exits with a code (0 when the damage was in a part
// RocksDB can do without, such as the log tail or LOG), never with a crash.
TEST_F(StoreCorruption, RandomDamageNeverCrashes) {
  std::mt19937 rng(12);
  const std::string names_db = Copy("names");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(names_db)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  int refused = 0, runs = 0;
  for (const std::string& name : names) {
    if (name == "LOCK") continue;
    for (int mode = 0; mode < 3; ++mode) {
      const std::string db = Copy("random");
      const std::string path = db + "/" + name;
      const size_t size = fs::file_size(path);
      if (size == 0) continue;
      const size_t off =
          std::uniform_int_distribution<size_t>(0, size - 1)(rng);
      if (mode == 0) {
        fs::resize_file(path, off);
      } else {
        std::string bytes(std::min<size_t>(512, size - off), '\0');
        if (mode == 2) {
          for (char& c : bytes) c = static_cast<char>(rng());
        }
        Overwrite(path, off, bytes);
      }
      for (const std::vector<std::string>& argv :
           {std::vector<std::string>{ChatkpiBinary(), "snapshot", "--db", db,
                                     "--from", "2026-11-01", "--to",
                                     "2026-11-30"},
            std::vector<std::string>{ChatkpiBinary(), "ingest", "--db", db,
                                     *file_}}) {
        ProcessResult r = RunProcess(argv);
        ++runs;
        SCOPED_TRACE(absl::StrCat(name, " mode ", mode, " at ", off, ": ",
                                  argv[1], ": ", r.err));
        EXPECT_GE(r.exit_code, 0);  // not killed by a signal
        EXPECT_LE(r.exit_code, 1);
        if (r.exit_code != 0) {
          ++refused;
          EXPECT_TRUE(
              absl::StrContains(r.err, "chatkpi " + argv[1] + ": --db") ||
              absl::StrContains(r.err, "--db " + db))
              << r.err;
        }
      }
    }
  }
  EXPECT_GT(runs, 20);
  EXPECT_GT(refused, 5);
}

}  // namespace
}  // namespace chatkpi

// IngestFiles in-process: positions written by earlier builds still resume,
// and a stream's dead letters keep their names when a generation switch
// makes the lines since the last commit be applied again.
#include "engine/file_ingest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

struct OpenEngine {
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
};

OpenEngine OpenAt(const std::string& db) {
  OpenEngine o;
  auto store = Store::Open(db, StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  o.store = std::move(*store);
  auto engine = Engine::Open(testing::TestRules(), o.store.get());
  EXPECT_TRUE(engine.ok()) << engine.status();
  o.engine = std::move(*engine);
  return o;
}

TEST(FileIngest, PositionWithoutByteCountStillResumes) {
  const std::string dir = testing::TempDir("legacy-pos");
  const std::string file = dir + "/f.jsonl";
  // Three bad lines, 30 bytes: the fingerprint covers the whole file.
  const std::string content = "bad line 1\nbad line 2\nbad line 3\n";
  testing::WriteFile(file, content);
  OpenEngine o = OpenAt(dir + "/db");
  // As builds before the byte count wrote it: LINES \t FNV-1a of the first
  // 4 KiB (here all 33 bytes) -- 2 lines consumed.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : content) h = (h ^ c) * 1099511628211ull;
  o.engine->SetPosition(std::filesystem::weakly_canonical(file).string(),
                        absl::StrCat(2, "\t", h));
  ASSERT_TRUE(o.engine->Commit().ok());

  FileIngestReport report;
  ASSERT_TRUE(IngestFiles(*o.engine, {file}, {}, &report).ok());
  EXPECT_EQ(report.skipped_lines, 2);
  EXPECT_EQ(report.dead_letters, 1);  // line 3 only
  std::filesystem::remove_all(dir);
}

TEST(FileIngest, PositionWithoutLinesHashStillResumes) {
  const std::string dir = testing::TempDir("pos-no-lines-hash");
  const std::string file = dir + "/f.jsonl";
  const std::string content = "bad line 1\nbad line 2\nbad line 3\n";
  testing::WriteFile(file, content);
  OpenEngine o = OpenAt(dir + "/db");
  // As builds before the lines' hash wrote it: LINES \t FNV \t BYTES \t
  // EPOCH -- 2 lines consumed of the first file at that path.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : content) h = (h ^ c) * 1099511628211ull;
  o.engine->SetPosition(std::filesystem::weakly_canonical(file).string(),
                        absl::StrCat(2, "\t", h, "\t", content.size(), "\t0"));
  ASSERT_TRUE(o.engine->Commit().ok());

  FileIngestReport report;
  ASSERT_TRUE(IngestFiles(*o.engine, {file}, {}, &report).ok());
  EXPECT_EQ(report.skipped_lines, 2);
  EXPECT_EQ(report.dead_letters, 1);  // line 3 only
  // The position it stores now carries the lines' hash: a run on the same
  // file resumes by it, one on a file with other lines at the same first
  // bytes reads it again.
  report = {};
  ASSERT_TRUE(IngestFiles(*o.engine, {file}, {}, &report).ok());
  EXPECT_EQ(report.skipped_lines, 3);
  EXPECT_EQ(report.dead_letters, 0);
  std::filesystem::remove_all(dir);
}

// Hands over another engine at the first commit, as a replay's switch does.
class SwitchOnceGate : public CommitGate {
 public:
  explicit SwitchOnceGate(Engine* next) : next_(next) {}
  absl::StatusOr<Engine*> Enter(bool* replaced) override {
    *replaced = !switched_;
    switched_ = true;
    return next_;
  }
  void Leave() override {}

 private:
  Engine* next_;
  bool switched_ = false;
};

TEST(FileIngest, StreamDeadLettersKeepTheirNamesAcrossASwitch) {
  const std::string dir = testing::TempDir("switch-names");
  const std::string fifo = dir + "/p";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] {
    int fd = open(fifo.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::string bad = "same bad line\nsame bad line\n";
    ASSERT_EQ(write(fd, bad.data(), bad.size()),
              static_cast<ssize_t>(bad.size()));
    close(fd);
  });
  OpenEngine first = OpenAt(dir + "/first");
  OpenEngine second = OpenAt(dir + "/second");
  SwitchOnceGate gate(second.engine.get());
  FileIngestOptions opts;
  opts.gate = &gate;
  FileIngestReport report;
  ASSERT_TRUE(IngestFiles(*first.engine, {fifo}, opts, &report).ok());
  writer.join();
  EXPECT_EQ(report.dead_letters, 2);

  // Applied again on the new store, the two lines are named as they were
  // the first time: occurrences 1 and 2, not 3 and 4.
  std::vector<std::string> keys;
  ASSERT_TRUE(second.store
                  ->Scan(Family::kDead, "", "",
                         [&](std::string_view k, std::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].substr(0, fifo.size() + 2), fifo + ":#");
  EXPECT_EQ(keys[0].substr(keys[0].size() - 2), "-1") << keys[0];
  EXPECT_EQ(keys[1].substr(keys[1].size() - 2), "-2") << keys[1];
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// The file shards' pipeline (engine/file_shards.h, docs/engine.md "Parallel
// ingest"): the reader parses the next batch while the shards apply and
// commit the one before. What must hold although the reader is ahead:
//  * an error in a shard's thread stops the run, non-zero, and nothing of
//    the failed batch (nor of any later one) is committed;
//  * a generation switch at a commit, with batches already submitted since
//    the last commit, applies every line since then again on the new
//    generation and counts each line once;
//  * the commit gate (the generation lock) is left when a commit is
//    written, not when the reader next hands over a batch: a reader
//    waiting for its input never holds it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/file_shards.h"
#include "gtest/gtest.h"
#include "store/coding.h"
#include "store/store.h"
#include "tests/process_util.h"
#include "tests/test_util.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

using testing::TempDir;

std::string ChatLine(const std::string& id, int64_t ts,
                     const std::string& buyer, bool inbound) {
  return absl::StrCat("{\"type\":\"chat\",\"id\":\"", id, "\",\"ts\":", ts,
                      ",\"buyer\":\"", buyer,
                      "\",\"agent\":\"shop:agent01\",\"dir\":\"",
                      inbound ? "in" : "out", "\",\"text\":\"hi\"}\n");
}

// The lines of `path` the store at `db` has committed, and its events.
std::pair<int64_t, uint64_t> Committed(const std::string& db,
                                       const std::string& path) {
  auto store = Store::Open(db, StoreOptions());
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {-1, 0};
  auto pos = (*store)->Get(
      Family::kMeta,
      absl::StrCat(kMetaPositionPrefix,
                   std::filesystem::weakly_canonical(path).string()));
  EXPECT_TRUE(pos.ok()) << pos.status();
  int64_t lines = -1;
  if (pos.ok() && pos->has_value()) {
    std::vector<std::string> parts = absl::StrSplit(**pos, '\t');
    EXPECT_TRUE(absl::SimpleAtoi(parts[0], &lines)) << **pos;
  }
  return {lines, (*store)->next_seq()};
}

// A buyer's stored state that does not decode stops the shard that loads
// it, on its thread, while the reader has parsed on past the failed batch.
// The commits before that batch stay (position 40,000: the batches of 1,000
// lines before it), nothing of it or after it is written, and the process
// exits non-zero naming the buyer.
TEST(PipelinedIngest, WorkerErrorWhileTheReaderIsAheadCommitsNothingOfIt) {
  const std::string dir = TempDir("pipeline_error");
  const std::string db = dir + "/db";
  const int64_t t = testing::Local("2026-11-10 08:00:00");
  const std::string first = dir + "/first.jsonl";
  {
    std::ofstream out(first);
    out << ChatLine("x0", t, "buyer-x", true);
  }
  auto r = testing::Ingest(db, {first}, {"--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // buyer-x's state, as stored by the shard that owns it, made garbage.
  {
    auto store = Store::Open(db, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    Event x;
    x.type = EventType::kChat;
    x.buyer = "buyer-x";
    std::string key;
    PutFixed32BE(&key, FileShardOf(x, kFileShardsOfParallelStore));
    key.append(x.buyer);
    auto held = (*store)->Get(Family::kBuyers, key);
    ASSERT_TRUE(held.ok()) << held.status();
    ASSERT_TRUE(held->has_value());
    Commit c(store->get());
    c.Put(Family::kBuyers, key, "\xff\xff garbage");
    ASSERT_TRUE((*store)->Write(&c).ok());
  }

  // 40,000 chats of other buyers, buyer-x's at line 40,001, 20,000 more.
  const std::string second = dir + "/second.jsonl";
  {
    std::ofstream out(second);
    for (int i = 0; i < 60'000; ++i) {
      const int64_t ts = t + 1000 * (i + 1);
      out << (i == 40'000
                  ? ChatLine("x1", ts, "buyer-x", true)
                  : ChatLine(absl::StrCat("c", i), ts,
                             absl::StrCat("buyer", i % 700), i % 2 == 0));
    }
  }
  r = testing::Ingest(db, {second},
                      {"--threads", "2", "--commit-every", "1000"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "buyer 'buyer-x' is corrupt")) << r.err;
  const auto [lines, events] = Committed(db, second);
  EXPECT_EQ(lines, 40'000);
  EXPECT_EQ(events, 1u + 40'000u);
  std::filesystem::remove_all(dir);
}

// Hands over the engine of another store at the first commit, dropping what
// was built on the first one, as a replay's switch does (LiveEngine).
class SwitchAtFirstCommit : public CommitGate {
 public:
  explicit SwitchAtFirstCommit(Engine* next) : next_(next) {}
  absl::StatusOr<Engine*> Enter(bool* replaced) override {
    *replaced = !switched_;
    if (!switched_ && before_replace_) before_replace_();
    switched_ = true;
    return next_;
  }
  void Leave() override {}

 private:
  Engine* next_;
  bool switched_ = false;
};

// Commits every 50,000 lines, batches of 16,384: three batches are applied
// (and counted) before the first commit switches the generation. The new
// generation gets every line, each counted once in the report.
TEST(PipelinedIngest, GenerationSwitchAfterSubmittedBatchesCountsEachLineOnce) {
  const std::string dir = TempDir("pipeline_switch");
  GeneratorOptions g;
  g.seed = 5;
  g.agents = 5;
  g.target_events = 70'000;
  g.shuffle = true;
  g.duplicate_rate = 0.02;
  g.malformed_rate = 0.01;
  const std::string file = dir + "/events.jsonl";
  {
    std::ofstream out(file, std::ios::binary);
    auto n = WriteJsonl(g, out);
    ASSERT_TRUE(n.ok()) << n.status();
  }
  auto first_store = Store::Open(dir + "/first", StoreOptions());
  ASSERT_TRUE(first_store.ok());
  auto first = Engine::Open(testing::TestRules(), first_store->get());
  ASSERT_TRUE(first.ok());
  auto second_store = Store::Open(dir + "/second", StoreOptions());
  ASSERT_TRUE(second_store.ok());
  auto second = Engine::Open(testing::TestRules(), second_store->get());
  ASSERT_TRUE(second.ok());
  SwitchAtFirstCommit gate(second->get());
  FileIngestOptions opts;
  opts.threads = 2;
  opts.commit_every = 50'000;
  opts.gate = &gate;
  FileIngestReport report;
  absl::Status s = IngestFiles(**first, {file}, opts, &report);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(report.shards, kFileShardsOfParallelStore);
  ASSERT_GT(report.lines, 50'000);
  EXPECT_EQ(report.accepted + report.duplicates + report.dead_letters,
            report.lines);
  int64_t bad = 0;
  testing::ParseJsonlFile(file, &bad);
  EXPECT_EQ(report.dead_letters, bad);
  EXPECT_EQ((*first_store)->next_seq(), 0u);  // never committed to
  first->reset();
  second->reset();
  first_store->reset();
  second_store->reset();
  testing::ExpectStoreMatchesReference(dir + "/second", file,
                                       absl::CivilDay(2026, 10, 30),
                                       absl::CivilDay(2026, 12, 2));
  std::filesystem::remove_all(dir);
}

// Never switches; says whether it is entered, and waits for it to be left.
class RecordingGate : public CommitGate {
 public:
  explicit RecordingGate(Engine* engine) : engine_(engine) {}
  absl::StatusOr<Engine*> Enter(bool* replaced) override {
    *replaced = false;
    std::lock_guard lock(mu_);
    held_ = true;
    ++entered_;
    return engine_;
  }
  void Leave() override {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    left_.notify_all();
  }
  // Whether the gate was entered `n` times and left, within a minute (a
  // deadlock guard, not a timing: it is left at once when it works).
  bool EnteredAndLeft(int n) {
    std::unique_lock lock(mu_);
    return left_.wait_for(lock, std::chrono::seconds(60),
                          [&] { return entered_ >= n && !held_; });
  }

 private:
  Engine* engine_;
  std::mutex mu_;
  std::condition_variable left_;
  bool held_ = false;
  int entered_ = 0;
};

// A stream that pauses after 2,500 lines, with commits every 1,000: the
// reader waits for input after its second commit, which the shards write
// meanwhile; the gate is left then (a replay waiting for the generation
// lock goes on), before the stream sends its last lines.
TEST(PipelinedIngest, GateIsLeftWhileTheReaderWaitsForInput) {
  const std::string dir = TempDir("pipeline_gate");
  const std::string fifo = dir + "/p";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto store = Store::Open(dir + "/db", StoreOptions());
  ASSERT_TRUE(store.ok());
  auto engine = Engine::Open(testing::TestRules(), store->get());
  ASSERT_TRUE(engine.ok());
  RecordingGate gate(engine->get());
  const int64_t t = testing::Local("2026-11-10 08:00:00");
  bool left = false;
  std::thread writer([&] {
    int fd = open(fifo.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    auto send = [&](int from, int to) {
      std::string text;
      for (int i = from; i < to; ++i) {
        text += ChatLine(absl::StrCat("c", i), t + 1000 * i,
                         absl::StrCat("buyer", i % 50), i % 2 == 0);
      }
      ASSERT_EQ(write(fd, text.data(), text.size()),
                static_cast<ssize_t>(text.size()));
    };
    send(0, 2'500);
    left = gate.EnteredAndLeft(2);
    send(2'500, 2'600);
    close(fd);
  });
  FileIngestOptions opts;
  opts.threads = 2;
  opts.commit_every = 1'000;
  opts.gate = &gate;
  FileIngestReport report;
  absl::Status s = IngestFiles(**engine, {fifo}, opts, &report);
  writer.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(left);
  EXPECT_EQ(report.accepted, 2'600);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// Replay under new rules (docs/spec.md §4 replay equivalence, docs/replay.md):
// whole-process equivalence with a fresh ingest for several rule sets, a
// writer that keeps committing through the switch, SIGKILL during replay,
// kept generations, diff, the event log's raw bytes, shard runs, and the
// generation layout's crash repair.
#include "engine/replay.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/engine.h"
#include "engine/file_shards.h"
#include "engine/generation_select.h"
#include "engine/rules.h"
#include "gtest/gtest.h"
#include "ingest/event_parser.h"
#include "query/diff.h"
#include "query/month_score.h"
#include "query/snapshot.h"
#include "store/fault_injection.h"
#include "store/generations.h"
#include "store/store.h"
#include "store/store_files.h"
#include "tests/process_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

namespace fs = std::filesystem;
using testing::ChatkpiBinary;
using testing::Gen;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

const char kFrom[] = "2026-10-25";
const char kTo[] = "2026-12-05";

// Rule sets a shop might switch to.
const std::vector<std::pair<std::string, std::string>> kRuleSets = {
    {"attr72-first",
     R"({"version": "attr72-first", "attribution": {"window_s": 259200, "model": "first"}})"},
    {"slow30", R"({"version": "slow30", "response": {"slow_s": 30}})"},
    {"keywords",
     R"({"version": "keywords", "service": {"good_keywords": ["有的", "可以"], "bad_keywords": ["自己看"]}})"},
    {"utc-short",
     R"({"version": "utc-short", "timezone": "UTC", "response": {"window_s": 600}, "attribution": {"window_s": 3600}})"},
    {"hours",
     R"({"version": "hours", "response": {"thresholds_s": [20, 300]}, "service": {"hours": {"mon": [["09:00", "21:00"]], "tue": [["09:00", "12:00"], ["13:00", "24:00"]], "sat": [["00:00", "02:00"], ["10:00", "18:00"]]}, "closed_dates": ["2026-11-11"]}})"},
};

testing::ProcessResult Ingest(const std::string& db,
                              const std::vector<std::string>& files,
                              const std::string& rules = "") {
  if (rules.empty()) return testing::Ingest(db, files);
  return testing::Ingest(db, files, {"--rules", rules});
}

std::string Snapshot(const std::string& db, const std::string& version = "") {
  if (version.empty()) return testing::Snapshot(db, kFrom, kTo);
  return testing::Snapshot(db, kFrom, kTo, {"--rules-version", version});
}

testing::ProcessResult Replay(const std::string& db, const std::string& rules,
                              const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {ChatkpiBinary(), "replay", "--db", db,
                                   "--rules",       rules};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunProcess(argv);
}

std::string RulesFile(const std::string& dir, const std::string& name,
                      const std::string& json) {
  std::string path = absl::StrCat(dir, "/", name, ".rules.json");
  WriteFile(path, json);
  return path;
}

// A fresh ingest of `files` under `rules` into DIR/fresh-<name>.
std::string FreshDb(const std::string& dir, const std::string& name,
                    const std::vector<std::string>& files,
                    const std::string& rules) {
  const std::string db = absl::StrCat(dir, "/fresh-", name);
  auto r = Ingest(db, files, rules);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return db;
}

std::string FreshSnapshot(const std::string& dir,
                          const std::vector<std::string>& files,
                          const std::string& rules) {
  static int n = 0;
  return Snapshot(FreshDb(dir, absl::StrCat(n++), files, rules));
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  for (absl::string_view l : absl::StrSplit(ReadFile(path), '\n')) {
    if (!l.empty()) out.emplace_back(l);
  }
  return out;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines,
                size_t begin, size_t end) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (size_t i = begin; i < end; ++i) out << lines[i] << "\n";
}

// Generation directories (not markers) under DIR.generations.
std::vector<std::string> GenerationDirs(const std::string& db) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(db + ".generations", ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// argv with stdin from a pipe the caller writes; stdout/stderr to files.
pid_t StartWithStdinPipe(const std::vector<std::string>& argv, int* stdin_fd,
                         const std::string& out_file,
                         const std::string& err_file) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[0]);
  *stdin_fd = fds[1];
  return pid;
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Acceptance 1: replay under R gives exactly the snapshot of a fresh ingest
// under R, for several rule sets, each replay starting from the previous
// one's generation (so the copied log is itself replayable).
TEST(ReplayProcess, ReplayEqualsFreshIngestForSeveralRuleSets) {
  const std::string dir = TempDir("replay_equiv");
  const std::string events =
      Gen(dir, {"--buyers", "200", "--seed", "11", "--shuffle", "--duplicates",
                "0.03", "--malformed", "0.01", "--assessments"});
  const std::string db = dir + "/db";
  auto r = Ingest(db, {events});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string before = Snapshot(db);
  ASSERT_NE(before.find("\"rules_version\": \"default\""), std::string::npos);

  std::set<std::string> snapshots = {before};
  for (const auto& [version, json] : kRuleSets) {
    SCOPED_TRACE(version);
    const std::string rules = RulesFile(dir, version, json);
    r = Replay(db, rules);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("events/s"), std::string::npos) << r.err;  // progress
    const std::string replayed = Snapshot(db);
    EXPECT_NE(
        replayed.find(absl::StrCat("\"rules_version\": \"", version, "\"")),
        std::string::npos);
    const std::string fresh = FreshDb(dir, version, {events}, rules);
    EXPECT_EQ(replayed, Snapshot(fresh));
    snapshots.insert(replayed);
    // The scores follow too (same history, same rules: same report).
    auto a = RunProcess({ChatkpiBinary(), "score", "--db", db, "--month",
                         "2026-11", "--scheme", "ecom10"});
    auto b = RunProcess({ChatkpiBinary(), "score", "--db", fresh, "--month",
                         "2026-11", "--scheme", "ecom10"});
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
  }
  // Every rule set changed something: the comparison above was not vacuous.
  EXPECT_EQ(snapshots.size(), kRuleSets.size() + 1);
  // Without --keep, only the live generation is left.
  EXPECT_EQ(GenerationDirs(db).size(), 1u);
  // Back to the defaults: the very first snapshot again.
  r = Replay(db, RulesFile(dir, "default", R"({"version": "default"})"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Snapshot(db), before);
  fs::remove_all(dir);
}

// Acceptance 2: a writer keeps committing before, during and after the
// replay; after the switch it continues in the new generation under the new
// rules. Nothing is missing or counted twice.
TEST(ReplayProcess, EventsArrivingDuringReplayAreNeitherLostNorDoubled) {
  const std::string dir = TempDir("replay_live");
  const std::string events =
      Gen(dir, {"--buyers", "300", "--seed", "5", "--shuffle", "--duplicates",
                "0.02", "--malformed", "0.01"});
  const std::vector<std::string> lines = Lines(events);
  const size_t first = lines.size() * 3 / 10;
  WriteLines(dir + "/part1.jsonl", lines, 0, first);
  const std::string db = dir + "/db";
  auto r = Ingest(db, {dir + "/part1.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string rules = RulesFile(dir, "v2", kRuleSets[0].second);

  // The live writer: one long-running ingest fed through stdin.
  int in = -1;
  const pid_t writer = StartWithStdinPipe(
      {ChatkpiBinary(), "ingest", "--db", db, "--commit-every", "150", "-"},
      &in, dir + "/writer.out", dir + "/writer.err");
  ASSERT_GT(writer, 0);
  const size_t held_back = first + (lines.size() - first) * 7 / 10;
  std::thread feeder([&] {
    for (size_t i = first; i < lines.size(); ++i) {
      if (i == held_back) {
        // The last 30% only after the switch (the replay may still be
        // waiting for this writer to leave the old generation).
        for (int w = 0; w < 3000; ++w) {
          std::error_code ec;
          if (fs::read_symlink(db, ec).string().find("attr72-first") !=
              std::string::npos) {
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
      if (!WriteAll(in, lines[i] + "\n")) {
        ADD_FAILURE() << "writer stdin closed";
        break;
      }
      if (i % 10 == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    close(in);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  r = Replay(db, rules);
  feeder.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(testing::WaitProcess(writer), 0) << ReadFile(dir + "/writer.err");
  const std::string werr = ReadFile(dir + "/writer.err");
  EXPECT_NE(werr.find("was switched to generation"), std::string::npos) << werr;
  EXPECT_NE(werr.find("rules version attr72-first"), std::string::npos) << werr;

  EXPECT_EQ(Snapshot(db), FreshSnapshot(dir, {events}, rules));
  // The writer let go of the old generation, which was then deleted.
  EXPECT_NE(r.out.find("\"old\": \"deleted\""), std::string::npos) << r.out;
  EXPECT_EQ(GenerationDirs(db).size(), 1u);
  fs::remove_all(dir);
}

// Acceptance 2, with `chatkpi ingest` of more files in a loop of processes:
// processes that started before the switch move to the new generation at
// their next commit; those started after it run under the new rules (one
// started with the old rules is refused, untouched, and run again).
TEST(ReplayProcess, IngestLoopDuringReplayLosesAndDoublesNothing) {
  const std::string dir = TempDir("replay_loop");
  const std::string events =
      Gen(dir, {"--buyers", "300", "--seed", "17", "--shuffle", "--duplicates",
                "0.02", "--malformed", "0.01"});
  const std::vector<std::string> lines = Lines(events);
  const size_t first = lines.size() * 4 / 10;
  std::vector<std::string> files = {dir + "/part0.jsonl"};
  WriteLines(files[0], lines, 0, first);
  const size_t per_file = (lines.size() - first) / 24 + 1;
  for (size_t begin = first; begin < lines.size(); begin += per_file) {
    files.push_back(absl::StrCat(dir, "/part", files.size(), ".jsonl"));
    WriteLines(files.back(), lines, begin,
               std::min(lines.size(), begin + per_file));
  }
  const std::string db = dir + "/db";
  ASSERT_EQ(Ingest(db, {files[0]}).exit_code, 0);
  const std::string rules = RulesFile(dir, "slow30", kRuleSets[1].second);

  int refused = 0;
  std::thread loop([&] {
    bool new_rules = false;
    for (size_t i = 1; i < files.size(); ++i) {
      for (int attempt = 0; attempt < 2; ++attempt) {
        std::vector<std::string> argv = {ChatkpiBinary(),  "ingest", "--db", db,
                                         "--commit-every", "20"};
        if (new_rules) argv.insert(argv.end(), {"--rules", rules});
        argv.push_back(files[i]);
        auto r = RunProcess(argv);
        if (r.exit_code == 0) break;
        // Started after the switch with the old rules: refused as a whole.
        EXPECT_NE(r.err.find("other rules"), std::string::npos) << r.err;
        EXPECT_FALSE(new_rules);
        new_rules = true;
        ++refused;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto r = Replay(db, rules);
  loop.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(refused, 1);
  EXPECT_EQ(Snapshot(db), FreshSnapshot(dir, files, rules));
  // Every file was taken in exactly once: a re-run adds nothing.
  auto again = Ingest(db, files, rules);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find(" 0 new events"), std::string::npos) << again.err;
  fs::remove_all(dir);
}

// Acceptance 3: SIGKILL at several instants of a replay leaves the live
// generation as it was (or, past the switch, the new one complete); a
// second replay completes and equals a fresh ingest.
TEST(ReplayProcess, SigkillDuringReplayLeavesLiveUntouchedAndIsRestartable) {
  const std::string dir = TempDir("replay_kill");
  const std::string events =
      Gen(dir, {"--buyers", "300", "--seed", "9", "--malformed", "0.01"});
  const std::string db = dir + "/db";
  auto r = Ingest(db, {events});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string before = Snapshot(db);
  const std::string rules = RulesFile(dir, "slow30", kRuleSets[1].second);
  const std::string expected = FreshSnapshot(dir, {events}, rules);

  // Each run is killed once the generation it builds holds k commits (of
  // ~100: --commit-every 50 over ~5,000 events), not after a fixed delay: a
  // kill before the replay stored anything would interrupt nothing, and the
  // test would pass without testing a kill mid-replay.
  int killed_mid_replay = 0;
  for (uint64_t k : {1, 4, 15, 40}) {
    SCOPED_TRACE(k);
    const std::string err = absl::StrCat(dir, "/replay", k, ".err");
    const pid_t pid =
        testing::StartProcess({ChatkpiBinary(), "replay", "--db", db, "--rules",
                               rules, "--commit-every", "50", "--quiet"},
                              "", err);
    uint64_t commits = 0;
    bool exited = false;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (commits < k && !exited && absl::Now() < deadline) {
      // "rebuilding generation OLD (rules A) as NEW (rules B)" names it.
      std::smatch m;
      const std::string log = ReadFile(err);
      static const std::regex kBuilding("rebuilding generation .* as (\\S+) ");
      if (std::regex_search(log, m, kBuilding)) {
        std::optional<CommitRecord> r =
            ReadCommitRecord(absl::StrCat(db, ".generations/", m[1].str()));
        commits = r.has_value() ? r->commits : 0;
      }
      // Looks at the child without reaping it (WaitProcess does that).
      siginfo_t info{};
      exited = waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid == pid;
      absl::SleepFor(absl::Milliseconds(1));
    }
    kill(pid, SIGKILL);
    const int code = testing::WaitProcess(pid);
    const std::string now = Snapshot(db);
    if (now != before) {
      // Killed after the switch: the new generation is complete.
      EXPECT_EQ(now, expected) << "exit " << code;
      break;
    }
    ASSERT_EQ(code, -SIGKILL) << ReadFile(err);
    ASSERT_GE(commits, k) << "no kill mid-replay within 60 s: "
                          << ReadFile(err);
    ++killed_mid_replay;
  }
  // The first kills come long before the ~100 commits of the rebuild.
  EXPECT_GE(killed_mid_replay, 3);
  r = Replay(db, rules);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Snapshot(db), expected);
  // Leftovers of the killed runs are gone.
  EXPECT_EQ(GenerationDirs(db).size(), 1u);
  for (const auto& e : fs::directory_iterator(db + ".generations")) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == ".replay.lock" || e.is_directory()) << name;
  }
  fs::remove_all(dir);
}

// The file shard count a store records (meta file_shards), "" if none.
std::string FileShardsMeta(const std::string& db) {
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return "";
  auto v = (*store)->Get(Family::kMeta, kMetaFileShards);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() && v->has_value() ? **v : "";
}

// A store of file shards (`ingest --threads 2`) replayed on two threads
// (docs/replay.md, "Threads"): SIGKILL mid-replay leaves the live
// generation as it was; the next replay, with `ingest --threads 2`
// processes committing before, during and after the switch, equals a fresh
// ingest under the new rules, and the new generation keeps the shards.
TEST(ReplayProcess, FileShardedStoreKilledThenReplayedBesideWriters) {
  const std::string dir = TempDir("replay_file_shards");
  const std::string events =
      Gen(dir, {"--buyers", "300", "--seed", "23", "--shuffle", "--duplicates",
                "0.02", "--malformed", "0.01"});
  const std::vector<std::string> lines = Lines(events);
  const size_t first = lines.size() * 4 / 10;
  std::vector<std::string> files = {dir + "/part0.jsonl"};
  WriteLines(files[0], lines, 0, first);
  const size_t per_file = (lines.size() - first) / 12 + 1;
  for (size_t begin = first; begin < lines.size(); begin += per_file) {
    files.push_back(absl::StrCat(dir, "/part", files.size(), ".jsonl"));
    WriteLines(files.back(), lines, begin,
               std::min(lines.size(), begin + per_file));
  }
  const std::string db = dir + "/db";
  auto r = testing::Ingest(db, {files[0]}, {"--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(FileShardsMeta(db), "8");
  const std::string before = Snapshot(db);
  const std::string rules = RulesFile(dir, "slow30", kRuleSets[1].second);

  // Killed once the generation it builds holds 3 commits.
  const std::string err = dir + "/killed.err";
  const pid_t pid = testing::StartProcess(
      {ChatkpiBinary(), "replay", "--db", db, "--rules", rules, "--threads",
       "2", "--commit-every", "50", "--quiet"},
      "", err);
  uint64_t commits = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (commits < 3 && absl::Now() < deadline) {
    std::smatch m;
    const std::string log = ReadFile(err);
    static const std::regex kBuilding("rebuilding generation .* as (\\S+) ");
    if (std::regex_search(log, m, kBuilding)) {
      std::optional<CommitRecord> c =
          ReadCommitRecord(absl::StrCat(db, ".generations/", m[1].str()));
      commits = c.has_value() ? c->commits : 0;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  kill(pid, SIGKILL);
  ASSERT_EQ(testing::WaitProcess(pid), -SIGKILL) << ReadFile(err);
  ASSERT_GE(commits, 3u) << ReadFile(err);
  EXPECT_EQ(Snapshot(db), before);

  int refused = 0;
  std::thread loop([&] {
    bool new_rules = false;
    for (size_t i = 1; i < files.size(); ++i) {
      for (int attempt = 0; attempt < 2; ++attempt) {
        std::vector<std::string> argv = {
            ChatkpiBinary(), "ingest", "--db",           db,
            "--threads",     "2",      "--commit-every", "20"};
        if (new_rules) argv.insert(argv.end(), {"--rules", rules});
        argv.push_back(files[i]);
        auto w = RunProcess(argv);
        if (w.exit_code == 0) break;
        EXPECT_NE(w.err.find("other rules"), std::string::npos) << w.err;
        EXPECT_FALSE(new_rules);
        new_rules = true;
        ++refused;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  r = Replay(db, rules, {"--threads", "2"});
  loop.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(refused, 1);
  EXPECT_EQ(Snapshot(db), FreshSnapshot(dir, files, rules));
  EXPECT_EQ(FileShardsMeta(db), "8");
  // Every file was taken in exactly once: a re-run adds nothing.
  auto again = testing::Ingest(db, files, {"--rules", rules, "--threads", "2"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find(" 0 new events"), std::string::npos) << again.err;
  EXPECT_EQ(GenerationDirs(db).size(), 1u);
  fs::remove_all(dir);
}

// A crash between the two steps of the first replay's layout change leaves
// DIR missing; any command puts it back.
TEST(ReplayProcess, InterruptedLayoutChangeIsRepaired) {
  const std::string dir = TempDir("replay_repair");
  const std::string events = Gen(dir, {"--buyers", "50", "--seed", "2"});
  const std::string db = dir + "/db";
  ASSERT_EQ(Ingest(db, {events}).exit_code, 0);
  const std::string before = Snapshot(db);
  // What ConvertLayout does before it is killed: the marker and the move,
  // not the link.
  auto cut_short = [&] {
    fs::create_directories(db + ".generations");
    testing::WriteFile(db + ".generations/.converting", "");
    if (fs::is_symlink(db)) {
      fs::remove(db);
    } else {
      fs::rename(db, db + ".generations/default-1");
    }
    ASSERT_FALSE(fs::exists(db));
  };
  cut_short();
  EXPECT_EQ(Snapshot(db), before);
  EXPECT_TRUE(fs::is_symlink(db));
  EXPECT_FALSE(fs::exists(db + ".generations/.converting"));
  // A writer works on the repaired layout.
  cut_short();
  auto r = Ingest(db, {events});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("0 new events"), std::string::npos) << r.err;
  EXPECT_EQ(Snapshot(db), before);
  fs::remove_all(dir);
}

// A replayed store whose DIR (the symlink) was deleted by hand: brought
// back, its old numbers, under its old rules, passed for those of the new
// store that ingest was asked to make, with exit 0. Every command refuses
// instead, and changes nothing.
TEST(ReplayProcess, DeletedDirOfAReplayedStoreIsNotBroughtBack) {
  const std::string dir = TempDir("replay_deleted_dir");
  const std::string events = Gen(dir, {"--buyers", "50", "--seed", "3"});
  const std::string db = dir + "/db";
  ASSERT_EQ(Ingest(db, {events}).exit_code, 0);
  const std::string rules = RulesFile(dir, "v2", kRuleSets[1].second);
  ASSERT_EQ(Replay(db, rules).exit_code, 0);
  ASSERT_TRUE(fs::is_symlink(db));
  fs::remove(db);  // what `rm -rf DIR` removes of a replayed store
  auto r = Ingest(db, {events});
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("it was deleted, not moved by chatkpi"),
            std::string::npos)
      << r.err;
  r = testing::RunProcess({ChatkpiBinary(), "snapshot", "--db", db, "--from",
                           "2026-11-01", "--to", "2026-11-30"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(db));
  // As the message says: without the generations, a new store.
  fs::remove_all(db + ".generations");
  r = Ingest(db, {events});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(": 0 new events"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

// The first replay of a plain store that a writer has open asks the writer
// to move it into the generation layout (the test above: it does, at its
// next commit). An idle writer never does: the replay gives up, saying so,
// and leaves everything as it was.
TEST(ReplayProcess, IdleWriterOfAPlainStoreIsReported) {
  const std::string dir = TempDir("replay_busy");
  const std::string events = Gen(dir, {"--buyers", "30", "--seed", "4"});
  const std::string db = dir + "/db";
  ASSERT_EQ(Ingest(db, {events}).exit_code, 0);
  int in = -1;
  const pid_t writer =
      StartWithStdinPipe({ChatkpiBinary(), "ingest", "--db", db, "-"}, &in,
                         dir + "/w.out", dir + "/w.err");
  // Wait until the writer has the store open (its RocksDB lock is held).
  for (int i = 0; i < 500; ++i) {
    auto busy = OpenForWriting(db);
    if (busy.ok() && *busy) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string rules = RulesFile(dir, "v2", kRuleSets[1].second);
  auto r = Replay(db, rules, {"--convert-wait-s", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("did not move it into the generation layout"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::is_symlink(db));
  EXPECT_FALSE(fs::exists(db + ".generations/.convert-request"));
  close(in);
  EXPECT_EQ(testing::WaitProcess(writer), 0) << ReadFile(dir + "/w.err");
  // Without a writer, replay converts the store itself.
  r = Replay(db, rules);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"converted\": true"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::is_symlink(db));
  fs::remove_all(dir);
}

// --keep: the old generation stays queryable by version; diff compares the
// two, in process and over the command line.
TEST(ReplayProcess, KeptGenerationIsQueryableAndDiffed) {
  const std::string dir = TempDir("replay_keep");
  const std::string events =
      Gen(dir, {"--buyers", "200", "--seed", "7", "--assessments"});
  const std::string db = dir + "/db";
  ASSERT_EQ(Ingest(db, {events}).exit_code, 0);
  const std::string before = Snapshot(db);
  const std::string rules = RulesFile(dir, "attr72-first", kRuleSets[0].second);
  auto r = Replay(db, rules, {"--keep"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"old\": \"kept\""), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(db, "default"), before);
  EXPECT_EQ(Snapshot(db, "attr72-first"), Snapshot(db));
  auto missing = RunProcess({ChatkpiBinary(), "snapshot", "--db", db, "--from",
                             kFrom, "--to", kTo, "--rules-version", "v9"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no generation with rules version 'v9'"),
            std::string::npos)
      << missing.err;
  auto score_old =
      RunProcess({ChatkpiBinary(), "score", "--db", db, "--month", "2026-11",
                  "--scheme", "ecom10", "--rules-version", "default"});
  ASSERT_EQ(score_old.exit_code, 0) << score_old.err;
  EXPECT_NE(score_old.out.find("\"rules_version\": \"default\""),
            std::string::npos);

  // In process: every figure of the diff is the two snapshots' figure.
  auto scheme =
      LoadSchemeByNameOrPath("ecom10", testing::SourceDir() + "/query/schemes");
  ASSERT_TRUE(scheme.ok()) << scheme.status();
  DiffRequest req;
  req.from = absl::CivilDay(2026, 11, 1);
  req.to = absl::CivilDay(2026, 11, 30);
  req.rules_a = "default";
  req.rules_b = "attr72-first";
  req.scheme = &*scheme;
  auto d = DiffGenerations(db, req);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->a.rules_version, "default");
  EXPECT_FALSE(d->a.live);
  EXPECT_EQ(d->b.rules_version, "attr72-first");
  EXPECT_TRUE(d->b.live);
  ASSERT_EQ(d->a.months.size(), 1u);
  auto old_gen = OpenGeneration(db, "default");
  ASSERT_TRUE(old_gen.ok());
  auto old_snap = ReadSnapshot(*old_gen->store, req.from, req.to);
  ASSERT_TRUE(old_snap.ok());
  EXPECT_EQ(SnapshotToJson(d->a.snapshot), SnapshotToJson(*old_snap));
  auto old_score =
      ScoreMonth(*old_gen->store, *scheme, absl::CivilMonth(2026, 11));
  ASSERT_TRUE(old_score.ok());
  EXPECT_EQ(ScoreReportToJson(d->a.months[0]), ScoreReportToJson(*old_score));
  auto json = DiffJson(db, req);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, DiffToJson(*d));
  EXPECT_NE(json->find("\"pay\": {\"base_fen\""), std::string::npos);
  // last -> first with a 72 h window moves orders between agents.
  EXPECT_NE(json->find("\"orders\": {\"a\": "), std::string::npos);

  // A kept generation carries its switch: no event came after it here.
  ASSERT_TRUE(d->a.switched_at_ms.has_value());
  EXPECT_EQ(d->a.events_at_switch, std::optional<int64_t>(d->a.events));
  EXPECT_EQ(d->b.events, d->a.events);
  EXPECT_FALSE(d->b.switched_at_ms.has_value());
  // Team pay is the sum of the agents' pay under each version.
  int64_t base_a = 0, total_b = 0;
  for (const AgentScore& s : d->a.months[0].agents) {
    if (s.pay) base_a += s.pay->base_fen;
  }
  for (const AgentScore& s : d->b.months[0].agents) {
    if (s.pay) total_b += s.pay->total_fen;
  }
  EXPECT_NE(json->find(absl::StrCat(
                "\"team_pay\": {\"base_fen\": {\"a\": ", base_a, ",")),
            std::string::npos);
  EXPECT_NE(json->find(absl::StrCat("\"total_fen\": {\"a\": ")),
            std::string::npos);
  EXPECT_NE(json->find(absl::StrCat(", \"b\": ", total_b)), std::string::npos);
  EXPECT_NE(json->find("{\"rule\": \"attribution.model\", \"a\": "
                       "\"\\\"last\\\"\", \"b\": \"\\\"first\\\"\"}"),
            std::string::npos)
      << json->substr(0, 600);

  // The report for people: rule changes first, changed figures only, money
  // in yuan, rates in percent; --all adds the unchanged ones.
  r = RunProcess({ChatkpiBinary(), "diff", "--db", db, "--from", "2026-11-01",
                  "--to", "2026-11-30", "--rules-a", "default", "--rules-b",
                  "attr72-first", "--scheme", "ecom10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t rules_at = r.out.find("Rule changes:\n");
  const size_t team_at = r.out.find("Team totals (changed figures):\n");
  ASSERT_NE(rules_at, std::string::npos) << r.out;
  ASSERT_NE(team_at, std::string::npos) << r.out;
  EXPECT_LT(rules_at, team_at);
  EXPECT_NE(r.out.find("  attribution.model: \"last\" → \"first\"\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("replaced at 2"), std::string::npos) << r.out;
  // Attribution rules move orders, never chat figures.
  EXPECT_EQ(r.out.find("consultations"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  pay, 2026-11 (ecom10):\n"), std::string::npos);
  EXPECT_NE(r.out.find(" conversion rate "), std::string::npos);
  EXPECT_NE(r.out.find(" pt)"), std::string::npos);
  EXPECT_NE(r.out.find("¥"), std::string::npos);
  EXPECT_EQ(r.out.find("_fen"), std::string::npos) << r.out;
  auto all = RunProcess({ChatkpiBinary(), "diff", "--db", db, "--from",
                         "2026-11-01", "--to", "2026-11-30", "--rules-a",
                         "default", "--rules-b", "attr72-first", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("  consultations "), std::string::npos) << all.out;
  auto zh =
      RunProcess({ChatkpiBinary(), "diff", "--db", db, "--from", "2026-11-01",
                  "--to", "2026-11-30", "--rules-a", "default", "--rules-b",
                  "attr72-first", "--lang", "zh"});
  ASSERT_EQ(zh.exit_code, 0) << zh.err;
  EXPECT_NE(zh.out.find("规则变化:"), std::string::npos) << zh.out;
  EXPECT_NE(zh.out.find("咨询转化率"), std::string::npos) << zh.out;

  // CSV with --all: every figure, rows whose change is b - a.
  r = RunProcess({ChatkpiBinary(), "diff", "--db", db, "--from", "2026-11-01",
                  "--to", "2026-11-30", "--rules-a", "default", "--rules-b",
                  "attr72-first", "--scheme", "ecom10", "--format", "csv",
                  "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int rows = 0, changed = 0;
  for (absl::string_view line : absl::StrSplit(r.out, "\r\n")) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != 7 || f[0] != "kpi") continue;
    int64_t a, b, change;
    if (!absl::SimpleAtoi(f[4], &a) || !absl::SimpleAtoi(f[5], &b)) continue;
    ASSERT_TRUE(absl::SimpleAtoi(f[6], &change)) << line;
    EXPECT_EQ(change, b - a) << line;
    ++rows;
    changed += change != 0;
  }
  EXPECT_GT(rows, 100);
  EXPECT_GT(changed, 0);
  r = RunProcess({ChatkpiBinary(), "diff", "--db", db, "--from", "2026-11-01",
                  "--to", "2026-11-30", "--rules-a", "default", "--rules-b",
                  "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("'nope'"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

// The event log keeps every event's bytes exactly as received — text,
// unknown fields, auto replies, whitespace — so that any rule can be
// applied later: new keywords change courtesy on replay.
TEST(EventLog, KeepsRawBytesForReplay) {
  const std::string dir = TempDir("replay_log");
  const int64_t t = testing::Local("2026-11-03 10:00:00");
  const std::vector<std::string> lines = {
      absl::StrCat(
          R"({"type":"chat","id":"c1","ts":)", t,
          R"(,"buyer":"b1","agent":"s:a","dir":"in","text":"在吗？","extra":{"x":[1,2]}})"),
      absl::StrCat(
          R"({ "type" : "chat", "id" : "c2", "ts" : )", t + 5000,
          R"(, "buyer":"b1", "agent":"s:a", "dir":"out", "text":"有的\u0021 稍等", "auto": false })"),
      absl::StrCat(
          R"({"type":"chat","id":"c3","ts":)", t + 6000,
          R"(,"buyer":"b1","agent":"s:a","dir":"out","text":"自动回复：可以","auto":true})"),
      absl::StrCat(
          R"({"type":"order","id":"o1","ts":)", t + 60000,
          R"(,"order":"O1","buyer":"b1","status":"paid","amount":12.50,"items":1,"note":"旺旺"})"),
  };
  std::string content;
  for (const std::string& l : lines) content += l + "\n";
  content += "{not json}\n";
  WriteFile(dir + "/e.jsonl", content);
  const std::string db = dir + "/db";
  ASSERT_EQ(Ingest(db, {dir + "/e.jsonl"}).exit_code, 0);
  const std::string rules = RulesFile(dir, "kw", kRuleSets[2].second);
  ASSERT_EQ(Replay(db, rules).exit_code, 0);

  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<std::string> logged;
  ASSERT_TRUE((*store)
                  ->ScanEvents(0, UINT64_MAX,
                               [&](uint64_t, std::string_view v) {
                                 logged.emplace_back(v);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(logged, lines);
  int dead = 0;
  ASSERT_TRUE((*store)
                  ->Scan(Family::kDead, "", "",
                         [&](std::string_view k, std::string_view v) {
                           ++dead;
                           EXPECT_NE(v.find("{not json}"), std::string::npos);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(dead, 1);
  // "有的" is a good keyword only under the new rules.
  auto snap = ReadSnapshot(**store, absl::CivilDay(2026, 11, 3),
                           absl::CivilDay(2026, 11, 3));
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->agents.size(), 1u);
  EXPECT_EQ(snap->agents[0].counters[kCourteous], 1);
  EXPECT_EQ(snap->dead_letters, 1);
  store->reset();
  EXPECT_EQ(Snapshot(db), FreshSnapshot(dir, {dir + "/e.jsonl"}, rules));
  fs::remove_all(dir);
}

// A store fed by several shards (Kafka partitions) replays each event in
// the shard that applied it: every aggregate row, per shard, equals that of
// the same events applied fresh under the new rules.
TEST(ReplayLibrary, ShardsAreReplayedInTheirOwnShard) {
  const std::string dir = TempDir("replay_shards");
  const std::string events = Gen(dir, {"--buyers", "150", "--seed", "21"});
  auto base = DefaultRules();
  ASSERT_TRUE(base.ok());
  auto next = ParseRules(kRuleSets[0].second);
  ASSERT_TRUE(next.ok());

  // Events of buyer b go to shard hash(b) % 3 + 1 (shard 0 unused), engines
  // committing in turns as a Kafka member does.
  auto feed = [&](const std::string& db, const Rules& rules) {
    auto store = Store::Open(db, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    std::map<uint32_t, std::unique_ptr<Engine>> engines;
    EventParser parser;
    Event e;
    int n = 0;
    for (const std::string& line : Lines(events)) {
      if (!parser.Parse(line, &e).ok()) continue;
      const std::string& key =
          e.type == EventType::kAssessment ? e.agent : e.buyer;
      const uint32_t shard = std::hash<std::string>()(key) % 3 + 1;
      auto& engine = engines[shard];
      if (engine == nullptr) {
        EngineOptions eo;
        eo.shard = shard;
        auto opened = Engine::Open(rules, store->get(), eo);
        ASSERT_TRUE(opened.ok()) << opened.status();
        engine = std::move(*opened);
      }
      ASSERT_TRUE(engine->Apply(e, line).ok());
      if (++n % 97 == 0) {
        for (auto& [s, en] : engines) ASSERT_TRUE(en->Commit().ok());
      }
    }
    for (auto& [s, en] : engines) ASSERT_TRUE(en->Commit().ok());
  };
  auto rows = [](const std::string& db) {
    std::map<std::string, std::string> out;
    StoreOptions so;
    so.read_only = true;
    auto store = Store::Open(db, so);
    EXPECT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE((*store)
                    ->Scan(Family::kAggregates, "", "",
                           [&](std::string_view k, std::string_view v) {
                             out.emplace(k, v);
                             return true;
                           })
                    .ok());
    return out;
  };
  feed(dir + "/live", *base);
  feed(dir + "/fresh", *next);
  auto report = chatkpi::Replay(dir + "/live", *next);
  ASSERT_TRUE(report.ok()) << report.status();
  const auto replayed = rows(dir + "/live");
  EXPECT_EQ(replayed, rows(dir + "/fresh"));
  std::set<uint32_t> shards;
  for (const auto& [k, v] : replayed) {
    uint32_t shard;
    int32_t day;
    std::string agent;
    ASSERT_TRUE(ParseAggregateKey(k, &shard, &day, &agent));
    shards.insert(shard);
  }
  EXPECT_EQ(shards, (std::set<uint32_t>{1, 2, 3}));
  fs::remove_all(dir);
}

// The new generation is written without a write-ahead log and written out
// before the switch: if that fails, replay fails and the live generation
// stays, with its numbers; a later replay switches as usual.
TEST(ReplayLibrary, NewGenerationThatCannotBeWrittenOutIsNotSwitchedTo) {
  const std::string dir = TempDir("replay_unwritable");
  const std::string events = Gen(dir, {"--buyers", "120", "--seed", "23"});
  const std::string db = dir + "/live";
  ASSERT_EQ(Ingest(db, {events}).exit_code, 0);
  const std::string before = Snapshot(db);
  auto next = ParseRules(kRuleSets[1].second);
  ASSERT_TRUE(next.ok());

  ReplayOptions opts;
  opts.target_faults = std::make_shared<FaultInjection>();
  // The disk fails once every event is in the new generation's memtables:
  // what is left is writing them out (after the flush the bulk pass began
  // has had time to end).
  opts.progress = [&](const ReplayProgress& p) {
    if (std::string_view(p.phase) != "final catch-up") return;
    absl::SleepFor(absl::Milliseconds(300));
    opts.target_faults->SetFailWrites(true);
  };
  auto failed = chatkpi::Replay(db, *next, opts);
  EXPECT_FALSE(failed.ok());
  EXPECT_GT(opts.target_faults->failures(), 0);
  opts.target_faults->Clear();
  EXPECT_EQ(Snapshot(db), before);

  auto report = chatkpi::Replay(db, *next);
  ASSERT_TRUE(report.ok()) << report.status();
  const std::string rules = RulesFile(dir, "slow30", kRuleSets[1].second);
  EXPECT_EQ(Snapshot(db), FreshSnapshot(dir, {events}, rules));
  EXPECT_NE(Snapshot(db), before);
  fs::remove_all(dir);
}

// While a replay builds a generation, its commits are not all on disk: any
// other open of it (a snapshot given its path) is refused with a message
// that names it, rather than showing part of its numbers.
TEST(ReplayLibrary, GenerationBeingBuiltIsNotOpenedByOthers) {
  const std::string dir = TempDir("replay_building");
  const std::string events = Gen(dir, {"--buyers", "80", "--seed", "24"});
  const std::string db = dir + "/live";
  ASSERT_EQ(Ingest(db, {events}).exit_code, 0);
  auto next = ParseRules(kRuleSets[1].second);
  ASSERT_TRUE(next.ok());
  const GenerationPaths paths = GenerationPaths::For(db);

  int checked = 0;
  ReplayOptions opts;
  opts.progress = [&](const ReplayProgress&) {
    auto gens = ListGenerations(paths);
    ASSERT_TRUE(gens.ok()) << gens.status();
    for (const GenerationEntry& g : *gens) {
      if (!g.building || checked > 0) continue;
      const std::string path = paths.Generation(g.name);
      StoreOptions so;
      so.read_only = true;
      auto opened = Store::Open(path, so);
      EXPECT_TRUE(absl::IsFailedPrecondition(opened.status()))
          << opened.status();
      auto r = RunProcess({ChatkpiBinary(), "snapshot", "--db", path, "--from",
                           kFrom, "--to", kTo});
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_NE(r.err.find("is a generation that `chatkpi replay` is "
                           "building"),
                std::string::npos)
          << r.err;
      ++checked;
    }
  };
  auto report = chatkpi::Replay(db, *next, opts);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(checked, 1);
  const std::string rules = RulesFile(dir, "slow30", kRuleSets[1].second);
  EXPECT_EQ(Snapshot(db), FreshSnapshot(dir, {events}, rules));
  fs::remove_all(dir);
}

TEST(Generations, NamesLayoutAndGarbage) {
  EXPECT_EQ(VersionDirName("v2"), "v2");
  EXPECT_EQ(VersionDirName("2026/12 新规则"), "2026_12_" + std::string(9, '_'));
  EXPECT_EQ(VersionDirName(".hidden"), "_.hidden");
  EXPECT_EQ(VersionDirName(""), "_");

  const std::string dir = TempDir("generations");
  const GenerationPaths paths = GenerationPaths::For(dir + "/db/");
  EXPECT_EQ(paths.db, dir + "/db");
  {
    auto store = Store::Open(paths.db, StoreOptions());
    ASSERT_TRUE(store.ok());
  }
  auto live = ResolveLive(paths);
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->plain);
  auto name = ConvertLayout(paths, "default");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "default-1");
  auto after = ResolveLive(paths);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->plain);
  EXPECT_EQ(after->name, "default-1");
  // Same directory, now under its generation name.
  EXPECT_EQ(after->ino, live->ino);
  EXPECT_EQ(*NewGenerationName(paths, "v 2"), "v_2-2");

  // A half-built generation and a retired one are collected; the live one
  // never, even with a stale marker.
  fs::create_directories(paths.Generation("v2-2"));
  ASSERT_TRUE(CreateMarker(paths.BuildingMarker("v2-2")).ok());
  // The switch unmarks the generation it makes live, before it returns
  // to a caller that still holds the generation lock.
  fs::create_directories(paths.Generation("v3-3"));
  ASSERT_TRUE(CreateMarker(paths.BuildingMarker("v3-3")).ok());
  ASSERT_TRUE(IsBuildingGeneration(paths.Generation("v3-3")));
  ASSERT_TRUE(SwitchLive(paths, "v3-3").ok());
  EXPECT_FALSE(MarkerExists(paths.BuildingMarker("v3-3")));
  // A crash between the switch and the unmarking leaves a marker that does
  // not stop the live generation from opening.
  ASSERT_TRUE(CreateMarker(paths.BuildingMarker("v3-3")).ok());
  EXPECT_FALSE(IsBuildingGeneration(paths.Generation("v3-3")));
  EXPECT_TRUE(IsBuildingGeneration(paths.Generation("v2-2")));
  ASSERT_TRUE(CreateMarker(paths.RetiredMarker("default-1")).ok());
  fs::create_directories(paths.SecondaryDir());
  auto gone = CollectGenerations(paths);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(*gone, (std::vector<std::string>{"default-1", "v2-2"}));
  auto gens = ListGenerations(paths);
  ASSERT_TRUE(gens.ok());
  ASSERT_EQ(gens->size(), 1u);
  EXPECT_EQ((*gens)[0].name, "v3-3");
  EXPECT_TRUE((*gens)[0].live);
  EXPECT_FALSE((*gens)[0].building);
  // Numbers keep increasing past deleted generations.
  EXPECT_EQ(*NewGenerationName(paths, "v4"), "v4-4");
  fs::remove_all(dir);
}

// RocksDB lets go of a generation's LOCK before the closing writer writes
// its commit record (store/store.h): a collector that finds the generation
// free can walk it while that file comes and goes. It deletes the whole
// generation all the same, and says so.
TEST(Generations, RetiredGenerationIsDeletedWhileItsWriterFinishesClosing) {
  const std::string dir = TempDir("generations_close_tail");
  const GenerationPaths paths = GenerationPaths::For(dir + "/db");
  {
    auto store = Store::Open(paths.db, StoreOptions());
    ASSERT_TRUE(store.ok());
  }
  ASSERT_TRUE(ConvertLayout(paths, "default").ok());
  fs::create_directories(paths.Generation("v2-2"));
  ASSERT_TRUE(SwitchLive(paths, "v2-2").ok());
  const std::string old = paths.Generation("default-1");
  for (int round = 0; round < 10; ++round) {
    fs::create_directories(old);
    for (int i = 0; i < 50; ++i) {
      std::ofstream(absl::StrCat(old, "/", i, ".sst")) << std::string(64, 'x');
    }
    ASSERT_TRUE(CreateMarker(paths.RetiredMarker("default-1")).ok());
    std::atomic<bool> started = false;
    std::thread closing([&] {
      CommitRecord record;
      record.commits = 1;
      // Until the generation is gone, as a writer closing it last would.
      for (int i = 0; i < 2000; ++i) {
        if (!WriteCommitRecord(old, record, /*sync=*/false).ok()) break;
        started = true;
      }
    });
    while (!started) std::this_thread::yield();
    auto gone = CollectGenerations(paths);
    closing.join();
    ASSERT_TRUE(gone.ok()) << "round " << round << ": " << gone.status();
    EXPECT_EQ(*gone, std::vector<std::string>{"default-1"});
    EXPECT_FALSE(fs::exists(old));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

// Whole-process tests of what `chatkpi ingest` reads (docs/engine.md,
// Inputs): FIFOs, process substitution, pipes on "-" and /dev/stdin give the
// reference numbers; a file still being written keeps its cut last line for
// the next run; --follow reads a growing, rotated file; a missing or
// unreadable input, or an unreadable --db, fails before a store is made.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/process_util.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::ExpectStoreMatchesReference;
using testing::Ingest;
using testing::ReadFile;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

const absl::CivilDay kFrom(2026, 10, 30);
const absl::CivilDay kTo(2026, 12, 2);

// ~6,000 lines, ~900 KB: far more than a pipe buffer and a 4 KiB
// fingerprint, with duplicates and malformed lines.
std::string Gen(const std::string& dir, const std::string& seed) {
  return testing::Gen(
      dir, {"--seed", seed, "--agents", "5", "--buyers", "300", "--shuffle",
            "--duplicates", "0.1", "--malformed", "0.02"});
}

testing::ProcessResult Shell(const std::string& script) {
  return RunProcess({"/bin/bash", "-c", script});
}

// Polled beside a writer (--follow): a failed run is a state to wait past,
// not a test failure.
std::string Snapshot(const std::string& db) {
  auto r = RunProcess({ChatkpiBinary(), "snapshot", "--db", db, "--from",
                       "2026-10-30", "--to", "2026-12-02"});
  return r.exit_code == 0 ? r.out : "failed: " + r.err;
}

std::string Stats(const std::string& db) {
  auto r = RunProcess({ChatkpiBinary(), "stats", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

void Append(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

// Polls `done` every 50 ms for up to a minute: the waits in these tests are
// on what the store shows, never on how long something takes.
bool WaitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

TEST(InputEdges, FifoIsReadOnceAndGivesTheReferenceNumbers) {
  std::string dir = TempDir("fifo");
  std::string file = Gen(dir, "21");
  const std::string content = ReadFile(file);
  const std::string fifo = dir + "/pipe";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // A writer that gets EPIPE must not kill the test.
  signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> ingest_done{false};
  size_t written = 0;
  std::thread writer([&] {
    int fd = -1;
    // Non-blocking open: ENXIO until a reader has the FIFO open.
    while (fd < 0 && !ingest_done.load()) {
      fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (fd < 0) return;
    fcntl(fd, F_SETFL, 0);
    while (written < content.size()) {
      ssize_t n = write(fd, content.data() + written, content.size() - written);
      if (n <= 0) break;  // EPIPE: the reader went away
      written += static_cast<size_t>(n);
    }
    close(fd);
    // A reader that opens the FIFO a second time would wait for a writer
    // forever: give it an empty one, so that it ends (and the test fails
    // on its numbers instead of hanging).
    while (!ingest_done.load()) {
      int again = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (again >= 0) close(again);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  auto r = Ingest(dir + "/db", {fifo});
  ingest_done = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(written, content.size());
  ExpectStoreMatchesReference(dir + "/db", file, kFrom, kTo);
  std::filesystem::remove_all(dir);
}

TEST(InputEdges, ProcessSubstitutionPipesAndStdinGiveTheReferenceNumbers) {
  std::string dir = TempDir("pipes");
  std::string file = Gen(dir, "22");
  const std::string bin = ChatkpiBinary();
  struct Case {
    std::string name;
    std::string script;  // DB stands for the store
  } cases[] = {
      {"process substitution",
       absl::StrCat(bin, " ingest --db DB <(cat ", file, ")")},
      {"pipe on -",
       absl::StrCat("cat ", file, " | ", bin, " ingest --db DB -")},
      {"pipe on /dev/stdin",
       absl::StrCat("cat ", file, " | ", bin, " ingest --db DB /dev/stdin")},
      {"file on -", absl::StrCat(bin, " ingest --db DB - < ", file)},
      {"file on /dev/stdin",
       absl::StrCat(bin, " ingest --db DB /dev/stdin < ", file)},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string db = absl::StrCat(dir, "/db", i++);
    std::string script = c.script;
    script.replace(script.find("DB"), 2, db);
    auto r = Shell(script);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ExpectStoreMatchesReference(db, file, kFrom, kTo);
    // A second feed of the same stream changes nothing, dead letters
    // included.
    const std::string before = Snapshot(db);
    r = Shell(script);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Snapshot(db), before);
  }
  std::filesystem::remove_all(dir);
}

int64_t DeadLetters(const std::string& db) {
  const std::string stats = Stats(db);
  const std::string key = "\"dead_letters\": ";
  size_t at = stats.find(key);
  EXPECT_NE(at, std::string::npos) << stats;
  return at == std::string::npos ? -1
                                 : std::stoll(stats.substr(at + key.size()));
}

TEST(InputEdges, StdinDeadLettersKeepTheirIdentityAcrossRuns) {
  std::string dir = TempDir("stdin-dead");
  const std::string db = dir + "/db";
  WriteFile(dir + "/a", "not json A\n");
  WriteFile(dir + "/b", "not json B\n");
  WriteFile(dir + "/aa", "not json A\nnot json A\n");
  auto feed = [&](const std::string& name) {
    auto r = Shell(absl::StrCat("cat ", dir, "/", name, " | ", ChatkpiBinary(),
                                " ingest --db ", db, " -"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  feed("a");
  EXPECT_EQ(DeadLetters(db), 1);
  // Line 1 of another stream is another dead letter.
  feed("b");
  EXPECT_EQ(DeadLetters(db), 2);
  // The same stream again is the same dead letter.
  feed("a");
  EXPECT_EQ(DeadLetters(db), 2);
  // Two such lines in one stream are two: the first is the one of "a".
  feed("aa");
  EXPECT_EQ(DeadLetters(db), 3);
  std::filesystem::remove_all(dir);
}

TEST(InputEdges, CutLastLineIsLeftForTheNextRun) {
  std::string dir = TempDir("growing");
  std::string file = Gen(dir, "23");
  const std::string content = ReadFile(file);
  ASSERT_EQ(content.back(), '\n');
  // The writer has written half of the last line so far.
  const size_t last = content.rfind('\n', content.size() - 2) + 1;
  const size_t cut = last + (content.size() - last) / 2;
  const std::string growing = dir + "/growing.jsonl";
  WriteFile(growing, content.substr(0, cut));
  WriteFile(dir + "/complete.jsonl", content.substr(0, last));
  int64_t lines = 0;
  for (char c : content) lines += c == '\n';

  const std::string db = dir + "/db";
  auto r = Ingest(db, {growing});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("incomplete last line left for the next run"),
            std::string::npos)
      << r.err;
  // Exactly the complete lines: the cut one is neither an event nor a dead
  // letter, and the stored position stays before it.
  ExpectStoreMatchesReference(db, dir + "/complete.jsonl", kFrom, kTo);
  const std::string canonical =
      std::filesystem::weakly_canonical(growing).string();
  EXPECT_NE(
      Stats(db).find(absl::StrCat("\"", canonical, "\": \"", lines - 1, "\"")),
      std::string::npos)
      << Stats(db);

  // The writer finishes the line: the next run takes it, once.
  Append(growing, content.substr(cut));
  r = Ingest(db, {growing});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("incomplete"), std::string::npos) << r.err;
  ExpectStoreMatchesReference(db, file, kFrom, kTo);
  EXPECT_NE(
      Stats(db).find(absl::StrCat("\"", canonical, "\": \"", lines, "\"")),
      std::string::npos)
      << Stats(db);
  std::filesystem::remove_all(dir);
}

TEST(InputEdges, LastLineWithoutNewlineThatParsesIsTaken) {
  std::string dir = TempDir("no-newline");
  std::string file = Gen(dir, "24");
  std::string content = ReadFile(file);
  // End on a valid event without its newline.
  content.pop_back();
  content +=
      "\n{\"type\":\"chat\",\"id\":\"tail-1\",\"ts\":1795087144000,"
      "\"buyer\":\"b-tail\",\"agent\":\"a-tail\",\"dir\":\"in\","
      "\"text\":\"hi\"}";
  WriteFile(file, content);
  auto r = Ingest(dir + "/db", {file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("incomplete"), std::string::npos) << r.err;
  ExpectStoreMatchesReference(dir + "/db", file, kFrom, kTo);
  std::filesystem::remove_all(dir);
}

TEST(InputEdges, FollowReadsAGrowingRotatedFileAndStopsCleanly) {
  std::string dir = TempDir("follow");
  std::string file = Gen(dir, "25");
  const std::string content = ReadFile(file);
  // Split at line boundaries into four parts, plus two bad first lines: one
  // file's line 1 and the next file's line 1 are different dead letters.
  auto at_line = [&](double fraction) {
    return content.find('\n', static_cast<size_t>(content.size() * fraction)) +
           1;
  };
  const size_t q1 = at_line(0.25), q2 = at_line(0.45), q3 = at_line(0.6),
               q4 = at_line(0.7);
  const std::string a = "first file, line 1\n" + content.substr(0, q1);
  const std::string b = content.substr(q1, q2 - q1);
  const std::string c1 = content.substr(q2, q3 - q2);
  const std::string c2 = "second file, line 1\n" + content.substr(q3, q4 - q3);
  // Longer than c2: only its first bytes tell that the file was rewritten.
  const std::string d = "third file, line 1\n" + content.substr(q4);
  WriteFile(dir + "/all.jsonl", a + b + c1 + c2 + d);
  WriteFile(dir + "/abc.jsonl", a + b + c1 + c2);
  WriteFile(dir + "/ab.jsonl", a + b);
  const std::string db = dir + "/db";
  const std::string log = dir + "/app.log";
  WriteFile(log, a);

  pid_t pid = testing::StartProcess(
      {ChatkpiBinary(), "ingest", "--db", db, "--follow", log}, "",
      dir + "/follow.err");
  // The first part, then the second in two writes that cut a line. (The
  // expected snapshots are those of plain runs on the same lines.)
  WriteFile(dir + "/a.jsonl", a);
  ASSERT_EQ(Ingest(dir + "/a", {dir + "/a.jsonl"}).exit_code, 0);
  const std::string want_a = Snapshot(dir + "/a");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want_a; }))
      << Snapshot(db) << "\nwanted\n"
      << want_a;
  const size_t mid = b.find('\n', b.size() / 2) + 10;
  Append(log, b.substr(0, mid));
  Append(log, b.substr(mid));
  ASSERT_EQ(Ingest(dir + "/ab", {dir + "/ab.jsonl"}).exit_code, 0);
  const std::string want_ab = Snapshot(dir + "/ab");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want_ab; }))
      << Snapshot(db) << "\nwanted\n"
      << want_ab;

  // Rotation: the writer renames the log, still appends to it, then opens a
  // new one under the old name.
  ASSERT_EQ(rename(log.c_str(), (log + ".1").c_str()), 0);
  Append(log + ".1", c1);
  WriteFile(log, c2);
  ASSERT_EQ(Ingest(dir + "/abc", {dir + "/abc.jsonl"}).exit_code, 0);
  const std::string want_abc = Snapshot(dir + "/abc");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want_abc; }))
      << Snapshot(db) << "\nwanted\n"
      << want_abc;

  // copytruncate: the same file cut to nothing and written anew.
  WriteFile(log, d);
  ASSERT_EQ(Ingest(dir + "/all", {dir + "/all.jsonl"}).exit_code, 0);
  const std::string want_all = Snapshot(dir + "/all");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want_all; }))
      << Snapshot(db) << "\nwanted\n"
      << want_all;

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(testing::WaitProcess(pid), 0) << ReadFile(dir + "/follow.err");
  const std::string err = ReadFile(dir + "/follow.err");
  EXPECT_NE(err.find("rotated"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  ExpectStoreMatchesReference(db, dir + "/all.jsonl", kFrom, kTo);
  std::filesystem::remove_all(dir);
}

// The lines of `content` numbered in [first, last] (1-based), each with its
// newline.
std::string Lines(const std::string& content, int first, int last) {
  std::string out;
  int number = 1;
  for (size_t at = 0; at < content.size() && number <= last; ++number) {
    const size_t end = content.find('\n', at) + 1;
    if (number >= first) out += content.substr(at, end - at);
    at = end;
  }
  return out;
}

// A file rewritten with the same first 4 KiB: its stored position's line
// count means nothing now. Resumed there, the first rewrite (an export
// again, with the lines a first export missed) lost events and the second
// (shorter) was all "already taken in", both with exit 0.
TEST(InputEdges, FileRewrittenWithTheSameFirstBytesIsReadAgain) {
  std::string dir = TempDir("rewritten");
  // No bad lines: a file read again names its dead letters anew.
  const std::string content = ReadFile(testing::Gen(
      dir, {"--seed", "31", "--agents", "5", "--buyers", "300", "--shuffle"}));
  int lines = 0;
  for (char c : content) lines += c == '\n';
  ASSERT_GT(lines, 5000);
  const std::string file = dir + "/export.jsonl";
  const std::string db = dir + "/db";
  // An export of the month so far, some late lines missing, then the
  // whole month exported again.
  std::string partial;
  for (int n = 1; n <= 4000; ++n) {
    if (n <= 100 || n % 20 != 0) partial += Lines(content, n, n);
  }
  WriteFile(file, partial);
  ASSERT_EQ(Ingest(db, {file}).exit_code, 0);
  WriteFile(file, content);
  auto r = Ingest(db, {file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("reading it from its first line"), std::string::npos)
      << r.err;
  ExpectStoreMatchesReference(db, file, kFrom, kTo);
  // Unchanged, it is resumed: nothing is read again.
  r = Ingest(db, {file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("first line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(absl::StrCat(lines, " lines already taken in")),
            std::string::npos)
      << r.err;

  // Rewritten shorter, its first 2,000 lines the same, then other lines.
  const std::string db2 = dir + "/db2";
  WriteFile(file, Lines(content, 1, 4000));
  ASSERT_EQ(Ingest(db2, {file}).exit_code, 0);
  WriteFile(file, Lines(content, 1, 2000) + Lines(content, 4001, lines));
  r = Ingest(db2, {file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("reading it from its first line"), std::string::npos)
      << r.err;
  WriteFile(dir + "/all.jsonl", content);
  ExpectStoreMatchesReference(db2, dir + "/all.jsonl", kFrom, kTo);
  std::filesystem::remove_all(dir);
}

// `--follow` of a file cut and rewritten with the same first 4 KiB said it
// read it from its first line, then skipped its lines as taken in.
TEST(InputEdges, FollowedFileRewrittenShorterIsReadAgain) {
  std::string dir = TempDir("follow-rewritten");
  const std::string content = ReadFile(testing::Gen(
      dir, {"--seed", "32", "--agents", "5", "--buyers", "300", "--shuffle"}));
  int lines = 0;
  for (char c : content) lines += c == '\n';
  ASSERT_GT(lines, 5000);
  const std::string log = dir + "/app.log";
  const std::string db = dir + "/db";
  WriteFile(log, Lines(content, 1, 4000));
  WriteFile(dir + "/first.jsonl", Lines(content, 1, 4000));
  ASSERT_EQ(Ingest(dir + "/first", {dir + "/first.jsonl"}).exit_code, 0);
  const std::string want_first = Snapshot(dir + "/first");
  pid_t pid = testing::StartProcess(
      {ChatkpiBinary(), "ingest", "--db", db, "--follow", log}, "",
      dir + "/follow.err");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want_first; }))
      << Snapshot(db);
  WriteFile(log, Lines(content, 1, 2000) + Lines(content, 4001, lines));
  WriteFile(dir + "/all.jsonl", content);
  ASSERT_EQ(Ingest(dir + "/all", {dir + "/all.jsonl"}).exit_code, 0);
  const std::string want_all = Snapshot(dir + "/all");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want_all; }))
      << Snapshot(db);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(testing::WaitProcess(pid), 0) << ReadFile(dir + "/follow.err");
  ExpectStoreMatchesReference(db, dir + "/all.jsonl", kFrom, kTo);
  std::filesystem::remove_all(dir);
}

// One file named three more times (the same path, a symlink, a hard link):
// two readers of it counted its dead letters twice.
TEST(InputEdges, FollowTakesAFileNamedTwiceOnce) {
  std::string dir = TempDir("follow-twice");
  const std::string file = Gen(dir, "33");
  const std::string db = dir + "/db";
  std::filesystem::create_symlink(file, dir + "/link.jsonl");
  std::filesystem::create_hard_link(file, dir + "/hard.jsonl");
  pid_t pid = testing::StartProcess(
      {ChatkpiBinary(), "ingest", "--db", db, "--follow", file, file,
       dir + "/link.jsonl", dir + "/hard.jsonl"},
      "", dir + "/follow.err");
  ASSERT_EQ(Ingest(dir + "/ref", {file}).exit_code, 0);
  const std::string want = Snapshot(dir + "/ref");
  EXPECT_TRUE(WaitFor([&] { return Snapshot(db) == want; })) << Snapshot(db);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(testing::WaitProcess(pid), 0) << ReadFile(dir + "/follow.err");
  const std::string err = ReadFile(dir + "/follow.err");
  EXPECT_NE(err.find("hard.jsonl: the same file as"), std::string::npos) << err;
  ExpectStoreMatchesReference(db, file, kFrom, kTo);
  std::filesystem::remove_all(dir);
}

TEST(InputEdges, MissingFileCreatesNoStore) {
  std::string dir = TempDir("missing");
  WriteFile(dir + "/good.jsonl", "");
  auto r = Ingest(dir + "/db", {dir + "/good.jsonl", dir + "/missing.jsonl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.jsonl: no such file"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/db"));
  std::filesystem::remove_all(dir);
}

// Runs argv without the capabilities that let root ignore file modes (tests
// often run as root), so that a mode of 000 is refused as it would be to
// any user.
testing::ProcessResult RunWithoutOverride(std::vector<std::string> argv) {
  if (geteuid() == 0) {
    argv.insert(
        argv.begin(),
        {"/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search"});
  }
  return RunProcess(argv);
}

TEST(InputEdges, PermissionErrorsSayPermissionDenied) {
  std::string dir = TempDir("denied");
  std::string file = dir + "/events.jsonl";
  WriteFile(file, "not json\n");
  ASSERT_EQ(Ingest(dir + "/db", {file}).exit_code, 0);

  ASSERT_EQ(chmod(file.c_str(), 0), 0);
  auto r = RunWithoutOverride(
      {ChatkpiBinary(), "ingest", "--db", dir + "/new", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("events.jsonl: permission denied"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/new"));
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);

  ASSERT_EQ(chmod((dir + "/db").c_str(), 0), 0);
  for (const char* cmd : {"ingest", "snapshot", "stats"}) {
    std::vector<std::string> argv = {ChatkpiBinary(), cmd, "--db", dir + "/db"};
    if (std::string(cmd) == "ingest") argv.push_back(file);
    if (std::string(cmd) == "snapshot") {
      argv.insert(argv.end(), {"--from", "2026-11-01", "--to", "2026-11-30"});
    }
    r = RunWithoutOverride(argv);
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(r.err.find("permission denied"), std::string::npos)
        << cmd << ": " << r.err;
    EXPECT_EQ(r.err.find("not a chatkpi store"), std::string::npos)
        << cmd << ": " << r.err;
  }
  ASSERT_EQ(chmod((dir + "/db").c_str(), 0755), 0);
  EXPECT_EQ(DeadLetters(dir + "/db"), 1);
  std::filesystem::remove_all(dir);
}

// A --db that is a file was reported as "permission denied", even to root.
TEST(InputEdges, DbThatIsAFileSaysNotADirectory) {
  std::string dir = TempDir("db-file");
  const std::string file = dir + "/events.jsonl";
  WriteFile(file, "not json\n");
  const std::string db = dir + "/notes.txt";
  WriteFile(db, "kept\n");
  for (const char* cmd : {"ingest", "snapshot", "stats"}) {
    std::vector<std::string> argv = {ChatkpiBinary(), cmd, "--db", db};
    if (std::string(cmd) == "ingest") argv.push_back(file);
    if (std::string(cmd) == "snapshot") {
      argv.insert(argv.end(), {"--from", "2026-11-01", "--to", "2026-11-30"});
    }
    auto r = RunProcess(argv);
    EXPECT_NE(r.exit_code, 0) << cmd;
    EXPECT_NE(r.err.find("notes.txt is not a directory"), std::string::npos)
        << cmd << ": " << r.err;
  }
  EXPECT_EQ(ReadFile(db), "kept\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi

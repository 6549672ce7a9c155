// Whole-process tests of day-to-day operation: the command line's help and
// flag rules (tools/args.h), `run --port` exporting the ingest metrics of
// docs/http_api.md, and SIGTERM ending `serve --follow` and `run --port`
// with their /api/live streams closed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/kafka_test_util.h"
#include "tests/raw_connection.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RunProcess;
using testing::TempDir;
using testing::WriteFile;

const char kToken[] = "ops-test-token-0123456789abcdef";

const std::vector<std::string> kCommands = {
    "ingest",       "snapshot",  "check",   "score", "assess",
    "roster",       "statement", "replay",  "diff",  "stats",
    "dead-letters", "backup",    "restore", "gen",   "serve",
    "run",          "produce",   "broker",  "demo",  "convert-config"};

TEST(Cli, EveryCommandAnswersHelp) {
  for (const std::string& cmd : kCommands) {
    auto r = RunProcess({ChatkpiBinary(), cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_EQ(r.out.rfind("usage: chatkpi " + cmd, 0), 0u) << r.out;
    EXPECT_NE(r.out.find("exit codes:"), std::string::npos) << r.out;
    // The same text from `chatkpi help CMD`.
    auto h = RunProcess({ChatkpiBinary(), "help", cmd});
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_EQ(h.out, r.out) << cmd;
  }
  // Flags come from the declaration the parser uses.
  auto r = RunProcess({ChatkpiBinary(), "ingest", "--help"});
  for (const char* flag :
       {"--db DIR", "--rules FILE", "--commit-every N", "--max-line-bytes N"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
  }
  r = RunProcess({ChatkpiBinary(), "run", "--help"});
  for (const char* flag : {"--brokers HOST:PORT", "--port N",
                           "--read-timeout-ms MS", "--until-caught-up"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
  }
  // `check` documents its own exit code.
  r = RunProcess({ChatkpiBinary(), "check", "--help"});
  EXPECT_NE(r.out.find("3 some line invalid"), std::string::npos) << r.out;
  // -h too, and after other flags.
  r = RunProcess({ChatkpiBinary(), "snapshot", "--db", "x", "-h"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("usage: chatkpi snapshot", 0), 0u) << r.out;
}

TEST(Cli, HelpListsEveryCommand) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{ChatkpiBinary(), "help"},
        std::vector<std::string>{ChatkpiBinary(), "--help"}}) {
    auto r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 0);
    for (const std::string& cmd : kCommands) {
      EXPECT_NE(r.out.find("\n  " + cmd + " "), std::string::npos)
          << cmd << "\n"
          << r.out;
    }
    EXPECT_NE(r.out.find("3 `check` found invalid lines"), std::string::npos);
  }
  auto r = RunProcess({ChatkpiBinary(), "help", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'nosuch'"), std::string::npos);
  r = RunProcess({ChatkpiBinary()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, RepeatedFlagsAreRefused) {
  const std::string dir = TempDir("cli_repeated");
  auto r =
      RunProcess({ChatkpiBinary(), "snapshot", "--db", dir + "/a", "--db",
                  dir + "/b", "--from", "2026-11-01", "--to", "2026-11-30"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--db is given more than once"), std::string::npos)
      << r.err;
  r = RunProcess({ChatkpiBinary(), "check", "--quiet", "--quiet", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--quiet is given more than once"), std::string::npos)
      << r.err;
  r = RunProcess({ChatkpiBinary(), "gen", "--seed=1", "--seed", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--seed is given more than once"), std::string::npos);
  // `run --config FILE`: the command line may override the file once ...
  // (the file in the old syntax: read, with a deprecation warning)
  WriteFile(dir + "/run.conf", "db = " + dir + "/from-file\ngroup = g\n");
  r = RunProcess({ChatkpiBinary(), "run", "--config", dir + "/run.conf", "--db",
                  dir + "/db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--brokers is required"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chatkpi run: warning: " + dir +
                       "/run.conf is in the old config syntax"),
            std::string::npos)
      << r.err;
  // A TOML file warns about nothing; a misspelt setting is refused with
  // its place before anything starts.
  WriteFile(dir + "/run.toml", "db = \"" + dir + "/from-file\"\n");
  r = RunProcess({ChatkpiBinary(), "run", "--config", dir + "/run.toml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "chatkpi run: --brokers is required\n");
  WriteFile(dir + "/run.toml", "brokers = \"mock\"\ngroupp = \"g\"\n");
  r = RunProcess({ChatkpiBinary(), "run", "--config", dir + "/run.toml", "--db",
                  dir + "/db-toml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dir + "/run.toml:2:1: unknown setting 'groupp'"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/db-toml"));
  // ... but not twice, and --config itself only once.
  r = RunProcess({ChatkpiBinary(), "run", "--config", dir + "/run.conf", "--db",
                  dir + "/db", "--db", dir + "/db2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--db is given more than once"), std::string::npos)
      << r.err;
  r = RunProcess({ChatkpiBinary(), "run", "--config", dir + "/run.conf",
                  "--config", dir + "/run.conf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--config is given more than once"), std::string::npos)
      << r.err;
}

std::string TokenFile(const std::string& dir) {
  const std::string path = dir + "/token";
  WriteFile(path, absl::StrCat(kToken, "\n"));
  chmod(path.c_str(), 0600);
  return path;
}

// The sum of a metric's samples whose line starts with `prefix`.
int64_t SumSamples(const std::string& text, const std::string& prefix) {
  int64_t sum = 0;
  size_t at = 0;
  while ((at = text.find("\n" + prefix, at)) != std::string::npos) {
    const size_t end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, end - at - 1);
    int64_t v = 0;
    if (absl::SimpleAtoi(line.substr(line.rfind(' ') + 1), &v)) sum += v;
    at = end;
  }
  return sum;
}

// `stats` counted the days from the first to the last ("count": 32 for a
// store with activity on 3 days); it counts the days that hold activity.
TEST(OpsProcess, StatsCountsTheDaysWithActivity) {
  const std::string dir = TempDir("stats_days");
  std::string lines;
  for (const char* day :
       {"2026-11-01 10:00:00", "2026-11-02 10:00:00", "2026-12-02 10:00:00"}) {
    absl::StrAppend(&lines, R"({"type":"chat","id":")", day, R"(","ts":)",
                    testing::Local(day),
                    R"(,"buyer":"u1","agent":"shop:a","dir":"in"})", "\n");
  }
  WriteFile(dir + "/ev.jsonl", lines);
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/ev.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"days\": {\"first\": \"2026-11-01\", \"last\": "
                       "\"2026-12-02\", \"count\": 3}"),
            std::string::npos)
      << r.out;
  std::filesystem::remove_all(dir);
}

// docs/http_api.md "Metrics": `run --port` exports the ingest series, and
// what chatkpi_ingested_events_total counts is what the store took in.
// SIGTERM then stops it (exit 0) with its /api/live stream closed.
TEST(OpsProcess, RunPortExportsIngestMetricsAndStopsOnSigterm) {
  const std::string dir = TempDir("ops_run_metrics");
  testing::BrokerProcess broker(dir, 2);
  ASSERT_FALSE(broker.bootstrap().empty());
  auto gen = RunProcess({ChatkpiBinary(), "gen", "--events", "3000", "--out",
                         dir + "/events.jsonl"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ASSERT_EQ(testing::RunChatkpi({"produce", "--brokers", broker.bootstrap(),
                                 dir + "/events.jsonl"}),
            0);
  std::vector<std::string> argv =
      testing::MemberArgs(broker.bootstrap(), "ops", dir + "/db");
  // A wall-screen token file others may read: warned about, as by serve.
  WriteFile(dir + "/wall", "wall-token-0123456789abcdef\n");
  chmod((dir + "/wall").c_str(), 0644);
  for (const std::string& a :
       {std::string("--port"), std::string("0"), std::string("--token-file"),
        TokenFile(dir), std::string("--dashboard-token-file"), dir + "/wall"}) {
    argv.push_back(a);
  }
  testing::ChildProcess run(argv, dir + "/run.out", dir + "/run.err");
  const int port = testing::ListeningPort(run);
  ASSERT_GT(port, 0) << run.Stderr();
  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth(kToken);
  // gen writes no duplicates or malformed lines unless asked: every line
  // is one event.
  const std::string events = testing::ReadFile(dir + "/events.jsonl");
  const int64_t lines = std::count(events.begin(), events.end(), '\n');
  ASSERT_GT(lines, 1000);
  std::string metrics;
  const bool all = testing::WaitUntil(absl::Seconds(60), [&] {
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return false;
    metrics = r->body;
    return metrics.find("\nchatkpi_ingested_events_total{source=\"chat/") !=
               std::string::npos &&
           metrics.find("\nchatkpi_ingest_lag_messages{source=\"orders/") !=
               std::string::npos &&
           metrics.find("\nchatkpi_commit_latency_seconds_count ") !=
               std::string::npos &&
           SumSamples(metrics, "chatkpi_ingested_events_total{") == lines;
  });
  ASSERT_TRUE(all) << metrics << run.Stderr();
  auto live = testing::RequestLive(port, kToken);
  ASSERT_TRUE(live->connected());
  ASSERT_TRUE(live->ReadUntil("event: today")) << live->received();
  run.Signal(SIGTERM);
  EXPECT_EQ(run.Wait(absl::Seconds(10)), std::optional<int>(0)) << run.Stderr();
  EXPECT_TRUE(live->ReadToEnd());
  EXPECT_NE(run.Stderr().find("chatkpi run: WARNING: " + dir +
                              "/wall is readable by other users"),
            std::string::npos)
      << run.Stderr();
  EXPECT_EQ(run.Stderr().find(dir + "/token is readable"), std::string::npos);
  auto stats = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find(absl::StrCat("{\"events\": ", lines, ",")),
            std::string::npos)
      << lines << " " << stats.out;
}

// docs/replay.md "Rules files": `run` without --rules works under the
// store's rules, as `ingest` does, instead of refusing them for the
// defaults.
TEST(OpsProcess, RunWithoutRulesUsesTheStoresRules) {
  const std::string dir = TempDir("ops_run_rules");
  WriteFile(dir + "/slow30.json",
            R"({"version": "slow30", "response": {"slow_s": 30}})");
  WriteFile(
      dir + "/e.jsonl",
      R"({"type":"chat","id":"c1","ts":1794272400000,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})"
      "\n");
  auto r = RunProcess({ChatkpiBinary(), "ingest", "--db", dir + "/db",
                       "--rules", dir + "/slow30.json", dir + "/e.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({ChatkpiBinary(), "run", "--brokers", "mock", "--db",
                  dir + "/db", "--until-caught-up", "--partitions", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("caught up"), std::string::npos) << r.err;
  r = RunProcess({ChatkpiBinary(), "stats", "--db", dir + "/db"});
  EXPECT_NE(r.out.find("\"rules\": {\"version\": \"slow30\""),
            std::string::npos)
      << r.out;
}

TEST(OpsProcess, SigtermStopsServeFollowWithItsStreamsClosed) {
  const std::string dir = TempDir("ops_serve_stop");
  WriteFile(
      dir + "/e.jsonl",
      R"({"type":"chat","id":"c1","ts":1794272400000,"buyer":"u1","agent":"shop:a","dir":"in","text":"在吗"})"
      "\n");
  auto r = RunProcess(
      {ChatkpiBinary(), "ingest", "--db", dir + "/db", dir + "/e.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  testing::ChildProcess serve({ChatkpiBinary(), "serve", "--db", dir + "/db",
                               "--port", "0", "--token-file", TokenFile(dir),
                               "--follow", "--read-timeout-ms", "60000"},
                              dir + "/serve.out", dir + "/serve.err");
  const int port = testing::ListeningPort(serve);
  ASSERT_GT(port, 0) << serve.Stderr();
  auto a = testing::RequestLive(port, kToken);
  auto b = testing::RequestLive(port, kToken);
  ASSERT_TRUE(a->ReadUntil("event: today")) << a->received();
  ASSERT_TRUE(b->ReadUntil("event: today")) << b->received();
  // A request still arriving (60 s allowed) must not hold up the stop: it
  // once kept a worker, and so the exit, until its read timeout.
  testing::RawConnection partial(port);
  ASSERT_TRUE(partial.connected());
  ASSERT_TRUE(partial.Send("GET /api/health HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(absl::Seconds(10)), std::optional<int>(0))
      << serve.Stderr();
  EXPECT_TRUE(a->ReadToEnd());
  EXPECT_TRUE(b->ReadToEnd());
  EXPECT_TRUE(partial.ReadToEnd());
}

}  // namespace
}  // namespace chatkpi

// The dashboard in a real browser: runs tests/e2e/dashboard.e2e.mjs (Debian
// chromium driven by playwright-core) against the chatkpi binary under test,
// with `serve --follow` beside `ingest` runs, and with `run --brokers mock`
// serving the page itself. Skipped, saying why, where chromium or the
// test's node_modules is missing (tests/e2e/setup.sh installs both).
//
// The follower test's screenshot goes to the build directory, or to
// $CHATKPI_SCREENSHOT (e.g. docs/dashboard.png to refresh the README's
// picture).
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/subprocess.h"

namespace chatkpi {
namespace {

using testing::ChatkpiBinary;
using testing::RunProcess;
using testing::SourceDir;

// `name` found on $PATH, or "".
std::string OnPath(const std::string& name) {
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Runs tests/e2e/`script` with `flags`; skips when it cannot run.
void RunScript(const std::string& script,
               const std::vector<std::string>& flags) {
  namespace fs = std::filesystem;
  const char* chromium_env = getenv("CHATKPI_CHROMIUM");
  const std::string chromium =
      chromium_env != nullptr ? chromium_env : "/usr/bin/chromium";
  const std::string e2e = SourceDir() + "/tests/e2e";
  const std::string node = OnPath("node");
  if (access(chromium.c_str(), X_OK) != 0) {
    GTEST_SKIP() << chromium << " is missing: run tests/e2e/setup.sh "
                 << "(apt-get install chromium)";
  }
  if (node.empty()) GTEST_SKIP() << "node is missing: run tests/e2e/setup.sh";
  if (!fs::exists(e2e + "/node_modules/playwright-core")) {
    GTEST_SKIP() << e2e << "/node_modules/playwright-core is missing: run "
                 << "tests/e2e/setup.sh (npm ci in tests/e2e)";
  }
  std::vector<std::string> argv = {node, e2e + "/" + script, "--chatkpi",
                                   ChatkpiBinary()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" passed, 0 failed"), std::string::npos) << r.out;
}

// Runs the browser test with `--engine engine`.
void RunE2E(const std::string& engine, const std::string& screenshot) {
  RunScript("dashboard.e2e.mjs",
            {"--engine", engine, "--screenshot", screenshot});
}

std::string BuildFile(const std::string& name) {
  return (std::filesystem::path(ChatkpiBinary()).parent_path() / name).string();
}

// `chatkpi ingest` commits, `chatkpi serve --follow` serves; serve restarts
// once and the page must come back by itself.
TEST(DashboardE2E, FollowerPageShowsEachCommit) {
  const char* shot = getenv("CHATKPI_SCREENSHOT");
  RunE2E("follow", shot != nullptr ? shot : BuildFile("dashboard.png"));
}

// `chatkpi run --brokers mock` consumes `chatkpi produce`'s messages and
// serves the page from the committing process.
TEST(DashboardE2E, RunPageShowsEachCommit) {
  RunE2E("run", BuildFile("dashboard-run.png"));
}

// The wall screen for the people in front of it: 40 agents paged on one
// 1080p screen, a phone, a wrong token, the clock's zone, durations,
// missing month inputs, stale figures, the favicon (wallscreen.e2e.mjs).
// Screenshots go to the build directory, or to $CHATKPI_SHOTS_DIR (docs/ to
// refresh docs/dashboard-1920x1080.png and docs/dashboard-390x844.png).
TEST(DashboardE2E, WallScreenForPeople) {
  const char* shots = getenv("CHATKPI_SHOTS_DIR");
  RunScript(
      "wallscreen.e2e.mjs",
      {"--shots",
       shots != nullptr
           ? std::string(shots)
           : std::filesystem::path(ChatkpiBinary()).parent_path().string()});
}

}  // namespace
}  // namespace chatkpi

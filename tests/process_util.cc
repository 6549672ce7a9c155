#include "tests/process_util.h"

#include "gtest/gtest.h"

namespace chatkpi::testing {

ProcessResult Chatkpi(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ChatkpiBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

std::string Gen(const std::string& dir, const std::vector<std::string>& flags) {
  const std::string path = dir + "/events.jsonl";
  std::vector<std::string> args = {"gen", "--out", path};
  args.insert(args.end(), flags.begin(), flags.end());
  const ProcessResult r = Chatkpi(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

ProcessResult Ingest(const std::string& db,
                     const std::vector<std::string>& files,
                     const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"ingest", "--db", db};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), files.begin(), files.end());
  return Chatkpi(args);
}

std::string Snapshot(const std::string& db, const std::string& from,
                     const std::string& to,
                     const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"snapshot", "--db", db, "--from",
                                   from,       "--to", to};
  args.insert(args.end(), flags.begin(), flags.end());
  const ProcessResult r = Chatkpi(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

}  // namespace chatkpi::testing

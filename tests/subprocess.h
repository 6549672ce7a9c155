// Runs the chatkpi binary (or any program) from tests: whole-process checks
// of the fixed commands, crash tests with SIGKILL.
#ifndef CHATKPI_TESTS_SUBPROCESS_H_
#define CHATKPI_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace chatkpi::testing {

struct ProcessResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv to completion, capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv);

// Starts argv with stdout/stderr sent to files (empty = /dev/null).
pid_t StartProcess(const std::vector<std::string>& argv,
                   const std::string& out_file = "",
                   const std::string& err_file = "");
// Waits for pid; returns the exit code, or -signal.
int WaitProcess(pid_t pid);

// Path of the chatkpi binary under test.
std::string ChatkpiBinary();
std::string SourceDir();

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
// Writes `lines` to `path`, each ended by a newline (a JSONL file).
void WriteLines(const std::string& path, const std::vector<std::string>& lines);

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_SUBPROCESS_H_

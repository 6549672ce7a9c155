#include "tests/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/test_util.h"

namespace chatkpi::testing {
namespace {

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

void Redirect(const std::string& path, int fd) {
  int f = open(path.empty() ? "/dev/null" : path.c_str(),
               O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (f >= 0) {
    dup2(f, fd);
    close(f);
  }
}

}  // namespace

std::string ChatkpiBinary() { return CHATKPI_BINARY; }
std::string SourceDir() { return CHATKPI_SOURCE_DIR; }

pid_t StartProcess(const std::vector<std::string>& argv,
                   const std::string& out_file, const std::string& err_file) {
  std::vector<char*> args = Argv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    Redirect(out_file, 1);
    Redirect(err_file, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int WaitProcess(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1000;
  }
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

ProcessResult RunProcess(const std::vector<std::string>& argv) {
  std::string dir = TempDir("proc");
  ProcessResult r;
  pid_t pid = StartProcess(argv, dir + "/out", dir + "/err");
  r.exit_code = WaitProcess(pid);
  r.out = ReadFile(dir + "/out");
  r.err = ReadFile(dir + "/err");
  return r;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void WriteLines(const std::string& path,
                const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const std::string& line : lines) out << line << "\n";
}

}  // namespace chatkpi::testing

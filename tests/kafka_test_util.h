// Helpers for the Kafka tests: child processes (`chatkpi broker`, `chatkpi
// run` that a test SIGKILLs), a generated dataset with its file-ingest
// baseline, and the KPI rows a store holds for the shards it owns.
#ifndef CHATKPI_TESTS_KAFKA_TEST_UTIL_H_
#define CHATKPI_TESTS_KAFKA_TEST_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/counters.h"
#include "tests/subprocess.h"
#include "tools/generator.h"

namespace chatkpi::testing {

// A child process whose stdout and stderr go to files. It is SIGKILLed when
// the test process dies and when the object is destroyed.
class ChildProcess {
 public:
  // `stdin_path` empty: /dev/null.
  ChildProcess(const std::vector<std::string>& argv, std::string stdout_path,
               std::string stderr_path, const std::string& stdin_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // The exit code, or 128 + signal; nullopt if still running at `timeout`.
  std::optional<int> Wait(absl::Duration timeout);
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string stdout_path_, stderr_path_;
};

// Runs `argv` (argv[0] a path) to its end and returns its exit code.
int RunProgram(const std::vector<std::string>& argv, std::string* out = nullptr,
               std::string* err = nullptr, const std::string& stdin_path = "");
// The same for `chatkpi ARGS...`.
int RunChatkpi(const std::vector<std::string>& args, std::string* out = nullptr,
               std::string* err = nullptr);

// The port of a child's "listening on http://HOST:PORT" stderr line, waited
// for up to `timeout`; 0 if it did not appear.
int ListeningPort(const ChildProcess& child,
                  absl::Duration timeout = absl::Seconds(60));

// GET /api/snapshot of November 2026 (the generated month) from a server on
// 127.0.0.1:`port` without a token; "" unless it answers 200.
std::string MonthSnapshot(int port);

// `chatkpi broker` in a child process with topics chat, orders and dlq, and
// those `flags` add (e.g. a changelog topic). bootstrap() is empty if it did
// not start.
class BrokerProcess {
 public:
  BrokerProcess(const std::string& dir, int partitions,
                const std::vector<std::string>& flags = {});
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  ChildProcess child_;
  std::string bootstrap_;
};

// `chatkpi run` as a member of `group` on `db`, committing every 100 ms and
// reporting progress every 500 ms; callers append flags of their own.
std::vector<std::string> MemberArgs(const std::string& brokers,
                                    const std::string& group,
                                    const std::string& db);

// The partitions of a member's current assignment (from its stderr) once it
// has caught up on them; nullopt while it is joining, rebalancing or
// catching up.
std::optional<std::set<uint32_t>> SettledOwnership(const std::string& err);

// Polls `read()` until `pred` holds or `timeout` passes.
bool WaitUntil(absl::Duration timeout, const std::function<bool()>& pred);

// A generated month (2026-11) written to `dir`/events.jsonl, with what a
// correct consumer must end up with: the file-ingest snapshot JSON, the ids
// of its valid events and its number of malformed lines.
struct Dataset {
  std::string path;
  std::vector<GeneratedLine> lines;
  std::string snapshot_json;             // of `chatkpi ingest` (in process)
  std::map<std::string, Counters> rows;  // agent ("" = unattributed) -> sum
  std::set<std::string> event_ids;
  int64_t malformed = 0;
};
Dataset MakeDataset(const std::string& dir, const GeneratorOptions& options);
GeneratorOptions SmallMonth(int64_t events, uint64_t seed);

// Publishes `lines` to the broker keyed by buyer (EventPublisher). `which`:
// 0 = all, 1 = chat topic only, 2 = order topic only.
void Publish(const std::string& brokers,
             const std::vector<GeneratedLine>& lines, int which = 0);

// The month snapshot JSON of a store (all shards).
std::string SnapshotJson(const std::string& db);

// What a store counts for its owned shards (all shards if it records none):
// the (agent, day) rows summed per agent, and the dead letters of those
// shards (file positions count for every store).
struct OwnedView {
  std::optional<std::vector<uint32_t>> owned;
  std::set<uint32_t> shards_with_rows;
  std::map<std::string, Counters> rows;
  int64_t dead_letters = 0;
  std::vector<std::string> event_ids;  // the whole event log, in order
};
OwnedView ReadOwnedView(const std::string& db);

// Adds b's rows into a.
void AddRows(std::map<std::string, Counters>* a,
             const std::map<std::string, Counters>& b);
// Drops all-zero rows, so that maps compare by their non-zero content.
std::map<std::string, Counters> NonZero(std::map<std::string, Counters> rows);

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_KAFKA_TEST_UTIL_H_

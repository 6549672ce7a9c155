#include "tests/kafka_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/owned_shards.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "ingest/event_parser.h"
#include "ingest/kafka_producer.h"
#include "ingest/kafka_publisher.h"
#include "ingest/kafka_router.h"
#include "query/snapshot.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace chatkpi::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           std::string stdout_path, std::string stderr_path,
                           const std::string& stdin_path)
    : stdout_path_(std::move(stdout_path)),
      stderr_path_(std::move(stderr_path)) {
  const std::string in_path = stdin_path.empty() ? "/dev/null" : stdin_path;
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec: the parent has threads.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open(in_path.c_str(), O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  EXPECT_GT(pid_, 0) << "fork failed";
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

std::optional<int> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!reaped_) {
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      break;
    }
    if (absl::Now() > deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  return 128 + WTERMSIG(status_);
}

std::string ChildProcess::Stdout() const { return ReadFile(stdout_path_); }
std::string ChildProcess::Stderr() const { return ReadFile(stderr_path_); }

int ListeningPort(const ChildProcess& child, absl::Duration timeout) {
  const std::regex listening("listening on http://[^:]+:([0-9]+)");
  int port = 0;
  WaitUntil(timeout, [&] {
    std::smatch m;
    const std::string err = child.Stderr();
    if (!std::regex_search(err, m, listening)) return false;
    port = std::stoi(m[1].str());
    return true;
  });
  return port;
}

std::string MonthSnapshot(int port) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(5, 0);
  auto r = cli.Get("/api/snapshot?from=2026-11-01&to=2026-11-30");
  return r && r->status == 200 ? r->body : "";
}

int RunChatkpi(const std::vector<std::string>& args, std::string* out,
               std::string* err) {
  std::vector<std::string> argv = {CHATKPI_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, out, err);
}

int RunProgram(const std::vector<std::string>& argv, std::string* out,
               std::string* err, const std::string& stdin_path) {
  static std::atomic<int> counter{0};
  const std::string base = ::testing::TempDir() + "chatkpi_run_" +
                           std::to_string(getpid()) + "_" +
                           std::to_string(counter++);
  ChildProcess child(argv, base + ".out", base + ".err", stdin_path);
  std::optional<int> code = child.Wait(absl::Seconds(120));
  if (out != nullptr) *out = child.Stdout();
  if (err != nullptr) *err = child.Stderr();
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return code.value_or(-1);
}

namespace {
std::vector<std::string> BrokerArgs(int partitions,
                                    const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {CHATKPI_BINARY, "broker",
                                   "--partitions", std::to_string(partitions),
                                   "--dlq-topic",  "dlq"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}
}  // namespace

BrokerProcess::BrokerProcess(const std::string& dir, int partitions,
                             const std::vector<std::string>& flags)
    : child_(BrokerArgs(partitions, flags), dir + "/broker.out",
             dir + "/broker.err") {
  EXPECT_TRUE(WaitUntil(absl::Seconds(10), [&] {
    return child_.Stdout().find('\n') != std::string::npos;
  })) << child_.Stderr();
  const std::string out = child_.Stdout();
  bootstrap_ = out.substr(0, out.find('\n'));
}

bool WaitUntil(absl::Duration timeout, const std::function<bool()>& pred) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!pred()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

GeneratorOptions SmallMonth(int64_t events, uint64_t seed) {
  GeneratorOptions o;
  o.seed = seed;
  o.target_events = events;
  o.duplicate_rate = 0.02;
  o.malformed_rate = 0.01;
  o.delay_orders_ms = 1800'000;
  o.assessments = true;
  return o;
}

Dataset MakeDataset(const std::string& dir, const GeneratorOptions& options) {
  Dataset d;
  auto lines = GenerateLines(options);
  EXPECT_TRUE(lines.ok()) << lines.status();
  d.lines = std::move(*lines);
  d.path = dir + "/events.jsonl";
  std::string text;
  EventParser parser;
  Event e;
  for (const GeneratedLine& l : d.lines) {
    text.append(l.json).push_back('\n');
    if (l.kind == LineKind::kMalformed) ++d.malformed;
    if (l.kind == LineKind::kEvent && parser.Parse(l.json, &e).ok()) {
      d.event_ids.insert(e.id);
    }
  }
  WriteFile(d.path, text);
  const std::string db = dir + "/baseline";
  {
    auto store = Store::Open(db, StoreOptions());
    EXPECT_TRUE(store.ok()) << store.status();
    auto rules = DefaultRules();
    auto engine = Engine::Open(*rules, store->get());
    EXPECT_TRUE(engine.ok()) << engine.status();
    FileIngestReport report;
    EXPECT_TRUE(IngestFiles(**engine, {d.path}, {}, &report).ok());
  }
  d.snapshot_json = SnapshotJson(db);
  d.rows = ReadOwnedView(db).rows;
  return d;
}

void Publish(const std::string& brokers,
             const std::vector<GeneratedLine>& lines, int which) {
  KafkaClientConfig c;
  c.brokers = brokers;
  auto producer = KafkaProducer::Open(c);
  ASSERT_TRUE(producer.ok()) << producer.status();
  EventPublisher publisher(producer->get(), "chat", "orders");
  EventRouter router;
  for (const GeneratedLine& l : lines) {
    if (which != 0) {
      const bool chat = router.Route(l.json).topic == EventTopic::kChat;
      if (chat != (which == 1)) continue;
    }
    ASSERT_TRUE(publisher.Publish(l.json).ok());
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
}

std::string SnapshotJson(const std::string& db) {
  return SnapshotToJson(StoredSnapshot(db, absl::CivilDay(2026, 11, 1),
                                       absl::CivilDay(2026, 11, 30)));
}

OwnedView ReadOwnedView(const std::string& db) {
  OwnedView v;
  StoreOptions so;
  so.read_only = true;
  auto store = Store::Open(db, so);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return v;
  auto owned = ReadOwnedShards(**store);
  EXPECT_TRUE(owned.ok()) << owned.status();
  v.owned = *owned;
  auto counts = [&](uint32_t shard) {
    return !v.owned.has_value() ||
           std::find(v.owned->begin(), v.owned->end(), shard) != v.owned->end();
  };
  EXPECT_TRUE((*store)
                  ->Scan(Family::kAggregates, "", "",
                         [&](std::string_view k, std::string_view val) {
                           uint32_t shard;
                           int32_t day;
                           std::string agent;
                           Counters c;
                           EXPECT_TRUE(
                               ParseAggregateKey(k, &shard, &day, &agent));
                           EXPECT_TRUE(DecodeCounters(val, &c));
                           v.shards_with_rows.insert(shard);
                           if (counts(shard)) {
                             EXPECT_TRUE(v.rows[agent].Add(c).ok());
                           }
                           return true;
                         })
                  .ok());
  EXPECT_TRUE((*store)
                  ->Scan(Family::kDead, "", "",
                         [&](std::string_view k, std::string_view) {
                           auto shard = KafkaPositionShard(k);
                           if (!shard.has_value() || counts(*shard)) {
                             ++v.dead_letters;
                           }
                           return true;
                         })
                  .ok());
  EventParser parser;
  Event e;
  EXPECT_TRUE((*store)
                  ->ScanEvents(0, UINT64_MAX,
                               [&](uint64_t, std::string_view raw) {
                                 EXPECT_TRUE(parser.Parse(raw, &e).ok());
                                 v.event_ids.push_back(e.id);
                                 return true;
                               })
                  .ok());
  v.rows = NonZero(std::move(v.rows));
  return v;
}

void AddRows(std::map<std::string, Counters>* a,
             const std::map<std::string, Counters>& b) {
  for (const auto& [agent, c] : b) EXPECT_TRUE((*a)[agent].Add(c).ok());
}

std::map<std::string, Counters> NonZero(std::map<std::string, Counters> rows) {
  std::erase_if(rows, [](const auto& kv) { return kv.second.IsZero(); });
  return rows;
}

std::vector<std::string> MemberArgs(const std::string& brokers,
                                    const std::string& group,
                                    const std::string& db) {
  return {CHATKPI_BINARY,
          "run",
          "--brokers",
          brokers,
          "--group",
          group,
          "--db",
          db,
          "--commit-ms",
          "100",
          "--progress-ms",
          "500",
          "--session-timeout-ms",
          "6000"};
}

std::optional<std::set<uint32_t>> SettledOwnership(const std::string& err) {
  const size_t assigned = err.rfind("assigned ");
  if (assigned == std::string::npos) return std::nullopt;
  for (const char* gone : {"revoked ", "lost "}) {
    const size_t at = err.rfind(gone);
    if (at != std::string::npos && at > assigned) return std::nullopt;
  }
  const std::string marker = "caught up: owned partitions [";
  const size_t at = err.find(marker, assigned);
  if (at == std::string::npos) return std::nullopt;
  const size_t begin = at + marker.size();
  const std::string list = err.substr(begin, err.find(']', begin) - begin);
  std::set<uint32_t> owned;
  for (absl::string_view p : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    uint32_t n;
    if (!absl::SimpleAtoi(p, &n)) return std::nullopt;
    owned.insert(n);
  }
  return owned;
}

}  // namespace chatkpi::testing

// Kafka consume throughput: `chatkpi run`'s loop (parse, engine,
// state and offsets committed to RocksDB) against a bare librdkafka consumer
// of the same topics on the same embedded mock broker -- the transport's
// limit -- and against `chatkpi ingest` of the same events from a file (the
// engine's limit).
//
//   build-kafka/kafka_consume_bench [--benchmark_...]
//   CHATKPI_BENCH_EVENTS=400000 CHATKPI_BENCH_PARTITIONS=16
//   CHATKPI_BENCH_COMMIT_MS=1000 CHATKPI_BENCH_THREADS=2
//   build-kafka/kafka_consume_bench
//   (one command line)
//
// Each consumer is timed from its partition assignment to the moment it has
// read (and, for chatkpi, committed) every partition to its end, so the
// group join (seconds on the mock) is left out of both. Over the same span
// each reports the CPU seconds of the whole process (cpu_s), and with
// CHATKPI_BENCH_THREAD_CPU=1 prints them by thread name on stderr.
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "engine/engine.h"
#include "engine/file_ingest.h"
#include "engine/kafka_ingest.h"
#include "engine/rules.h"
#include "ingest/kafka_mock_cluster.h"
#include "ingest/kafka_producer.h"
#include "ingest/kafka_publisher.h"
#include "store/store.h"
#include "tools/generator.h"

namespace chatkpi {
namespace {

int64_t EnvInt(const char* name, int64_t def) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : def;
}

struct Fixture {
  std::unique_ptr<KafkaMockCluster> cluster;
  std::string dir;
  std::string jsonl;
  int64_t messages = 0;
  int partitions = 0;
};

Fixture* g_fixture = nullptr;

Fixture& Setup() {
  static Fixture* f = g_fixture = [] {
    auto* f = new Fixture;
    f->partitions = static_cast<int>(EnvInt("CHATKPI_BENCH_PARTITIONS", 16));
    GeneratorOptions gen;
    gen.seed = 1;
    gen.agents = 50;
    gen.target_events = EnvInt("CHATKPI_BENCH_EVENTS", 200'000);
    auto lines = GenerateJsonl(gen);
    if (!lines.ok()) std::abort();
    f->messages = static_cast<int64_t>(lines->size());
    f->dir = (std::filesystem::temp_directory_path() /
              absl::StrCat("chatkpi_kafka_bench_", getpid()))
                 .string();
    std::filesystem::create_directories(f->dir);
    f->jsonl = f->dir + "/events.jsonl";
    std::ofstream out(f->jsonl);
    for (const std::string& l : *lines) out << l << '\n';
    out.close();

    auto cluster = KafkaMockCluster::Start();
    if (!cluster.ok()) std::abort();
    f->cluster = std::move(*cluster);
    for (const char* t : {"chat", "orders"}) {
      if (!f->cluster->CreateTopic(t, f->partitions).ok()) std::abort();
    }
    KafkaClientConfig c;
    c.brokers = f->cluster->bootstrap();
    auto producer = KafkaProducer::Open(c);
    if (!producer.ok()) std::abort();
    EventPublisher publisher(producer->get(), "chat", "orders");
    for (const std::string& l : *lines) {
      if (!publisher.Publish(l).ok()) std::abort();
    }
    if (!(*producer)->Flush(absl::Seconds(60)).ok()) std::abort();
    for (const char* t : {"chat", "orders"}) {
      for (int p = 0; p < f->partitions; ++p) {
        auto marks = (*producer)->Watermarks(t, p, absl::Seconds(10));
        if (!marks.ok() || marks->first != 0) {
          std::fprintf(stderr,
                       "the mock broker dropped messages of %s/%d: use more "
                       "CHATKPI_BENCH_PARTITIONS or fewer events\n",
                       t, p);
          std::abort();
        }
      }
    }
    return f;
  }();
  return *f;
}

double g_bare_rate = 0, g_chatkpi_rate = 0, g_file_rate = 0;
double g_bare_cpu = 0, g_chatkpi_cpu = 0;

// CPU seconds (user + system) of the whole process: the consumer's, the
// embedded broker's and librdkafka's threads alike.
double ProcessCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// CPU seconds of the process's live threads by thread name (librdkafka
// names its threads "rdk:main", "rdk:broker<N>", the mock broker's
// "rdk:mock"...): with CHATKPI_BENCH_THREAD_CPU=1 each consume prints
// where its CPU went, as the difference of two of these.
std::map<std::string, double> ThreadCpuSeconds() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm"), stat(task.path() / "stat");
    std::string name, line;
    std::getline(comm, name);
    std::getline(stat, line);
    // Fields after the parenthesised name: state is the 3rd, utime the
    // 14th and stime the 15th of the whole line.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    out[name] += (utime + stime) / tick;
  }
  return out;
}

void PrintThreadCpu(const char* what,
                    const std::map<std::string, double>& before) {
  if (EnvInt("CHATKPI_BENCH_THREAD_CPU", 0) == 0) return;
  std::fprintf(stderr, "%s: CPU seconds by thread name (live threads)\n", what);
  for (const auto& [name, after] : ThreadCpuSeconds()) {
    auto b = before.find(name);
    const double d = after - (b != before.end() ? b->second : 0);
    if (d > 0) std::fprintf(stderr, "  %-16s %6.2f\n", name.c_str(), d);
  }
}

// Bare librdkafka: a group member that reads both topics to their ends and
// touches every payload.
struct BareState {
  absl::Time assigned = absl::InfinitePast();
  double cpu_at_assignment = 0;
  std::map<std::string, double> threads_at_assignment;
};

void BareRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                   rd_kafka_topic_partition_list_t* parts, void* opaque) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    auto* bs = static_cast<BareState*>(opaque);
    bs->assigned = absl::Now();
    bs->cpu_at_assignment = ProcessCpuSeconds();
    bs->threads_at_assignment = ThreadCpuSeconds();
    rd_kafka_assign(rk, parts);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

void BM_BareLibrdkafkaConsume(benchmark::State& state) {
  Fixture& f = Setup();
  static int round = 0;
  for (auto _ : state) {
    BareState bs;
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const std::string& v) {
      rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err);
    };
    set("bootstrap.servers", f.cluster->bootstrap());
    set("group.id", absl::StrCat("bare", round++));
    set("session.timeout.ms", "6000");
    set("enable.auto.commit", "false");
    set("enable.partition.eof", "true");
    set("auto.offset.reset", "earliest");
    rd_kafka_conf_set_opaque(conf, &bs);
    rd_kafka_conf_set_rebalance_cb(conf, BareRebalance);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, "chat", RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, "orders", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    int64_t messages = 0, bytes = 0;
    int at_end = 0;
    while (at_end < 2 * f.partitions) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ++at_end;
      } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++messages;
        const char* p = static_cast<const char*>(m->payload);
        for (size_t i = 0; i < m->len; i += 64) bytes += p[i];
      }
      rd_kafka_message_destroy(m);
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - bs.assigned);
    g_bare_cpu = ProcessCpuSeconds() - bs.cpu_at_assignment;
    PrintThreadCpu("bare librdkafka", bs.threads_at_assignment);
    benchmark::DoNotOptimize(bytes);
    state.SetIterationTime(seconds);
    g_bare_rate = messages / seconds;
    state.counters["cpu_s"] = g_bare_cpu;
    state.counters["events_per_s"] = g_bare_rate;
    state.counters["events"] = static_cast<double>(messages);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
}

void BM_ChatkpiKafkaConsume(benchmark::State& state) {
  Fixture& f = Setup();
  static int round = 0;
  for (auto _ : state) {
    const std::string db = absl::StrCat(f.dir, "/kafka_db", round);
    auto store = Store::Open(db, StoreOptions());
    if (!store.ok()) std::abort();
    KafkaIngestOptions o;
    o.consumer.client.brokers = f.cluster->bootstrap();
    o.consumer.group = absl::StrCat("chatkpi", round++);
    o.until_caught_up = true;
    o.threads = static_cast<int>(
        EnvInt("CHATKPI_BENCH_THREADS",
               std::max(1u, std::thread::hardware_concurrency())));
    o.progress_interval = absl::Hours(1);
    o.commit_interval = absl::Milliseconds(
        EnvInt("CHATKPI_BENCH_COMMIT_MS",
               absl::ToInt64Milliseconds(o.commit_interval)));
    absl::Time assigned = absl::InfinitePast(), caught_up = assigned;
    double cpu_assigned = 0, cpu_caught_up = 0;
    std::map<std::string, double> threads_assigned;
    o.log = [&](const std::string& line) {
      if (line.rfind("assigned ", 0) == 0) {
        assigned = absl::Now();
        cpu_assigned = ProcessCpuSeconds();
        threads_assigned = ThreadCpuSeconds();
      }
      if (line.rfind("caught up", 0) == 0) {
        caught_up = absl::Now();
        cpu_caught_up = ProcessCpuSeconds();
        PrintThreadCpu("chatkpi run", threads_assigned);
      }
    };
    KafkaIngestReport report;
    absl::Status s = RunKafkaIngest(*DefaultRules(), store->get(), o, &report);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    // Assigned to caught up: every message applied and its state and
    // offsets committed.
    const double seconds = absl::ToDoubleSeconds(caught_up - assigned);
    state.SetIterationTime(seconds);
    g_chatkpi_rate = report.messages / seconds;
    g_chatkpi_cpu = cpu_caught_up - cpu_assigned;
    state.counters["cpu_s"] = g_chatkpi_cpu;
    state.counters["events_per_s"] = g_chatkpi_rate;
    state.counters["events"] = static_cast<double>(report.messages);
    store->reset();
    std::filesystem::remove_all(db);
  }
}

void BM_ChatkpiFileIngest(benchmark::State& state) {
  Fixture& f = Setup();
  static int round = 0;
  for (auto _ : state) {
    const std::string db = absl::StrCat(f.dir, "/file_db", round++);
    auto store = Store::Open(db, StoreOptions());
    auto engine = Engine::Open(*DefaultRules(), store->get());
    if (!engine.ok()) std::abort();
    FileIngestReport report;
    const absl::Time start = absl::Now();
    if (!IngestFiles(**engine, {f.jsonl}, {}, &report).ok()) std::abort();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    state.SetIterationTime(seconds);
    g_file_rate = report.lines / seconds;
    state.counters["events_per_s"] = g_file_rate;
    state.counters["events"] = static_cast<double>(report.lines);
    engine->reset();
    store->reset();
    std::filesystem::remove_all(db);
  }
}

BENCHMARK(BM_BareLibrdkafkaConsume)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChatkpiKafkaConsume)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChatkpiFileIngest)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace chatkpi

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  using chatkpi::g_bare_rate;
  using chatkpi::g_chatkpi_rate;
  using chatkpi::g_file_rate;
  if (g_bare_rate > 0 && g_chatkpi_rate > 0) {
    std::printf(
        "chatkpi Kafka consume: %.0f events/s = %.1f%% of bare librdkafka "
        "(%.0f events/s)",
        g_chatkpi_rate, 100 * g_chatkpi_rate / g_bare_rate, g_bare_rate);
    std::printf("; CPU %.2f s against bare %.2f s", chatkpi::g_chatkpi_cpu,
                chatkpi::g_bare_cpu);
    if (g_file_rate > 0) {
      std::printf("; %.1f%% of chatkpi file ingest (%.0f events/s)",
                  100 * g_chatkpi_rate / g_file_rate, g_file_rate);
    }
    std::printf("\n");
  }
  if (chatkpi::g_fixture != nullptr) {
    std::filesystem::remove_all(chatkpi::g_fixture->dir);
  }
  return 0;
}

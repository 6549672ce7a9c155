// Latency of a month snapshot over HTTP: 1,000 agents x 31 days of aggregate
// rows, GET /api/snapshot for the month N times through a keep-alive
// httplib::Client, p50/p99 printed; then one agent's month of days. Last,
// the snapshot's parts timed in process (store read, JSON rendering) to show
// what dominates.
//
//   build/http_snapshot_bench [--agents 1000] [--requests 1000]
//                             [--clients 1] [--memtable]
//
// The rows are written straight through Store commits (EncodeCounters,
// AggregateKey), as the engine would leave them. By default the store is
// then reopened so that RocksDB flushes them into a table file, the state of
// any store older than a few minutes; --memtable measures them unflushed.
// A plain main: percentiles of one fixed request are the figure wanted, not
// Google Benchmark's mean per iteration.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/counters.h"
#include "engine/local_day.h"
#include "httplib.h"
#include "query/http_server.h"
#include "query/snapshot.h"
#include "store/store.h"

namespace chatkpi {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "bench-token-0123456789abcdef";

struct Flags {
  int agents = 1000;
  int requests = 1000;
  int clients = 1;
  bool memtable = false;
};

Flags ParseFlags(int argc, char **argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (!std::strcmp(argv[i], "--agents")) {
      f.agents = value();
    } else if (!std::strcmp(argv[i], "--requests")) {
      f.requests = value();
    } else if (!std::strcmp(argv[i], "--clients")) {
      f.clients = value();
    } else if (!std::strcmp(argv[i], "--memtable")) {
      f.memtable = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--agents N] [--requests N] [--clients N] "
                   "[--memtable]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  return f;
}

void Check(const absl::Status &s, const char *what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, std::string(s.message()).c_str());
  std::exit(1);
}

// A plausible day of one agent: every counter non-zero, so the JSON is as
// long as it gets.
Counters RandomDay(std::mt19937_64 &rng) {
  Counters c;
  const int64_t consultations = 20 + rng() % 80;
  c[kConsultations] = consultations;
  c[kReplied] = consultations - rng() % 3;
  c[kQuestions] = consultations + rng() % 40;
  c[kAnswered] = c[kQuestions] - rng() % 4;
  c[kUnanswered] = c[kQuestions] - c[kAnswered];
  c[kResponseMsSum] = c[kAnswered] * (5000 + rng() % 40000);
  c[kSlow] = rng() % 5;
  c[kFirstResponses] = c[kReplied];
  c[kFirstResponseMsSum] = c[kFirstResponses] * (3000 + rng() % 30000);
  c[kCourteous] = consultations / 2;
  c[kRude] = rng() % 2;
  c[kOrders] = 1 + rng() % 20;
  c[kOrderedBuyers] = c[kOrders];
  c[kPaidOrders] = c[kOrders] - rng() % 2;
  c[kPaidBuyers] = c[kPaidOrders];
  c[kPaidItems] = c[kPaidOrders] + rng() % 5;
  c[kSalesFen] = c[kPaidOrders] * (1000 + rng() % 50000);
  c[kRefunds] = rng() % 2;
  c[kRefundedItems] = c[kRefunds];
  c[kRefundFen] = c[kRefunds] * 4900;
  return c;
}

void BuildStore(const std::string &dir, const Flags &f, int32_t first_day,
                int days) {
  auto store = Store::Open(dir, StoreOptions());
  Check(store.status(), "open");
  std::mt19937_64 rng(42);
  // Month rollups as the engine keeps them: the sum of the month's days.
  std::map<std::pair<int32_t, std::string>, Counters> months;
  for (int d = 0; d < days; ++d) {
    Commit commit(store->get());
    const int32_t month = MonthOfDay(first_day + d);
    for (int a = 0; a < f.agents; ++a) {
      const std::string agent = absl::StrFormat("shop:agent%04d", a);
      const Counters c = RandomDay(rng);
      commit.Put(Family::kAggregates, AggregateKey(0, first_day + d, agent),
                 EncodeCounters(c));
      Check(months[{month, agent}].Add(c), "sum");
    }
    Counters silent;
    silent[kOrders] = silent[kOrderedBuyers] = 3;
    silent[kPaidOrders] = silent[kPaidBuyers] = silent[kPaidItems] = 2;
    silent[kSalesFen] = 25800;
    commit.Put(Family::kAggregates, AggregateKey(0, first_day + d, ""),
               EncodeCounters(silent));
    Check(months[{month, ""}].Add(silent), "sum");
    Check((*store)->Write(&commit), "write");
  }
  Commit commit(store->get());
  for (const auto &[key, c] : months) {
    commit.Put(Family::kRollups, RollupKey(0, key.first, key.second),
               EncodeCounters(c));
  }
  Check((*store)->Write(&commit), "write rollups");
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

void Report(const char *what, const std::vector<double> &ms) {
  double sum = 0;
  for (double x : ms) sum += x;
  std::printf(
      "%-28s n=%-5zu p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  "
      "max %7.3f ms  mean %7.3f ms\n",
      what, ms.size(), Percentile(ms, 0.50), Percentile(ms, 0.90),
      Percentile(ms, 0.99), *std::max_element(ms.begin(), ms.end()),
      sum / ms.size());
}

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int Main(int argc, char **argv) {
  const Flags f = ParseFlags(argc, argv);
  const std::string dir =
      (std::filesystem::temp_directory_path() /
       absl::StrCat("chatkpi_http_snapshot_bench_", getpid()))
          .string();
  std::filesystem::remove_all(dir);
  const absl::CivilDay from(2026, 10, 1), to(2026, 10, 31);
  const int days = static_cast<int>(to - from) + 1;

  auto t = Clock::now();
  BuildStore(dir, f, DayNumber(from), days);
  std::printf("built %d agents x %d days = %d rows in %.0f ms\n", f.agents,
              days, f.agents * days, MsSince(t));
  if (!f.memtable) {
    // Reopening recovers the log into a table file.
    auto reopened = Store::Open(dir, StoreOptions());
    Check(reopened.status(), "reopen");
  }
  auto store = Store::Open(dir, StoreOptions());
  Check(store.status(), "open");

  HttpServerOptions opts;
  opts.tokens.emplace_back(kToken, Role::kAdmin);
  // The bench times answers, not the per-client rate limit it would hit.
  opts.rate_limit.rate = 0;
  HttpServer server(store->get(), opts);
  Check(server.Start(0), "start");
  const std::string path =
      absl::StrCat("/api/snapshot?from=", absl::FormatCivilTime(from),
                   "&to=", absl::FormatCivilTime(to));

  size_t body_bytes = 0;
  std::vector<std::vector<double>> per_client(f.clients);
  std::vector<std::thread> threads;
  const auto wall = Clock::now();
  for (int c = 0; c < f.clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", server.port());
      client.set_bearer_token_auth(kToken);
      client.set_keep_alive(true);
      for (int i = 0; i < 20; ++i) client.Get(path);  // warm caches
      for (int i = 0; i < f.requests; ++i) {
        const auto start = Clock::now();
        auto r = client.Get(path);
        per_client[c].push_back(MsSince(start));
        if (!r || r->status != 200) {
          std::fprintf(stderr, "request failed\n");
          std::exit(1);
        }
        body_bytes = r->body.size();
      }
    });
  }
  for (auto &th : threads) th.join();
  const double wall_ms = MsSince(wall);
  std::vector<double> http;
  for (auto &v : per_client) http.insert(http.end(), v.begin(), v.end());
  std::printf("GET %s -> %zu bytes, %d client(s), %.0f requests/s\n",
              path.c_str(), body_bytes, f.clients,
              http.size() / (wall_ms / 1000));
  Report("HTTP round trip", http);

  // One agent's month, day by day: seeks, not a scan of every agent.
  {
    httplib::Client client("127.0.0.1", server.port());
    client.set_bearer_token_auth(kToken);
    const std::string days_path = absl::StrCat(
        "/api/agents/shop:agent0500/days?from=", absl::FormatCivilTime(from),
        "&to=", absl::FormatCivilTime(to));
    std::vector<double> ms;
    for (int i = 0; i < std::min(f.requests, 300); ++i) {
      const auto start = Clock::now();
      auto r = client.Get(days_path);
      ms.push_back(MsSince(start));
      if (!r || r->status != 200) {
        std::fprintf(stderr, "agent days request failed\n");
        std::exit(1);
      }
    }
    Report("GET one agent's days", ms);
  }
  server.Stop();

  // The same work without the transport, to see where the time goes.
  std::vector<double> read, json;
  for (int i = 0; i < std::min(f.requests, 300); ++i) {
    auto start = Clock::now();
    auto snap = ReadSnapshot(**store, from, to);
    read.push_back(MsSince(start));
    Check(snap.status(), "snapshot");
    start = Clock::now();
    std::string body = SnapshotToJson(*snap);
    json.push_back(MsSince(start));
  }
  Report("  ReadSnapshot", read);
  Report("  SnapshotToJson", json);

  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace chatkpi

int main(int argc, char **argv) { return chatkpi::Main(argc, argv); }

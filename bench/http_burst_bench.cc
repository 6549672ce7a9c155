// A burst of concurrent clients on loopback, each on a new connection, with
// idle and slow-drip connections held open meanwhile: the latency a wall
// screen or a scraper sees when many clients arrive at once
// (docs/http_api.md "Limits and connections").
//
//   build/http_burst_bench [--clients 200] [--rounds 5] [--idle 200]
//                          [--drip 40] [--threads 16] [--port P]
//
// Each round opens `clients` connections at the same instant (threads
// released together), each sending one GET /api/health and reading the
// answer; the time from release to answer is one sample. Before the rounds,
// `idle` connections are opened and left silent and `drip` connections
// send a request head one byte every 100 ms. Without --port the server runs
// in process over an empty store (16 workers, default limits); with --port
// an already running `chatkpi serve` on 127.0.0.1:P is measured instead.
// Prints p50, p90, p99 and max over all samples, and failures.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "query/http_server.h"
#include "store/store.h"

namespace chatkpi {
namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  int clients = 200;
  int rounds = 5;
  int idle = 200;
  int drip = 40;
  int threads = 16;
  int port = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      std::exit(2);
    }
    const int v = std::atoi(argv[++i]);
    const std::string name = argv[i - 1];
    if (name == "--clients") {
      f.clients = v;
    } else if (name == "--rounds") {
      f.rounds = v;
    } else if (name == "--idle") {
      f.idle = v;
    } else if (name == "--drip") {
      f.drip = v;
    } else if (name == "--threads") {
      f.threads = v;
    } else if (name == "--port") {
      f.port = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  return f;
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// One request on a new connection; true when a 200 came back.
bool OneRequest(int port) {
  const int fd = Connect(port);
  if (fd < 0) return false;
  const std::string req =
      "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
      "\r\n";
  bool ok = send(fd, req.data(), req.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(req.size());
  std::string got;
  char buf[4096];
  while (ok) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got.compare(0, 12, "HTTP/1.1 200") == 0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

int Main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  std::unique_ptr<Store> store;
  std::unique_ptr<HttpServer> server;
  const std::string dir =
      (std::filesystem::temp_directory_path() / "chatkpi_http_burst_bench")
          .string();
  int port = f.port;
  if (port == 0) {
    std::filesystem::remove_all(dir);
    auto opened = Store::Open(dir, StoreOptions());
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
      return 1;
    }
    store = std::move(*opened);
    HttpServerOptions o;
    o.allow_no_auth = true;
    o.threads = f.threads;
    o.rate_limit.rate = 0;
    server = std::make_unique<HttpServer>(store.get(), o);
    absl::Status s = server->Start(0);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    port = server->port();
  }

  std::vector<int> held;
  for (int i = 0; i < f.idle; ++i) {
    const int fd = Connect(port);
    if (fd >= 0) held.push_back(fd);
  }
  std::vector<int> drips;
  for (int i = 0; i < f.drip; ++i) {
    const int fd = Connect(port);
    if (fd >= 0) drips.push_back(fd);
  }
  std::atomic<bool> stop_drip{false};
  std::thread dripper([&] {
    const std::string head = "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    for (size_t at = 0; !stop_drip; ++at) {
      const char c = at < head.size() ? head[at] : 'x';
      for (int fd : drips) send(fd, &c, 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  std::vector<double> samples_ms;
  int failures = 0;
  std::mutex mu;
  for (int round = 0; round < f.rounds; ++round) {
    std::mutex gate_mu;
    std::condition_variable gate;
    bool go = false;
    Clock::time_point start;
    std::vector<std::thread> clients;
    for (int i = 0; i < f.clients; ++i) {
      clients.emplace_back([&] {
        {
          std::unique_lock<std::mutex> l(gate_mu);
          gate.wait(l, [&] { return go; });
        }
        const bool ok = OneRequest(port);
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start)
                .count();
        std::lock_guard<std::mutex> l(mu);
        if (ok) {
          samples_ms.push_back(ms);
        } else {
          ++failures;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    {
      std::lock_guard<std::mutex> l(gate_mu);
      go = true;
      start = Clock::now();
    }
    gate.notify_all();
    for (auto& t : clients) t.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  stop_drip = true;
  dripper.join();
  for (int fd : held) close(fd);
  for (int fd : drips) close(fd);

  std::printf(
      "%d rounds x %d clients (new connection each), %zu idle and %zu "
      "slow-drip connections open: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
      "max %.1f ms, %d failed\n",
      f.rounds, f.clients, held.size(), drips.size(),
      Percentile(samples_ms, 0.50), Percentile(samples_ms, 0.90),
      Percentile(samples_ms, 0.99), Percentile(samples_ms, 1.0), failures);
  if (server != nullptr) server->Stop();
  server.reset();
  store.reset();
  if (f.port == 0) std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace chatkpi

int main(int argc, char** argv) { return chatkpi::Main(argc, argv); }

// The HTTP API of the engine process (docs/http_api.md): snapshots, one
// agent's days, month scores, health and Prometheus metrics, served by
// cpp-httplib from a pool of threads over a Store the caller opened. The
// store may be written meanwhile by the same process's ingest loop.
//
//   HttpServerOptions opts;
//   opts.tokens.emplace_back(token, Role::kAdmin);
//   HttpServer server(store.get(), opts);
//   absl::Status s = server.Start(8080);  // returns once listening
//   ...
//   server.Stop();
#ifndef CHATKPI_QUERY_HTTP_SERVER_H_
#define CHATKPI_QUERY_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "query/http_auth.h"
#include "query/live_view.h"
#include "query/rate_limiter.h"

namespace chatkpi {

class Store;
class MetricsRegistry;
class LiveFeed;

struct HttpServerOptions {
  // Loopback by default: the API carries pay data, so reaching it from
  // another host is a choice the operator makes explicitly.
  std::string bind_address = "127.0.0.1";

  // Bearer tokens and what they may do. With none, Start refuses unless
  // allow_no_auth says that an open API is intended.
  std::vector<std::pair<std::string, Role>> tokens;
  bool allow_no_auth = false;

  std::string schemes_dir = "query/schemes";  // for /api/score

  // Request counts and latencies are recorded here, and /metrics renders
  // it; null: the server keeps a registry of its own.
  MetricsRegistry* metrics = nullptr;

  // Worker threads: requests handled at once (an /api/live stream holds
  // one while open). Connections between requests, idle or still sending
  // their request head, wait without a worker (query/bounded_server.h).
  int threads = 16;
  // Connections open at once, idle ones included; past it a new connection
  // is closed at once. Also bounded by the process's descriptor limit.
  size_t max_connections = 4096;
  // The listen queue of connections not yet accepted (the kernel caps it
  // at net.core.somaxconn).
  int listen_backlog = 1024;
  // Every endpoint is a GET; a body is never needed. A larger one is 413;
  // one of unannounced length (chunked) is 413 unread.
  size_t max_payload_bytes = 64 << 10;
  // Request line and headers together; longer: the connection is closed.
  // (A request line over 8 KiB is 414: httplib's compile-time limit.)
  size_t max_head_bytes = 64 << 10;
  // A request must arrive whole within read_timeout of its first byte
  // being read (a client trickling bytes is cut off); each write may wait
  // write_timeout for the client to take more. Past either, the connection
  // is closed.
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(10);
  // Idle time allowed between requests on a connection.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  int keep_alive_max_requests = 1000;

  // Requests per client (query/rate_limiter.h): a client is its bearer
  // token when the token is valid (also ?access_token= of /api/live), else
  // its remote address. Past the limit: 429 with Retry-After. /api/health
  // is exempt, so that probes never see a refusal. rate <= 0: no limit.
  RateLimiterOptions rate_limit;
  // Longest /api/snapshot period in days, both ends included; longer: 400.
  int max_snapshot_days = 366;

  // The dashboard (docs/dashboard.md): its page, /api/today,
  // /api/leaderboard and the Server-Sent Events of /api/live, which push a
  // new day board whenever `live_feed` is notified. Null: the server keeps
  // a feed of its own that nothing notifies (a store nobody writes).
  LiveFeed* live_feed = nullptr;
  // Whether the process sees commits as they land (it runs the engine, or
  // follows the store), so that waiting questions are known.
  bool live_waiting = false;
  LiveViewOptions live_view;
  // /api/live streams open at once; more get 503 with Retry-After. Each
  // holds a worker thread while open, so at most threads - 1 are allowed,
  // and a worker is always left to the rest of the API.
  int max_live_clients = 8;
  // An idle stream gets a comment this often, so that proxies keep it and a
  // vanished client is noticed.
  absl::Duration live_keepalive = absl::Seconds(15);

  // Called after each request with one line: method, path, status, bytes,
  // milliseconds. Never sees the query string or headers (they may carry
  // secrets). Called from worker threads.
  std::function<void(std::string_view line)> access_log;
};

class HttpServer {
 public:
  // `store` must outlive the server.
  HttpServer(Store* store, HttpServerOptions options);
  ~HttpServer();  // stops the server if running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds bind_address:port (0 = any free port, see port()) and serves on
  // background threads; returns once connections are accepted. Fails on a
  // bad token, on no token without allow_no_auth, or when the port is taken.
  absl::Status Start(int port);
  // Stops accepting, finishes requests in flight and joins the threads.
  // Idempotent.
  void Stop();

  bool running() const;
  // The bound port, valid after a successful Start.
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_HTTP_SERVER_H_

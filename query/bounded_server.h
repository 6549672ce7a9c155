// httplib::Server with each request's head and time bounded, and idle or
// slow connections kept off the worker threads: the transport of HttpServer
// (query/http_server.h; docs/limits.md, "HTTP").
//
// cpp-httplib 0.11 (Debian 12's) reads a request line or header line whole
// whatever its length, its read timeout is per read (a client sending a
// byte every few seconds holds a worker thread forever), and it serves each
// connection on one pool thread from accept to close, so a few idle
// keep-alive connections stall every endpoint. Here httplib's accept loop
// only hands each new connection to a waiter thread (epoll) that holds every
// connection between requests: it reads, without blocking, until a whole
// request head has arrived, and only then gives the connection to one of
// `threads` workers, which runs httplib's own request handling over a
// bounded stream and hands the connection back to the waiter afterwards.
// So idle and slow-drip connections cost a descriptor and a buffer, never a
// worker.
//
// Bounds: a request's head (request line and headers) may be at most
// `max_head_bytes` long, and the request (head and body) must arrive whole
// within `request_timeout` of its first byte; past either, the connection
// is closed. Each write waits at most `write_timeout` for the client to take
// more. Between requests a connection may idle `keep_alive_timeout`. At
// most `max_connections` are open at once (past that, a new connection is
// closed at once). The body is bounded by httplib's payload limit when it
// has a Content-Length; HttpServer refuses the other kinds unread.
//
// Set the limits, then StartWorkers(), then listen; after listen returns,
// StopWorkers(). They replace httplib's read and write timeouts, keep-alive
// settings and thread pool, which are not used.
#ifndef CHATKPI_QUERY_BOUNDED_SERVER_H_
#define CHATKPI_QUERY_BOUNDED_SERVER_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace chatkpi {

class BoundedServer : public httplib::Server {
 public:
  struct Limits {
    size_t max_head_bytes = 64 << 10;
    absl::Duration request_timeout = absl::Seconds(5);
    absl::Duration write_timeout = absl::Seconds(10);
    // Idle time allowed before a connection's next request.
    absl::Duration keep_alive_timeout = absl::Seconds(5);
    size_t keep_alive_max_requests = 1000;
    size_t threads = 16;            // workers
    size_t max_connections = 4096;  // open at once, idle ones included
  };

  BoundedServer();
  ~BoundedServer() override;

  void set_limits(const Limits& limits) { limits_ = limits; }

  // The listen backlog of the bound socket (httplib's compiled-in one is
  // 5, which turns a burst of clients into SYN retries of a second or
  // more). Call after binding, before listening.
  bool SetBacklog(int backlog);

  // Starts the waiter and the workers; StopWorkers closes every connection
  // still open once the requests in flight are answered, and joins them.
  void StartWorkers();
  void StopWorkers();

  // Called from a handler, on the worker thread serving the request: the
  // connection is closed once this request's response is written. For a
  // request whose body was left unread, since the rest of the stream is
  // that body.
  static void CloseAfterResponse();

 private:
  struct Connection;
  class Waiter;

  // Called by httplib's accept loop: hands `sock` to the waiter.
  bool process_and_close_socket(socket_t sock) override;
  // Runs on a worker: the requests whose heads have arrived, then hands the
  // connection back to the waiter (or closes it).
  void Serve(std::unique_ptr<Connection> c);
  void WorkLoop();
  void Enqueue(std::unique_ptr<Connection> c);
  bool stopping() const;

  Limits limits_;
  std::unique_ptr<Waiter> waiter_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::unique_ptr<Connection>> ready_ ABSL_GUARDED_BY(mu_);
  bool stop_workers_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::atomic<size_t> open_connections_{0};
};

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_BOUNDED_SERVER_H_

// httplib::Server with each request's head and time bounded: the transport
// of HttpServer (query/http_server.h; docs/limits.md, "HTTP").
//
// cpp-httplib 0.11 (Debian 12's) reads a request line or header line whole
// whatever its length (one connection sending a 200 MiB line without a
// newline held 200 MiB), and its read timeout is per read, so a client
// sending a byte every few seconds holds a worker thread forever. This
// server runs httplib's own request handling over a socket stream that
// bounds both: a request's head (request line and headers) may be at most
// `max_head_bytes` long, and the request (head and body) must arrive whole
// within `request_timeout` of the first read; past either, the connection
// is closed. Each write waits at most `write_timeout` for the client to take
// more. (The body is bounded by httplib's payload limit when it has a
// Content-Length; HttpServer refuses the other kinds unread.)
//
// Set the limits before listening; they replace httplib's read and write
// timeouts and keep-alive settings, which are not used.
#ifndef CHATKPI_QUERY_BOUNDED_SERVER_H_
#define CHATKPI_QUERY_BOUNDED_SERVER_H_

#include <cstddef>

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
  };

  void set_limits(const Limits& limits) { limits_ = limits; }

  // Called from a handler, on the worker thread serving the request: the
  // connection is closed once this request's response is written. For a
  // request whose body was left unread, since the rest of the stream is
  // that body.
  static void CloseAfterResponse();

 private:
  // httplib's per-connection loop (keep-alive, then requests), replaced.
  bool process_and_close_socket(socket_t sock) override;

  Limits limits_;
};

}  // namespace chatkpi

#endif  // CHATKPI_QUERY_BOUNDED_SERVER_H_

#include "query/bounded_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>

namespace chatkpi {
namespace {

using Clock = std::chrono::steady_clock;

thread_local bool tls_close_after_response = false;

// Milliseconds from now to `deadline` for poll(): 0 once it has passed.
int MillisUntil(Clock::time_point deadline) {
  const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline - Clock::now())
                           .count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
}

// Whether `fd` is ready for `events` within `timeout_ms`.
bool Wait(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

void AddressOf(const sockaddr_storage& addr, socklen_t len, std::string& ip,
               int& port) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host,
                  sizeof(host), serv, sizeof(serv),
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

// A connection's socket as httplib reads and writes it, with the bounds of
// BoundedServer::Limits. Reads are buffered (httplib reads a request's head
// a byte at a time).
class BoundedStream : public httplib::Stream {
 public:
  BoundedStream(socket_t sock, const BoundedServer::Limits& limits)
      : sock_(sock),
        limits_(limits),
        write_timeout_(absl::ToChronoMilliseconds(limits.write_timeout)) {}

  // Starts the next request: a new head budget and deadline.
  void BeginRequest() {
    head_bytes_ = 0;
    head_done_ = false;
    tail_ = 0;
    deadline_ =
        Clock::now() + absl::ToChronoMilliseconds(limits_.request_timeout);
  }
  // Whether a request ran into a bound; the connection must then end.
  bool cut_short() const { return cut_short_; }
  bool has_buffered() const { return begin_ < end_; }

  bool is_readable() const override {
    return has_buffered() || Wait(sock_, POLLIN, MillisUntil(deadline_));
  }

  bool is_writable() const override {
    return Wait(sock_, POLLOUT, static_cast<int>(write_timeout_.count())) &&
           IsAlive();
  }

  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered()) {
      // Bytes already here at the deadline are still taken; a request
      // still arriving after it is not.
      if (!Wait(sock_, POLLIN, MillisUntil(deadline_))) {
        cut_short_ = true;
        return -1;
      }
      ssize_t n;
      do {
        n = recv(sock_, buffer_, sizeof(buffer_), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, end_ - begin_);
    if (!head_done_) {
      if (head_bytes_ >= limits_.max_head_bytes) {
        cut_short_ = true;
        return -1;
      }
      n = std::min(n, limits_.max_head_bytes - head_bytes_);
      // The head ends with an empty line: "\n\r\n".
      for (size_t i = 0; i < n; ++i) {
        tail_ =
            ((tail_ << 8) | static_cast<unsigned char>(buffer_[begin_ + i])) &
            0xFFFFFF;
        if (tail_ == 0x0A0D0A) {
          head_done_ = true;
          n = i + 1;
          break;
        }
      }
      head_bytes_ += n;
    }
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    const Clock::time_point deadline = Clock::now() + write_timeout_;
    for (;;) {
      if (!Wait(sock_, POLLOUT, MillisUntil(deadline))) return -1;
      const ssize_t n = send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      AddressOf(addr, len, ip, port);
    }
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      AddressOf(addr, len, ip, port);
    }
  }

  socket_t socket() const override { return sock_; }

 private:
  // False once the client has closed its side: a stream (/api/live) ends
  // at its next turn instead of at its next failed write.
  bool IsAlive() const {
    if (has_buffered() || !Wait(sock_, POLLIN, 0)) return true;
    char c;
    return recv(sock_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  }

  const socket_t sock_;
  const BoundedServer::Limits& limits_;
  const std::chrono::milliseconds write_timeout_;
  Clock::time_point deadline_ = Clock::now();
  size_t head_bytes_ = 0;
  bool head_done_ = false;
  uint32_t tail_ = 0;  // the last three bytes of the head read
  bool cut_short_ = false;
  char buffer_[4096];
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace

void BoundedServer::CloseAfterResponse() { tls_close_after_response = true; }

bool BoundedServer::process_and_close_socket(socket_t sock) {
  int yes = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  BoundedStream stream(sock, limits_);
  bool ok = false;
  bool unread_input = false;
  for (size_t left = std::max<size_t>(1, limits_.keep_alive_max_requests);
       left > 0; --left) {
    // Wait for the next request's first byte, a little at a time so that
    // stop() is seen soon.
    const Clock::time_point idle_until =
        Clock::now() + absl::ToChronoMilliseconds(limits_.keep_alive_timeout);
    bool ready = stream.has_buffered();
    while (!ready && svr_sock_ != INVALID_SOCKET && Clock::now() < idle_until) {
      ready = Wait(sock, POLLIN, std::min(100, MillisUntil(idle_until)));
    }
    if (!ready || svr_sock_ == INVALID_SOCKET) break;

    tls_close_after_response = false;
    stream.BeginRequest();
    bool connection_closed = false;
    ok = process_request(stream, left == 1, connection_closed, nullptr);
    unread_input = stream.cut_short() || tls_close_after_response;
    tls_close_after_response = false;
    if (!ok || connection_closed || unread_input) break;
  }
  if (unread_input) {
    // Closing with unread input would reset the connection, and the client
    // might lose the answer: drain a little first (1 s, 1 MiB at most).
    shutdown(sock, SHUT_WR);
    const Clock::time_point until = Clock::now() + std::chrono::seconds(1);
    char sink[4096];
    size_t drained = 0;
    while (drained < (1 << 20) && Wait(sock, POLLIN, MillisUntil(until))) {
      const ssize_t n = recv(sock, sink, sizeof(sink), 0);
      if (n <= 0) break;
      drained += static_cast<size_t>(n);
    }
  }
  shutdown(sock, SHUT_RDWR);
  close(sock);
  return ok;
}

}  // namespace chatkpi

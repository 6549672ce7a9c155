#include "query/bounded_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

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
  // `read_ahead`: bytes of the stream already read from the socket.
  BoundedStream(socket_t sock, const BoundedServer::Limits& limits,
                std::string read_ahead)
      : sock_(sock),
        limits_(limits),
        write_timeout_(absl::ToChronoMilliseconds(limits.write_timeout)),
        buffer_(std::move(read_ahead)),
        end_(buffer_.size()) {}

  // Starts the next request, whose first byte came at `start`: a new head
  // budget and deadline.
  void BeginRequest(Clock::time_point start) {
    head_bytes_ = 0;
    head_done_ = false;
    tail_ = 0;
    deadline_ = start + absl::ToChronoMilliseconds(limits_.request_timeout);
  }
  // The bytes read from the socket and not taken by the request (the start
  // of a pipelined next one).
  std::string TakeBuffered() {
    std::string rest = buffer_.substr(begin_, end_ - begin_);
    begin_ = end_ = 0;
    return rest;
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
      buffer_.resize(4096);
      ssize_t n;
      do {
        n = recv(sock_, buffer_.data(), buffer_.size(), 0);
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
    std::memcpy(ptr, buffer_.data() + begin_, n);
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
  std::string buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

// Whether `bytes` hold a whole request head (it ends with an empty line).
bool HasWholeHead(const std::string& bytes) {
  return bytes.find("\n\r\n") != std::string::npos;
}

// Closing with unread input would reset the connection, and the client
// might lose the answer: drain a little first (1 s, 1 MiB at most).
void DrainBeforeClose(int sock) {
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

}  // namespace

// A connection between the waiter and the workers.
struct BoundedServer::Connection {
  Connection(socket_t s, std::atomic<size_t>* open_count)
      : sock(s), open(open_count) {
    open->fetch_add(1);
  }
  ~Connection() {
    shutdown(sock, SHUT_RDWR);
    close(sock);
    open->fetch_sub(1);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const socket_t sock;
  std::atomic<size_t>* const open;
  std::string read_ahead;  // read, not yet taken by a request
  size_t requests_left = 1;
  bool in_request = false;          // read_ahead holds part of a head
  Clock::time_point request_start;  // first byte of that request
  Clock::time_point deadline;       // then the connection is closed
};

// Holds every connection between requests in one epoll set: reads what
// arrives (without blocking) until a request head is whole, then hands the
// connection to the workers; closes connections past their deadline.
class BoundedServer::Waiter {
 public:
  explicit Waiter(BoundedServer* server) : server_(server) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    thread_ = std::thread([this] { Run(); });
  }
  ~Waiter() {
    {
      absl::MutexLock l(&mu_);
      stop_ = true;
    }
    Wake();
    thread_.join();
    close(epoll_);
    close(wake_);
  }

  // Thread-safe. After the waiter stopped, `c` is closed.
  void Add(std::unique_ptr<Connection> c) {
    {
      absl::MutexLock l(&mu_);
      if (stop_) return;
      incoming_.push_back(std::move(c));
    }
    Wake();
  }

 private:
  void Wake() {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_, &one, sizeof(one));
    (void)ignored;
  }

  void Run() {
    epoll_event events[64];
    for (;;) {
      const int n = epoll_wait(epoll_, events, 64, 100);
      std::vector<std::unique_ptr<Connection>> incoming;
      {
        absl::MutexLock l(&mu_);
        if (stop_) break;
        incoming.swap(incoming_);
      }
      for (auto& c : incoming) Park(std::move(c));
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == wake_) {
          uint64_t count;
          ssize_t ignored = read(wake_, &count, sizeof(count));
          (void)ignored;
          continue;
        }
        auto it = parked_.find(events[i].data.fd);
        if (it != parked_.end()) ReadFrom(it);
      }
      const Clock::time_point now = Clock::now();
      for (auto it = parked_.begin(); it != parked_.end();) {
        it = now >= it->second->deadline ? parked_.erase(it) : std::next(it);
      }
    }
    parked_.clear();  // closes them
  }

  void Park(std::unique_ptr<Connection> c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c->sock;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, c->sock, &ev) != 0) return;
    parked_[c->sock] = std::move(c);
  }

  using Parked = std::unordered_map<int, std::unique_ptr<Connection>>;

  void ReadFrom(Parked::iterator it) {
    Connection& c = *it->second;
    const size_t cap = server_->limits_.max_head_bytes + 1;
    bool eof = false;
    char buf[4096];
    while (c.read_ahead.size() < cap) {
      const ssize_t n =
          recv(c.sock, buf, std::min(sizeof(buf), cap - c.read_ahead.size()),
               MSG_DONTWAIT);
      if (n > 0) {
        if (!c.in_request) {
          c.in_request = true;
          c.request_start = Clock::now();
          c.deadline = c.request_start + absl::ToChronoMilliseconds(
                                             server_->limits_.request_timeout);
        }
        c.read_ahead.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // closed by the client, or an error
      break;
    }
    // A whole head (or more than may be) goes to a worker, which answers
    // it (or refuses it) even when the client has closed its sending side.
    if (HasWholeHead(c.read_ahead) ||
        c.read_ahead.size() > server_->limits_.max_head_bytes) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, c.sock, nullptr);
      std::unique_ptr<Connection> ready = std::move(it->second);
      parked_.erase(it);
      server_->Enqueue(std::move(ready));
      return;
    }
    if (eof) parked_.erase(it);
  }

  BoundedServer* const server_;
  int epoll_ = -1;
  int wake_ = -1;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Connection>> incoming_ ABSL_GUARDED_BY(mu_);
  Parked parked_;  // waiter thread only
  std::thread thread_;
};

BoundedServer::BoundedServer() {
  // httplib's accept loop only hands connections over (below): one thread.
  new_task_queue = [] { return new httplib::ThreadPool(1); };
}

BoundedServer::~BoundedServer() { StopWorkers(); }

void BoundedServer::CloseAfterResponse() { tls_close_after_response = true; }

bool BoundedServer::SetBacklog(int backlog) {
  const socket_t sock = svr_sock_;
  return sock != INVALID_SOCKET && ::listen(sock, backlog) == 0;
}

void BoundedServer::StartWorkers() {
  if (waiter_ != nullptr) return;
  {
    absl::MutexLock l(&mu_);
    stop_workers_ = false;
  }
  waiter_ = std::make_unique<Waiter>(this);
  for (size_t i = 0; i < std::max<size_t>(1, limits_.threads); ++i) {
    workers_.emplace_back([this] { WorkLoop(); });
  }
}

void BoundedServer::StopWorkers() {
  if (waiter_ == nullptr) return;
  // Workers first (they finish the requests in flight and may still hand
  // connections to the waiter), then the waiter, which closes the rest.
  {
    absl::MutexLock l(&mu_);
    stop_workers_ = true;
  }
  cv_.SignalAll();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  waiter_.reset();
  absl::MutexLock l(&mu_);
  ready_.clear();
}

bool BoundedServer::stopping() const { return svr_sock_ == INVALID_SOCKET; }

void BoundedServer::Enqueue(std::unique_ptr<Connection> c) {
  {
    absl::MutexLock l(&mu_);
    if (stop_workers_) return;
    ready_.push_back(std::move(c));
  }
  cv_.Signal();
}

void BoundedServer::WorkLoop() {
  for (;;) {
    std::unique_ptr<Connection> c;
    {
      absl::MutexLock l(&mu_);
      while (!stop_workers_ && ready_.empty()) cv_.Wait(&mu_);
      if (stop_workers_) return;
      c = std::move(ready_.front());
      ready_.pop_front();
    }
    Serve(std::move(c));
  }
}

bool BoundedServer::process_and_close_socket(socket_t sock) {
  auto c = std::make_unique<Connection>(sock, &open_connections_);
  if (open_connections_.load() > std::max<size_t>(1, limits_.max_connections) ||
      waiter_ == nullptr) {
    return false;  // closed: over the limit
  }
  int yes = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  c->requests_left = std::max<size_t>(1, limits_.keep_alive_max_requests);
  c->deadline =
      Clock::now() + absl::ToChronoMilliseconds(limits_.keep_alive_timeout);
  waiter_->Add(std::move(c));
  return true;
}

void BoundedServer::Serve(std::unique_ptr<Connection> c) {
  for (;;) {
    if (stopping()) return;
    BoundedStream stream(c->sock, limits_, std::move(c->read_ahead));
    stream.BeginRequest(c->request_start);
    tls_close_after_response = false;
    bool connection_closed = false;
    const bool ok = process_request(stream, c->requests_left == 1,
                                    connection_closed, nullptr);
    const bool unread_input = stream.cut_short() || tls_close_after_response;
    tls_close_after_response = false;
    --c->requests_left;
    if (unread_input) DrainBeforeClose(c->sock);
    if (!ok || connection_closed || unread_input || c->requests_left == 0) {
      return;
    }
    c->read_ahead = stream.TakeBuffered();
    const Clock::time_point now = Clock::now();
    c->request_start = now;
    if (HasWholeHead(c->read_ahead)) continue;  // pipelined
    c->in_request = !c->read_ahead.empty();
    c->deadline = now + absl::ToChronoMilliseconds(
                            c->in_request ? limits_.request_timeout
                                          : limits_.keep_alive_timeout);
    break;
  }
  if (stopping() || waiter_ == nullptr) return;
  waiter_->Add(std::move(c));
}

}  // namespace chatkpi

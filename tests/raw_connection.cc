#include "tests/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace chatkpi::testing {

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  timeval tv{30, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

RawConnection::~RawConnection() { Close(); }

bool RawConnection::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawConnection::ReadUntil(std::string_view needle) {
  while (received_.find(needle) == std::string::npos) {
    if (Read() <= 0) return false;
  }
  return true;
}

bool RawConnection::ReadToEnd() {
  for (;;) {
    const ssize_t n = Read();
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;
  }
}

bool RawConnection::ClosedByServer() {
  char c;
  const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

void RawConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int RawConnection::status() const {
  if (received_.size() < 12 || received_.compare(0, 5, "HTTP/") != 0) {
    return 0;
  }
  return std::atoi(received_.c_str() + 9);
}

ssize_t RawConnection::Read() {
  char buf[4096];
  const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n > 0) received_.append(buf, static_cast<size_t>(n));
  return n;
}

std::unique_ptr<RawConnection> RequestLive(int port, const std::string& token) {
  auto c = std::make_unique<RawConnection>(port);
  if (c->connected()) {
    c->Send(absl::StrCat("GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                         "Authorization: Bearer ", token, "\r\n\r\n"));
  }
  return c;
}

}  // namespace chatkpi::testing

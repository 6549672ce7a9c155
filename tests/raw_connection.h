// A raw HTTP/1.1 connection to a server on 127.0.0.1, for what httplib's
// client hides: a stream (/api/live) read as it comes, a request sent in
// part, a close at a chosen moment. Used by the in-process server tests and
// the process tests alike. Every read gives up after 30 s, so that a broken
// server fails a test rather than hanging it.
#ifndef CHATKPI_TESTS_RAW_CONNECTION_H_
#define CHATKPI_TESTS_RAW_CONNECTION_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace chatkpi::testing {

class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  // Sends all of `data`; false if the connection refused part of it.
  bool Send(std::string_view data);

  // Reads until `needle` has arrived; false at the end of the stream or
  // after 30 s without it.
  bool ReadUntil(std::string_view needle);

  // Reads until the server closes the connection (or resets it): true;
  // false if it was still open after 30 s without a byte.
  bool ReadToEnd();

  // Whether the server has closed the connection, without waiting.
  bool ClosedByServer();

  void Close();

  // The status of the first response, once its status line has arrived.
  int status() const;
  const std::string& received() const { return received_; }

 private:
  ssize_t Read();

  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

// Opens GET /api/live with `token` as its bearer token; nothing read yet.
std::unique_ptr<RawConnection> RequestLive(int port, const std::string& token);

}  // namespace chatkpi::testing

#endif  // CHATKPI_TESTS_RAW_CONNECTION_H_

// A raw TCP client for HTTP tests that need what no well-behaved client
// does: exact bytes on the wire (ambiguous framing, pipelining, a byte at
// a time), connections held open idle, and watching the server close.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace refinery::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port (blocking). Throws std::runtime_error on failure.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends all of `bytes`; false once the server has closed or reset the
  // connection (never raises SIGPIPE).
  bool Send(std::string_view bytes);
  // Sends what fits without blocking; returns the bytes sent (0 when the
  // socket buffers are full), or -1 once the connection is closed or reset.
  long SendSome(std::string_view bytes);
  // Reads the next response (status line, headers, a Content-Length body;
  // a response without Content-Length, or to a HEAD request (`to_head`),
  // has none). nullopt when the connection ends or `timeout` passes first.
  std::optional<RawResponse> ReadResponse(std::chrono::milliseconds timeout, bool to_head = false);
  // True once the server closed or reset the connection (reading and
  // dropping whatever else it sends) within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // Half-closes: the server reads the end of the stream after what was sent.
  void FinishSending();
  // Everything the server sends until it closes the connection; nullopt
  // when it is still open after `timeout` (a hang).
  std::optional<std::string> ReadUntilClosed(std::chrono::milliseconds timeout);
  // Closes with a reset (SO_LINGER 0) instead of a FIN, so a test opening
  // connections by the thousand leaves no TIME_WAIT behind to run out of ports.
  void Abort();
  // True when an answer, or the end of the connection, is ready to read now.
  bool Readable();
  // Waits up to `timeout` until SendSome can send again, the connection
  // failed, or (with `or_readable`) something arrived.
  void AwaitWritable(std::chrono::milliseconds timeout, bool or_readable);

 private:
  // Appends what arrives within `timeout` to buffer_; false on EOF/error/timeout.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;  // received, not yet returned
};

// "GET <path> HTTP/1.1" with a Host header and nothing else.
std::string RawGet(const std::string& path);

}  // namespace refinery::testing

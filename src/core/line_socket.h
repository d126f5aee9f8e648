// One request line, one reply line over a Unix stream socket: the framing
// of `refinery up`'s control socket, shared by its server (supervisor) and
// its client (control) so neither depends on the other.
#pragma once

#include <sys/un.h>

#include <string>
#include <utility>

#include "core/status.h"

namespace refinery {

// A socket fd, closed on destruction unless released.
class SocketFd {
 public:
  explicit SocketFd(int fd) : fd_(fd) {}
  ~SocketFd();
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// InvalidArgument when `path` does not fit a sockaddr_un.
Result<sockaddr_un> UnixAddress(const std::string& path);
// A fresh Unix stream socket (close-on-exec); get() < 0 on failure.
SocketFd NewUnixSocket();
bool ConnectUnix(int fd, const sockaddr_un& addr);
// Send and receive timeouts, so a peer that stops answering cannot hang us.
void SetSocketTimeouts(int fd, double seconds);
// Up to the first newline (excluded) or EOF, at most 64 KiB; empty on
// timeout or error.
std::string ReadLine(int fd);
// All of `data`, retrying short writes; false when the peer went away.
bool WriteAll(int fd, const std::string& data);

}  // namespace refinery

#include "control/control_client.h"

#include <cerrno>
#include <cstring>

#include "core/line_socket.h"

namespace refinery {

Result<std::string> ControlRequest(const std::string& path, const std::string& line, double timeout_s) {
  auto addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  SocketFd fd = NewUnixSocket();
  if (fd.get() < 0 || !ConnectUnix(fd.get(), *addr)) {
    return Status::Unavailable("no supervisor is running (" + path + ": " + std::strerror(errno) + ")");
  }
  SetSocketTimeouts(fd.get(), timeout_s);
  if (!WriteAll(fd.get(), line + "\n")) return Status::Unavailable("control socket: send failed");
  std::string reply = ReadLine(fd.get());
  if (reply.empty()) return Status::Timeout("no reply from the supervisor within " + std::to_string(timeout_s) + " s");
  return reply;
}

}  // namespace refinery

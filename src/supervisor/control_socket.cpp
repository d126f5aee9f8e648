// The supervisor's control socket: a Unix stream socket, one request line
// and one JSON reply line per connection. Connections are served one at a
// time (a `stop` may hold the next request for up to the stop grace), which
// keeps the server a single thread for a handful of operator commands.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/line_socket.h"
#include "supervisor/supervisor.h"

namespace refinery {

namespace {

using nlohmann::json;

constexpr std::chrono::seconds kControlWait{30};  // a stop's grace plus margin

std::string Reply(const Status& status) {
  json reply = {{"ok", status.ok()}};
  if (!status.ok()) reply["error"] = status.message();
  return reply.dump();
}

std::string Dispatch(Supervisor& supervisor, const std::string& line) {
  std::istringstream words(line);
  std::string verb, name;
  words >> verb >> name;
  if (verb == "status") return StatusJson(supervisor.Snapshot());
  const ControlAction action = verb == "stop"    ? ControlAction::kStop
                               : verb == "start" ? ControlAction::kStart
                                                 : ControlAction::kRestart;
  if ((verb != "stop" && verb != "start" && verb != "restart") || name.empty()) {
    return Reply(Status::InvalidArgument("want: status | stop NAME | start NAME | restart NAME"));
  }
  return Reply(supervisor.Control(action, name, kControlWait));
}

}  // namespace

std::string StatusJson(const std::vector<ServiceStatus>& statuses) {
  json services = json::array();
  const double now = NowSeconds();
  for (const auto& st : statuses) {
    json service = {{"name", st.name},
                    {"pid", st.pid},
                    {"state", ServiceStateName(st.state)},
                    {"health", HealthName(st.health)},
                    {"restarts", st.restarts},
                    {"uptime_s", st.pid > 0 ? now - st.started_at : 0.0},
                    {"held", st.held},
                    {"last_exit", st.last_exit ? st.last_exit->ToString() : ""},
                    {"last_error", st.last_error}};
    services.push_back(std::move(service));
  }
  return json{{"services", services}}.dump();
}

Result<std::unique_ptr<ControlServer>> ControlServer::Listen(Supervisor& supervisor, const std::string& path) {
  auto addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  SocketFd probe = NewUnixSocket();
  if (probe.get() >= 0 && ConnectUnix(probe.get(), *addr)) {
    return Status::Conflict("another supervisor is listening on " + path);
  }
  ::unlink(path.c_str());  // a stale socket of a supervisor that died
  SocketFd fd = NewUnixSocket();
  if (fd.get() < 0 || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    return Status::Unavailable("control socket " + path + ": " + std::strerror(errno));
  }
  return std::make_unique<ControlServer>(Key{}, supervisor, path, fd.release());
}

ControlServer::ControlServer(Key, Supervisor& supervisor, std::string path, int fd)
    : supervisor_(supervisor), path_(std::move(path)), fd_(fd), thread_([this] { Loop(); }) {}

ControlServer::~ControlServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void ControlServer::Loop() {
  while (!stop_.load()) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    SocketFd conn(::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.get() < 0) continue;
    SetSocketTimeouts(conn.get(), 2);
    const std::string line = ReadLine(conn.get());
    if (line.empty()) continue;
    if (!WriteAll(conn.get(), Dispatch(supervisor_, line) + "\n")) spdlog::debug("control: client went away");
  }
}

}  // namespace refinery

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

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "supervisor/supervisor.h"

namespace refinery {

namespace {

using nlohmann::json;

constexpr std::chrono::seconds kControlWait{30};  // a stop's grace plus margin

// A socket fd closed on scope exit.
struct Fd {
  explicit Fd(int value) : fd(value) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int release() { return std::exchange(fd, -1); }
  int fd;
};

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Status::InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

bool Connect(int fd, const sockaddr_un& addr) {
  return ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

void SetTimeouts(int fd, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Reads up to the first newline (excluded) or EOF; empty on timeout/error.
std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (line.size() < 64 * 1024) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
  }
  return line;
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

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
  const ControlAction action = verb == "stop" ? ControlAction::kStop
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
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe.fd >= 0 && Connect(probe.fd, *addr)) {
    return Status::Conflict("another supervisor is listening on " + path);
  }
  ::unlink(path.c_str());  // a stale socket of a supervisor that died
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.fd < 0 || ::bind(fd.fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 ||
      ::listen(fd.fd, 16) != 0) {
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
    Fd conn(::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.fd < 0) continue;
    SetTimeouts(conn.fd, 2);
    const std::string line = ReadLine(conn.fd);
    if (line.empty()) continue;
    if (!WriteAll(conn.fd, Dispatch(supervisor_, line) + "\n")) spdlog::debug("control: client went away");
  }
}

Result<std::string> ControlRequest(const std::string& path, const std::string& line, double timeout_s) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.fd < 0 || !Connect(fd.fd, *addr)) {
    return Status::Unavailable("no supervisor is running (" + path + ": " + std::strerror(errno) + ")");
  }
  SetTimeouts(fd.fd, timeout_s);
  if (!WriteAll(fd.fd, line + "\n")) return Status::Unavailable("control socket: send failed");
  std::string reply = ReadLine(fd.fd);
  if (reply.empty()) return Status::Timeout("no reply from the supervisor within " + std::to_string(timeout_s) + " s");
  return reply;
}

}  // namespace refinery

// FakeLlmServer's lifecycle and connections: the listener, one thread per
// connection, and faults and latency around the routes.
#include "support/fake_llm_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <list>
#include <stdexcept>
#include <thread>
#include <utility>

#include "support/fake_llm_internal.h"

namespace refinery::testing {
namespace fake_llm {

// One accepted connection. Its thread owns the socket; Stop() may only
// shut it down (waking a blocked recv or send), under `mu`, so it never
// touches a descriptor number the thread has closed and the kernel reused.
struct Connection {
  explicit Connection(int socket) : fd(socket) {}
  ~Connection() { Close(false); }  // after the thread is joined

  void Shutdown() {
    std::lock_guard lock(mu);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  // `reset`: SO_LINGER {1, 0}, so the close sends RST instead of FIN.
  void Close(bool reset) {
    std::lock_guard lock(mu);
    if (fd < 0) return;
    if (reset) {
      linger abort{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    ::close(fd);
    fd = -1;
  }

  std::mutex mu;
  int fd;  // GUARDED_BY(mu) for writes; the thread reads its own copy
  std::thread thread;
  std::atomic<bool> done{false};  // the thread has finished: join and drop
};

}  // namespace fake_llm

namespace {

using fake_llm::Answer;
using fake_llm::Connection;
using fake_llm::Fd;
using fake_llm::Request;
using fake_llm::State;

// Counts a request in flight from when it is read until its answer starts.
// Ends before the answer is sent: a client can only start its next request
// after reading an answer, so a cap of N never shows as N + 1 here.
class InFlightGuard {
 public:
  explicit InFlightGuard(State& state) : state_(state) {
    std::lock_guard lock(state_.mu);
    state_.max_in_flight = std::max(state_.max_in_flight, ++state_.in_flight);
  }
  ~InFlightGuard() { End(); }
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;
  void End() {
    if (std::exchange(ended_, true)) return;
    std::lock_guard lock(state_.mu);
    --state_.in_flight;
  }

 private:
  State& state_;
  bool ended_ = false;
};

// REQUIRES: state.mu held. The fault for this request, if any: the path's
// own queue first, then the all-paths one.
std::optional<Fault> TakeFault(State& state, const std::string& path) {
  for (const std::string& key : {path, std::string(FakeLlmServer::kAllPaths)}) {
    auto it = state.faults.find(key);
    if (it == state.faults.end() || it->second.empty()) continue;
    Fault fault = it->second.front();
    if (fault.times != Fault::kForever && --it->second.front().times <= 0) it->second.pop_front();
    return fault;
  }
  return std::nullopt;
}

}  // namespace

bool FakeLlmServer::Impl::Sleep(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) return true;
  std::unique_lock lock(sleep_mu);
  return !sleep_cv.wait_for(lock, duration, [this] { return stopping; });
}

void FakeLlmServer::Impl::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listener.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "fake_llm_server: poll: %s\n", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client gave up already (ECONNABORTED and the like)
    int one = 1;           // small answers go out at once, not after the client's delayed ACK
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_shared<Connection>(fd);
    std::lock_guard lock(conns_mu);
    for (auto it = conns.begin(); it != conns.end();) {  // reap finished connections
      if ((*it)->done) {
        (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    conns.push_back(conn);
    conn->thread = std::thread([this, c = conn.get()] { Serve(*c); });
  }
}

void FakeLlmServer::Impl::Serve(Connection& conn) {
  const int fd = conn.fd;  // only this thread closes it
  std::string buffer;
  while (true) {
    Request request;
    int error_status = 0;
    if (!fake_llm::ReadRequest(fd, buffer, request, error_status)) {
      if (error_status != 0) {
        fake_llm::SendAnswer(fd, fake_llm::TextAnswer(error_status, "malformed request"), false, false);
      }
      break;
    }
    if (!Handle(conn, fd, request)) break;
  }
  conn.Close(false);
  conn.done = true;
}

bool FakeLlmServer::Impl::Handle(Connection& conn, int fd, const Request& request) {
  InFlightGuard in_flight(state);
  std::optional<Fault> fault;
  std::chrono::milliseconds wait{0};
  std::chrono::milliseconds stream_delay{0};
  {
    std::lock_guard lock(state.mu);
    ++state.counts[request.path];
    ++state.total_requests;
    state.history.emplace_back(request.path, request.body);
    if (state.history.size() > kHistoryLimit) state.history.pop_front();
    fault = TakeFault(state, request.path);
    wait = state.latency + (fault ? fault->delay : std::chrono::milliseconds(0));
    stream_delay = state.stream_delay;
  }
  if (!Sleep(wait)) return false;
  Answer answer;
  if (fault && fault->status != 0) {
    answer = fake_llm::FaultAnswer(*fault, request.path);
  } else {
    try {
      answer = fake_llm::Route(state, request);
    } catch (const std::exception& e) {  // a throwing chat script, or a bug here: say so
      std::fprintf(stderr, "fake_llm_server: %s %s: %s\n", request.method.c_str(), request.path.c_str(), e.what());
      answer = fake_llm::TextAnswer(500, std::string("fake_llm_server: ") + e.what());
    }
  }
  if (fault && fault->retry_after_s) answer.headers.emplace_back("Retry-After", std::to_string(*fault->retry_after_s));
  in_flight.End();
  if (fault && fault->reset_mid_answer) {
    std::string body = fake_llm::WholeBody(answer);
    fake_llm::SendAll(fd, fake_llm::AnswerHead(answer, true, body.size()) + body.substr(0, body.size() / 2));
    conn.Close(true);
    return false;
  }
  auto pause = [&] { return Sleep(stream_delay); };
  return fake_llm::SendAnswer(fd, answer, request.keep_alive, request.method == "HEAD", pause) && request.keep_alive;
}
FakeLlmServer::FakeLlmServer(int port) : impl_(std::make_unique<Impl>()) { impl_->port = port; }

FakeLlmServer::~FakeLlmServer() { Stop(); }

void FakeLlmServer::Start() {
  std::lock_guard life(impl_->life_mu);
  if (impl_->running) return;
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;  // rebind the same port at once, TIME_WAIT connections or not
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(impl_->port.load()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 128) != 0) {
    throw std::runtime_error("listen on 127.0.0.1:" + std::to_string(impl_->port) + ": " + std::strerror(errno));
  }
  socklen_t size = sizeof addr;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &size);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  impl_->wake_read.reset(pipe_fds[0]);
  impl_->wake_write.reset(pipe_fds[1]);
  impl_->listener = std::move(listener);
  impl_->port = ntohs(addr.sin_port);
  {
    std::lock_guard lock(impl_->sleep_mu);
    impl_->stopping = false;
  }
  impl_->running = true;
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->AcceptLoop(); });
}

void FakeLlmServer::Stop() {
  std::lock_guard life(impl_->life_mu);
  if (!impl_->running) return;
  {
    std::lock_guard lock(impl_->sleep_mu);
    impl_->stopping = true;
  }
  impl_->sleep_cv.notify_all();
  char byte = 1;
  if (::write(impl_->wake_write.get(), &byte, 1) != 1) {
    std::fprintf(stderr, "fake_llm_server: waking the accept loop: %s\n", std::strerror(errno));
  }
  impl_->acceptor.join();
  impl_->listener.reset();  // refuses new connections from here on
  std::list<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lock(impl_->conns_mu);
    conns.swap(impl_->conns);
  }
  for (auto& conn : conns) conn->Shutdown();
  for (auto& conn : conns) conn->thread.join();
  conns.clear();
  impl_->wake_read.reset();
  impl_->wake_write.reset();
  impl_->running = false;
}

bool FakeLlmServer::running() const { return impl_->running; }
int FakeLlmServer::port() const { return impl_->port; }
std::string FakeLlmServer::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

}  // namespace refinery::testing

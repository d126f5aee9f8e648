// TestSite's server: the listener, one thread per connection, routing,
// drips and delays that Stop() cuts short, and the request log. The HTTP
// framing is in test_site_http.cpp.
#include "support/test_site.h"

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
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "support/test_site_internal.h"

namespace refinery::testing {
namespace {

using site_internal::Incoming;
using site_internal::SendAll;
using site_internal::TextResponse;

constexpr size_t kDripPiece = 64;

// A duration in seconds as the clocks' own.
std::chrono::steady_clock::duration Seconds(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// One accepted connection. Its thread owns the socket; Stop() only shuts it
// down (waking a blocked recv or send), under `mu`, so it never touches a
// descriptor number the thread has closed and the kernel reused.
struct Connection {
  explicit Connection(int socket) : fd(socket) {}
  ~Connection() { Close(); }  // after the thread is joined

  void Shutdown() {
    std::lock_guard lock(mu);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  void Close() {
    std::lock_guard lock(mu);
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  std::mutex mu;
  int fd;  // GUARDED_BY(mu) for writes; the thread reads its own copy
  std::thread thread;
  std::atomic<bool> done{false};  // the thread has finished: join and drop
};

}  // namespace

struct TestSite::Impl {
  std::string host;
  int port = 0;
  Fd listener;
  Fd wake_read, wake_write;  // a byte on this pipe ends the accept loop
  std::thread acceptor;
  std::mutex life_mu;    // serialises Stop()
  bool running = false;  // GUARDED_BY(life_mu)

  std::mutex conns_mu;
  std::list<std::unique_ptr<Connection>> conns;  // GUARDED_BY(conns_mu)

  // Delays and drips wait on this, so Stop() need not sit them out.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // GUARDED_BY(stop_mu)

  std::mutex routes_mu;
  std::map<std::string, SiteResponse, std::less<>> fixed;  // GUARDED_BY(routes_mu)
  std::map<std::string, Handler, std::less<>> handlers;    // GUARDED_BY(routes_mu)

  mutable std::mutex log_mu;
  mutable std::condition_variable log_cv;          // on every request, and on Stop()
  std::vector<SiteRequest> log;                    // GUARDED_BY(log_mu)
  std::map<std::string, int, std::less<>> counts;  // by target; GUARDED_BY(log_mu)
  bool stopped = false;                            // GUARDED_BY(log_mu)

  // false when Stop() came first.
  bool SleepUntil(std::chrono::steady_clock::time_point due) {
    std::unique_lock lock(stop_mu);
    return !stop_cv.wait_until(lock, due, [this] { return stopping; });
  }

  void AcceptLoop();
  void Serve(Connection& conn);
  void Log(const SiteRequest& request);
  SiteResponse Respond(const SiteRequest& request);
  // Answers one request; false when the connection is to close.
  bool Answer(int fd, const Incoming& in, const SiteResponse& response);
  bool Drip(int fd, std::string_view body, double bytes_per_s);
};

void TestSite::Impl::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listener.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "test_site: poll: %s\n", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client gave up already (ECONNABORTED and the like)
    int one = 1;           // small answers go out at once, not after the client's delayed ACK
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(conns_mu);
    for (auto it = conns.begin(); it != conns.end();) {  // reap finished connections
      if ((*it)->done) {
        (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    Connection& conn = *conns.emplace_back(std::make_unique<Connection>(fd));
    conn.thread = std::thread([this, &conn] { Serve(conn); });
  }
}

void TestSite::Impl::Serve(Connection& conn) {
  const int fd = conn.fd;  // only this thread closes it
  std::string buffer;
  while (true) {
    Incoming in;
    if (!site_internal::ReadRequest(fd, buffer, in)) {
      if (in.error_status != 0) {
        Answer(fd, in, TextResponse(in.error_status, std::string(site_internal::ReasonPhrase(in.error_status))));
      }
      break;
    }
    Log(in.request);
    SiteResponse response = Respond(in.request);
    if (response.delay_s > 0 && !SleepUntil(in.request.received + Seconds(response.delay_s))) break;
    if (!Answer(fd, in, response)) break;
  }
  conn.Close();
  conn.done = true;
}

void TestSite::Impl::Log(const SiteRequest& request) {
  {
    std::lock_guard lock(log_mu);
    log.push_back(request);
    ++counts[request.target];
  }
  log_cv.notify_all();
}

SiteResponse TestSite::Impl::Respond(const SiteRequest& request) {
  const std::string keys[] = {request.target, request.Path()};  // the exact target first
  Handler handler;
  std::optional<SiteResponse> response;
  {
    std::lock_guard lock(routes_mu);
    for (const std::string& key : keys) {
      if (auto it = handlers.find(key); it != handlers.end()) {
        handler = it->second;
        break;
      }
    }
    for (const std::string& key : keys) {
      if (auto it = fixed.find(key); !handler && it != fixed.end()) {
        response = it->second;
        break;
      }
    }
  }
  if (handler) {
    try {
      return handler(request);
    } catch (const std::exception& e) {  // a bug in a test's handler: say so
      std::fprintf(stderr, "test_site: handler for %s: %s\n", request.target.c_str(), e.what());
      return TextResponse(500, std::string("test_site handler: ") + e.what());
    }
  }
  return response ? std::move(*response) : TextResponse(404, "not found");
}

bool TestSite::Impl::Answer(int fd, const Incoming& in, const SiteResponse& response) {
  const bool gzip = response.gzip && site_internal::AcceptsGzip(in.request.Header("accept-encoding"));
  const bool keep_alive = in.keep_alive && !response.no_length && in.error_status == 0;
  const int status = response.status;
  const bool bodiless = (status >= 100 && status < 200) || status == 204 || status == 304;
  std::string body = bodiless ? "" : gzip ? GzipStored(response.body) : response.body;
  std::optional<size_t> length;
  if (!bodiless && !response.no_length) length = body.size();
  std::string head = site_internal::ResponseHead(response, gzip, keep_alive, length);
  if (bodiless || in.request.method == "HEAD") return SendAll(fd, head) && keep_alive;
  if (response.drip_bytes_per_s <= 0) return SendAll(fd, head + body) && keep_alive;
  return SendAll(fd, head) && Drip(fd, body, response.drip_bytes_per_s) && keep_alive;
}

// Sends `body` in pieces, each only once the bytes up to its end are due at
// `bytes_per_s` since the start: the client never sees more than the rate.
bool TestSite::Impl::Drip(int fd, std::string_view body, double bytes_per_s) {
  const auto start = std::chrono::steady_clock::now();
  for (size_t sent = 0; sent < body.size();) {
    size_t piece = std::min(kDripPiece, body.size() - sent);
    auto due = start + Seconds(static_cast<double>(sent + piece) / bytes_per_s);
    if (!SleepUntil(due) || !SendAll(fd, body.substr(sent, piece))) return false;
    sent += piece;
  }
  return true;
}

TestSite::TestSite(std::string bind_address) : impl_(std::make_unique<Impl>()) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, bind_address.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("test_site: not an IPv4 address: " + bind_address);
  }
  impl_->listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (impl_->listener.get() < 0) throw std::runtime_error(std::string("test_site: socket: ") + std::strerror(errno));
  int one = 1;  // TIME_WAIT connections of an earlier site do not block the bind
  ::setsockopt(impl_->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t size = sizeof addr;
  if (::bind(impl_->listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl_->listener.get(), 128) != 0 ||
      ::getsockname(impl_->listener.get(), reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    throw std::runtime_error("test_site: listen on " + bind_address + ": " + std::strerror(errno));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("test_site: pipe2: ") + std::strerror(errno));
  }
  impl_->wake_read.reset(pipe_fds[0]);
  impl_->wake_write.reset(pipe_fds[1]);
  impl_->host = std::move(bind_address);
  impl_->port = ntohs(addr.sin_port);
  impl_->running = true;
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->AcceptLoop(); });
}

TestSite::~TestSite() { Stop(); }

int TestSite::port() const { return impl_->port; }
std::string TestSite::host() const { return impl_->host; }
std::string TestSite::base_url() const { return "http://" + impl_->host + ":" + std::to_string(impl_->port); }

void TestSite::Set(std::string path, SiteResponse response) {
  std::lock_guard lock(impl_->routes_mu);
  impl_->fixed.insert_or_assign(std::move(path), std::move(response));
}

void TestSite::SetHandler(std::string path, Handler handler) {
  std::lock_guard lock(impl_->routes_mu);
  impl_->handlers.insert_or_assign(std::move(path), std::move(handler));
}

std::vector<SiteRequest> TestSite::Requests() const {
  std::lock_guard lock(impl_->log_mu);
  return impl_->log;
}

int TestSite::CountRequests(std::string_view target) const {
  std::lock_guard lock(impl_->log_mu);
  auto it = impl_->counts.find(target);
  return it == impl_->counts.end() ? 0 : it->second;
}

bool TestSite::WaitForRequests(std::string_view target, int n, double timeout_s) const {
  auto arrived = [&] {
    auto it = impl_->counts.find(target);
    return (it == impl_->counts.end() ? 0 : it->second) >= n;
  };
  std::unique_lock lock(impl_->log_mu);
  impl_->log_cv.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return arrived() || impl_->stopped; });
  return arrived();
}

void TestSite::Stop() {
  std::lock_guard life(impl_->life_mu);
  if (!impl_->running) return;
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  char byte = 1;
  if (::write(impl_->wake_write.get(), &byte, 1) != 1) {
    std::fprintf(stderr, "test_site: waking the accept loop: %s\n", std::strerror(errno));
  }
  impl_->acceptor.join();
  impl_->listener.reset();  // refuses new connections from here on
  std::list<std::unique_ptr<Connection>> conns;
  {
    std::lock_guard lock(impl_->conns_mu);
    conns.swap(impl_->conns);
  }
  for (auto& conn : conns) conn->Shutdown();
  for (auto& conn : conns) conn->thread.join();
  conns.clear();
  impl_->running = false;
  {
    std::lock_guard lock(impl_->log_mu);
    impl_->stopped = true;
  }
  impl_->log_cv.notify_all();
}

}  // namespace refinery::testing

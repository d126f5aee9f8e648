// ApiServer: configures cpp-httplib (see FACTS.md for why these settings)
// and wires the route groups.
#include "api/api.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/routes.h"
#include "core/log.h"

namespace refinery {
namespace {

// httplib's thread pool, with each connection's thread at niceness `nice`
// (setpriority per thread on Linux). Why: under saturation 64 busy request
// threads otherwise starve the processes requests wait on -- PostgreSQL
// backends, Redis -- and this process's own health checkers, so /health
// turned `degraded` and p99 grew on a loaded 2-core machine.
class NiceThreadPool : public httplib::TaskQueue {
 public:
  NiceThreadPool(size_t threads, int nice) : pool_(threads), nice_(nice) {}
  void enqueue(std::function<void()> fn) override {
    pool_.enqueue([fn = std::move(fn), nice = nice_] {
      // Idempotent and cheap (once per connection); raising niceness needs no privilege.
      if (nice != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
      fn();
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  const int nice_;
};

// Without TCP_NODELAY every response waits ~40 ms (Nagle + delayed ACK);
// the default keep-alive limit of 5 requests forces constant reconnects.
// `listen_socket` receives the socket httplib is about to bind, so Bind can
// raise its accept backlog afterwards.
void Configure(httplib::Server& server, const Config& config, std::atomic<int>* listen_socket) {
  server.set_tcp_nodelay(true);
  // httplib's default sets SO_REUSEPORT, which lets a second API process
  // bind the same port and silently share its traffic. SO_REUSEADDR alone
  // still allows a quick restart over TIME_WAIT but refuses a live listener.
  server.set_socket_options([listen_socket](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_socket->store(sock);
  });
  server.set_keep_alive_max_count(1000);
  server.set_payload_max_length(static_cast<size_t>(std::max<int64_t>(config.max_body_bytes, 0)));
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  // Blocking, thread-per-connection server: the pool bounds the concurrent
  // keep-alive connections served without queueing.
  size_t threads = static_cast<size_t>(std::max(config.http_threads, 1));
  // httplib's API requires a raw owning pointer here (it wraps it in a
  // unique_ptr inside listen): the one naked `new` it forces on us.
  const int nice = config.http_thread_nice;
  server.new_task_queue = [threads, nice] { return new NiceThreadPool(threads, nice); };
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("api: {} {} -> {}", req.method, req.path, res.status);
  });
}

void AddHealthChecks(api::HealthMonitor& health, Services& s) {
  // A store or queue that answers reads but cannot write (a full disk, a
  // read-only replica) is down too: work cannot move.
  health.Add("store", [&s] {
    Status ping = s.store->Ping();
    return ping.ok() ? s.store->CheckWritable() : ping;
  });
  health.Add("queue", [&s] {
    Status ping = s.queue->Ping();
    return ping.ok() ? s.queue->CheckWritable() : ping;
  });
  health.Add("blob_store", [&s] { return s.blobs->Ping(); });
}

}  // namespace

// Member order matters: the router and handlers refer to the context and
// the server, so they are destroyed first; the context's health monitor
// stops its checker threads in its destructor.
struct ApiServer::Impl {
  explicit Impl(Services& services) : context(services), router(server, context.metrics) {
    Configure(server, services.config, &listen_socket);
    AddHealthChecks(context.health, services);
    api::AddDocumentRoutes(router, context);
    api::AddSearchRoutes(router, context);
    api::AddSystemRoutes(router, context);
    api::AddMetricsRoutes(router, context);
  }

  std::atomic<int> listen_socket{-1};  // the last socket httplib created for binding
  httplib::Server server;
  api::ApiContext context;
  api::Router router;

  std::mutex mutex;
  std::condition_variable serve_ended;
  int port = 0;                 // GUARDED_BY(mutex)
  bool bound = false;           // GUARDED_BY(mutex)
  bool serving = false;         // GUARDED_BY(mutex): inside Serve
  bool stop_requested = false;  // GUARDED_BY(mutex)
};

ApiServer::ApiServer(Services& services) : impl_(std::make_unique<Impl>(services)) {}

ApiServer::~ApiServer() {
  Stop();
  // Serve on another thread must have returned before the server goes away.
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->serve_ended.wait(lock, [this] { return !impl_->serving; });
}

Status ApiServer::Bind(const std::string& host, int port) {
  int bound = port == 0 ? impl_->server.bind_to_any_port(host) : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return Status::Unavailable("cannot bind " + host + ":" + std::to_string(port));
  }
  // Debian's httplib listens with a backlog of 5 (compiled into its .so):
  // under many new connections the kernel drops SYNs and clients stall for
  // 1, 3, 7 s. Listening again on the bound socket raises the backlog.
  if (::listen(impl_->listen_socket.load(), SOMAXCONN) != 0) {
    spdlog::warn("api: could not raise the accept backlog: {}", std::strerror(errno));
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->port = bound;
  impl_->bound = true;
  return Status::Ok();
}

int ApiServer::port() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->port;
}

void ApiServer::Serve() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stop_requested || !impl_->bound) return;
    impl_->serving = true;
  }
  spdlog::debug("api: serving on port {}", port());
  impl_->server.listen_after_bind();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->serving = false;
  }
  impl_->serve_ended.notify_all();
}

// httplib's stop() does nothing until listen has marked the server as
// running, so a Stop racing a just-started Serve waits out that short window.
void ApiServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop_requested = true;
  }
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      if (!impl_->serving) return;
    }
    if (impl_->server.is_running()) {
      impl_->server.stop();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace refinery

// Private to the API: an event-driven HTTP/1.1 server (Boost.Beast over
// Boost.Asio) that knows nothing of Refinery's routes.
//
// A few event-loop threads accept connections and read, parse and write
// every message; nothing on them blocks, so thousands of connections --
// idle, slow or busy -- cost a little memory each and never a thread.
// Requests the application marks as event-loop work (health probes) are
// answered right there; every other request runs on the HandlerPool's
// bounded threads, and waits at most `queue_wait` for one before it is
// answered 503 with Retry-After (load shedding).
//
// Each connection, one request at a time (pipelined requests are answered
// in order):
//   idle      -- from the end of the last answer (or the accept) to the
//                first byte of the next request: `idle_timeout`, then closed;
//   header    -- from that byte to the end of the header: `header_timeout`
//                (a slowloris is cut), at most `max_header_bytes` (431);
//   framing   -- checked before any body byte is read (FramingProblem:
//                400 and close); a declared Content-Length over
//                `max_body_bytes` is 413 at once, "Expect: 100-continue"
//                is honoured; a request with neither Content-Length nor
//                Transfer-Encoding has no body and is answered at once;
//   body      -- `body_timeout` for all of it, at most `max_body_bytes`
//                (a chunked body is cut with 413 the moment it passes it);
//   answer    -- `write_timeout` to write it.
// Every error the server answers itself goes through
// HttpApplication::Refuse (JSON, counted); after one the connection is
// closed gracefully (a short lingering read, so the client sees the
// answer rather than a reset).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/handler_pool.h"
#include "api/http_types.h"
#include "core/status.h"

namespace refinery::api {

struct HttpServerOptions {
  int event_threads = 2;
  HandlerPool::Options handlers;  // threads, niceness, queue wait
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 16 * 1024 * 1024;
};

class HttpServer {
 public:
  // Borrows `app`, which must outlive the server.
  HttpServer(const HttpServerOptions& options, HttpApplication& app);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on host:port (port 0: an ephemeral one) with SO_REUSEADDR and
  // without SO_REUSEPORT, so a second server on a port in use fails here
  // (Unavailable) instead of sharing it. Also raises the process's
  // file-descriptor soft limit to its hard limit: every connection is one.
  Status Bind(const std::string& host, int port);
  // The bound port; 0 before Bind.
  int port() const;
  // Serves until Stop(), on this thread and event_threads - 1 more; then
  // closes the listener and every connection, waits for running handlers
  // and drops queued ones. Returns at once if Stop() came first.
  // REQUIRES: Bind succeeded; called at most once.
  void Run();
  // Thread-safe, idempotent; Run returns soon after.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery::api

// The HTTP API: JSON over an event-driven HTTP/1.1 server (Boost.Beast;
// api/http_server.h), errors as {"error": {"code": "...", "message": "..."}}
// with a fitting status.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "pipeline/services.h"

namespace refinery {

class ApiServer {
 public:
  // Borrows `services`; they must outlive the server.
  explicit ApiServer(Services& services);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds host:port (port 0 picks a free one). Unavailable if it cannot bind.
  Status Bind(const std::string& host, int port);
  // The bound port. REQUIRES: Bind succeeded.
  int port() const;
  // Serves until Stop(); blocks. Waits first (at most 0.8 s) for the
  // health checks' first results, so no probe ever waits for one.
  // REQUIRES: Bind succeeded; called at most once.
  void Serve();
  // Thread-safe, also before Serve (which then returns at once); Serve
  // returns soon after: running handlers finish, queued requests and open
  // connections are dropped.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery

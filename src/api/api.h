// The HTTP API: JSON over cpp-httplib, errors as
// {"error": {"code": "...", "message": "..."}} with a fitting status.
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
  // Serves until Stop(); blocks. REQUIRES: Bind succeeded.
  void Serve();
  // Thread-safe; Serve returns soon after.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery

// Shared by the API tests: a real ApiServer on an ephemeral loopback port
// over real embedded backends in a temp dir, and a libcurl client.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "core/http_client.h"
#include "support/test_support.h"

namespace refinery::testing {

struct ApiReply {
  long status = 0;
  nlohmann::json body;  // discarded when the body is not JSON
  std::string raw;
  std::map<std::string, std::string> headers;
};

// Config for a test server whose data lives in `dir`.
inline Config TestConfig(const TempDir& dir) {
  Config config;
  config.data_dir = dir.path();
  config.http_threads = 4;
  config.max_body_bytes = 64 * 1024;  // small, so a 413 test needs no big upload
  config.visibility_timeout_s = 30;
  return config;
}

inline Services OpenTestServices(const Config& config) {
  auto services = OpenServices(config, OpenMode::kServe);
  if (!services.ok()) throw std::runtime_error(services.status().ToString());
  return std::move(services).value();
}

// Serves `services` on 127.0.0.1:<ephemeral> on a thread until destroyed.
class RunningServer {
 public:
  explicit RunningServer(Services& services) : server_(std::make_unique<ApiServer>(services)) {
    Status bound = server_->Bind("127.0.0.1", 0);
    if (!bound.ok()) throw std::runtime_error(bound.ToString());
    thread_ = std::thread([this] { server_->Serve(); });
  }
  ~RunningServer() { Shutdown(); }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  void Shutdown() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
  }

  int port() const { return server_->port(); }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  ApiReply Call(const std::string& method, const std::string& path, const std::string& body = "",
                double timeout_s = 10) const {
    return CallWith(method, path, body, {}, timeout_s);
  }

  // With `headers` on top (they replace the JSON Content-Type a body gets).
  ApiReply CallWith(const std::string& method, const std::string& path, const std::string& body,
                    const std::map<std::string, std::string>& headers, double timeout_s = 10) const {
    HttpRequest request;
    request.method = method;
    request.url = Url(path);
    request.body = body;
    request.timeout_s = timeout_s;
    if (!body.empty()) request.headers["Content-Type"] = "application/json";
    for (const auto& [name, value] : headers) request.headers[name] = value;
    auto response = HttpCall(request);
    if (!response.ok()) throw std::runtime_error(response.status().ToString());
    ApiReply reply;
    reply.status = response->status;
    reply.raw = response->body;
    reply.headers = response->headers;
    reply.body = nlohmann::json::parse(reply.raw, nullptr, /*allow_exceptions=*/false);
    return reply;
  }

  ApiReply Post(const std::string& path, const nlohmann::json& body) const { return Call("POST", path, body.dump()); }

 private:
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
};

// A server over fresh embedded backends in a temp dir of its own; `tune`
// adjusts the test config first.
class Served {
 public:
  explicit Served(const std::function<void(Config&)>& tune = {}) {
    Config config = TestConfig(dir_);
    if (tune) tune(config);
    services_ = OpenTestServices(config);
    server_ = std::make_unique<RunningServer>(services_);
  }
  int port() const { return server_->port(); }
  RunningServer& server() { return *server_; }
  Services& services() { return services_; }

 private:
  TempDir dir_;
  Services services_;
  std::unique_ptr<RunningServer> server_;
};

}  // namespace refinery::testing

// HttpSession against a real HTTP server on an ephemeral port: calls reuse
// their connection (the server sees one client port), HttpCall does not,
// and a session survives the server closing its connections.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/http_client.h"

namespace refinery {
namespace {

// Answers GET /port with nothing and records the client port of each request.
class PortServer {
 public:
  explicit PortServer(int port = 0) {
    server_.set_keep_alive_max_count(1000);  // httplib closes after 5 by default
    server_.set_keep_alive_timeout(1);       // stop() waits for idle keep-alive connections
    server_.set_tcp_nodelay(true);
    server_.Get("/port", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      ports_.insert(req.remote_port);
      res.set_content("ok", "text/plain");
    });
    port_ = port == 0 ? server_.bind_to_any_port("127.0.0.1") : port;
    if (port != 0 && !server_.bind_to_port("127.0.0.1", port)) throw std::runtime_error("bind failed");
    // Bound means listening: calls queue in the backlog until accepted.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~PortServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/port"; }
  size_t DistinctClientPorts() {
    std::lock_guard lock(mu_);
    return ports_.size();
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::set<int> ports_;
};

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.timeout_s = 5;
  return request;
}

TEST(HttpSessionTest, SequentialCallsShareOneConnection) {
  PortServer server;
  HttpSession session;
  for (int i = 0; i < 5; ++i) {
    auto response = session.Call(Get(server.Url()));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok");
  }
  EXPECT_EQ(server.DistinctClientPorts(), 1u);

  PortServer other;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(HttpCall(Get(other.Url())).ok());
  EXPECT_EQ(other.DistinctClientPorts(), 3u);  // one-off calls: a connection each
}

TEST(HttpSessionTest, ConcurrentCallsKeepAtMostMaxIdleConnections) {
  PortServer server;
  HttpSession session(/*max_idle=*/4);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto response = session.Call(Get(server.Url()));
        if (!response.ok() || response->status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(server.DistinctClientPorts(), 4u);
}

// The server restarted (S3 redeployed): the kept connection is dead, and
// the next call must reconnect rather than fail.
TEST(HttpSessionTest, ServerRestartBetweenCallsIsNoFailure) {
  HttpSession session;
  int port = 0;
  {
    PortServer first;
    port = first.port();
    ASSERT_TRUE(session.Call(Get(first.Url())).ok());
  }
  PortServer second(port);
  auto response = session.Call(Get(second.Url()));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
}

}  // namespace
}  // namespace refinery

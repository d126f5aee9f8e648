// HttpSession against a real HTTP server on an ephemeral port: calls reuse
// their connection (the server sees one client port), HttpCall does not,
// and a session survives the server closing its connections.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/http_client.h"

namespace refinery {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Answers every request with "ok" over keep-alive connections, a thread
// per connection, and records the client port of each request.
class PortServer {
 public:
  explicit PortServer(int port = 0) : acceptor_(ioc_) {
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);  // throws when the port is taken
    // Listening means calls queue in the backlog until accepted.
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~PortServer() {
    // shutdown() wakes the blocking accept and reads; the sockets stay open
    // (so no descriptor number is reused) until every thread is joined.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/port"; }
  size_t DistinctClientPorts() {
    std::lock_guard lock(mu_);
    return ports_.size();
  }

 private:
  void AcceptLoop() {
    std::vector<std::thread> connections;
    for (;;) {
      beast::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec) break;
      std::lock_guard lock(mu_);
      tcp::socket& kept = sockets_.emplace_back(std::move(socket));
      connections.emplace_back([this, &kept] { Serve(kept); });
    }
    {
      std::lock_guard lock(mu_);
      for (auto& socket : sockets_) ::shutdown(socket.native_handle(), SHUT_RDWR);
    }
    for (auto& t : connections) t.join();
  }

  void Serve(tcp::socket& socket) {
    beast::error_code ec;
    const int client_port = socket.remote_endpoint(ec).port();
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) return;
      {
        std::lock_guard lock(mu_);
        ports_.insert(client_port);
      }
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::content_type, "text/plain");
      response.body() = "ok";
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(socket, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::list<tcp::socket> sockets_;  // GUARDED_BY(mu_); a list: references stay valid
  std::set<int> ports_;             // GUARDED_BY(mu_)
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

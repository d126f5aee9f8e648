// The supervisor's HTTP probe against a real HTTP server on an ephemeral
// loopback port: with answered_by_child, a 200 counts only when it names
// the probed child in X-Refinery-Pid. Why: while our API child is still
// starting (opening and migrating the store, before it binds), another
// process on the port -- an older instance -- must not pass for it, or
// `refinery up` starts its workers against an API it does not run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "supervisor/supervisor.h"

namespace refinery {
namespace {

// Answers every connection with `response` (a whole HTTP message), one at a time.
class FixedHttpServer {
 public:
  explicit FixedHttpServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FixedHttpServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  void Serve() {
    for (;;) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buffer[4096];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        request.append(buffer, static_cast<size_t>(got));
      }
      (void)::send(client, response_.data(), response_.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string Ok(const std::string& extra_headers) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 18\r\nConnection: close\r\n" +
         extra_headers + "\r\n{\"status\":\"ready\"}";
}

HealthCheckSpec ReadyCheck(const std::string& url, bool answered_by_child) {
  HealthCheckSpec check;
  check.kind = HealthCheckSpec::Kind::kHttp;
  check.target = url;
  check.timeout_s = 5;
  check.answered_by_child = answered_by_child;
  return check;
}

TEST(HealthProbe, AnAnswerCountsOnlyFromTheProbedChildWhenAsked) {
  const pid_t child = 4242;
  FixedHttpServer ours(Ok("X-Refinery-Pid: 4242\r\n"));
  FixedHttpServer another(Ok("X-Refinery-Pid: 999\r\n"));
  FixedHttpServer anonymous(Ok(""));

  EXPECT_TRUE(ProbeHealth(ReadyCheck(ours.url("/health/ready"), true), child));
  EXPECT_FALSE(ProbeHealth(ReadyCheck(another.url("/health/ready"), true), child)) << "another instance's answer";
  EXPECT_FALSE(ProbeHealth(ReadyCheck(anonymous.url("/health/ready"), true), child)) << "some other server";
  // Without the requirement any 2xx passes (other services' checks).
  EXPECT_TRUE(ProbeHealth(ReadyCheck(another.url("/health/ready"), false), child));
  EXPECT_TRUE(ProbeHealth(ReadyCheck(anonymous.url("/health/ready"), false), child));
}

}  // namespace
}  // namespace refinery

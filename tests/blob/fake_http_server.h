// A scripted HTTP/1.1 server on loopback for S3 client tests: answers each
// request with the next scripted reply (then a fallback), one connection at
// a time, and records what it received. Plain POSIX sockets, so the tests
// need no server library; the client under test stays our libcurl client.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace refinery::testing {

class FakeHttpServer {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    bool hang = false;  // read the request, never answer (timeout tests)
  };
  struct Received {
    std::string method;
    std::string target;  // "/bucket/key"
    std::string head;    // request line and headers, lower-cased
    std::string body;
  };

  static Reply Answer(int status, std::string body = "") { return Reply{status, std::move(body), false}; }
  static Reply Hang() { return Reply{0, "", true}; }

  FakeHttpServer() : FakeHttpServer({}, Answer(200)) {}
  // Answers with `script` in order, then with `fallback` forever.
  FakeHttpServer(std::vector<Reply> script, Reply fallback)
      : script_(script.begin(), script.end()), fallback_(std::move(fallback)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 16);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  // Replaces what is left of the script.
  void Script(std::vector<Reply> replies) {
    std::lock_guard lock(mutex_);
    script_.assign(replies.begin(), replies.end());
  }

 private:
  // True when `fd` became readable within 50 ms; false on timeout or stop.
  bool WaitReadable(int fd) const {
    pollfd p{fd, POLLIN, 0};
    return !stop_ && ::poll(&p, 1, 50) > 0;
  }

  void Serve() {
    while (!stop_) {
      if (!WaitReadable(listen_fd_)) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Handle(fd);
      ::close(fd);
    }
  }

  void Handle(int fd) {
    Received request;
    if (!ReadRequest(fd, request)) return;
    Reply reply = NextReply(request);
    if (reply.hang) {
      while (!stop_) {  // until the client gives up and closes, or we stop
        char byte;
        if (WaitReadable(fd) && ::recv(fd, &byte, 1, 0) <= 0) return;
      }
      return;
    }
    std::string body = request.method == "HEAD" ? "" : reply.body;
    std::string response = "HTTP/1.1 " + std::to_string(reply.status) +
                           " Scripted\r\nContent-Length: " + std::to_string(reply.body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body;
    ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
  }

  Reply NextReply(Received request) {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(request));
    if (script_.empty()) return fallback_;
    Reply reply = script_.front();
    script_.pop_front();
    return reply;
  }

  bool ReadRequest(int fd, Received& request) const {
    std::string data;
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(fd, data)) return false;
    }
    request.head = data.substr(0, head_end);
    std::transform(request.head.begin(), request.head.end(), request.head.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string line = data.substr(0, data.find("\r\n"));
    request.method = line.substr(0, line.find(' '));
    request.target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    size_t length = 0;
    if (size_t at = request.head.find("content-length:"); at != std::string::npos) {
      length = std::stoul(request.head.substr(at + 15));
    }
    request.body = data.substr(head_end + 4);
    while (request.body.size() < length) {
      if (!ReadSome(fd, request.body)) return false;
    }
    return true;
  }

  bool ReadSome(int fd, std::string& into) const {
    char buffer[65536];
    while (!stop_ && !WaitReadable(fd)) {
    }
    if (stop_) return false;
    ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) return false;
    into.append(buffer, static_cast<size_t>(got));
    return true;
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::deque<Reply> script_;
  Reply fallback_;
  std::vector<Received> received_;
  std::thread thread_;
};

}  // namespace refinery::testing

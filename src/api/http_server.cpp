#include "api/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace refinery::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kFirstRead = 4096;  // bytes asked for when a request starts
// After an answer that closes the connection, unread request bytes are
// read and dropped for this long (at most this many) before closing, so
// the client reads the answer instead of a reset.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr uint64_t kLingerBytes = 1 << 20;
// An idle connection keeps no read buffer larger than this.
constexpr size_t kIdleBufferBytes = 16 * 1024;

template <class View>
std::string ToString(const View& view) {
  return std::string(view.data(), view.size());
}

template <class View>
std::string Lower(const View& view) {
  std::string text = ToString(view);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Errors of the HTTP parser itself (a malformed or oversized message), as
// opposed to the transport's (closed, reset, timed out).
bool IsParseError(const beast::error_code& ec) {
  static const beast::error_code kSample = http::error::bad_method;
  return ec.category() == kSample.category();
}

// The state every connection shares; lives as long as the server.
struct Shared {
  Shared(const HttpServerOptions& o, HttpApplication& a) : options(o), app(a), pool(o.handlers) {}
  const HttpServerOptions options;
  HttpApplication& app;
  HandlerPool pool;
};

// One connection. Every step runs on the connection's strand, except the
// handler, which runs on a pool thread while the connection reads nothing
// (the next pipelined request waits in `buffer_`), and hands its answer
// back to the strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::AwaitRequest, shared_from_this()));
  }

 private:
  const HttpServerOptions& options() const { return shared_.options; }

  // Idle until the first byte of the next request, unless it is here already.
  void AwaitRequest() {
    if (buffer_.size() > 0) return ReadHeader();
    if (buffer_.capacity() > kIdleBufferBytes) buffer_.shrink_to_fit();
    stream_.expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, std::size_t bytes) {
    if (ec) return Close();  // idle too long, or the client left
    buffer_.commit(bytes);
    ReadHeader();
  }

  void ReadHeader() {
    request_ = Request{};
    request_.remote_address = remote_address_;
    head_ = false;
    version_ = 11;
    parser_.emplace();
    parser_->header_limit(options().max_header_bytes);
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(options().header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // What the parser has of the request line and fields, also after an
  // error (for the refusal's metrics).
  void TakeHead() {
    const auto& head = parser_->get();
    request_.method = ToString(head.method_string());
    request_.target = ToString(head.target());
    if (!request_.target.empty()) ParseTarget(request_);
    request_.headers.clear();
    for (const auto& field : head) request_.headers.emplace_back(Lower(field.name_string()), ToString(field.value()));
    head_ = head.method() == http::verb::head;
    version_ = head.version() == 10 ? 10 : 11;
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    TakeHead();
    if (ec) return OnReadError(ec);
    if (auto problem = FramingProblem(request_.headers, version_ >= 11)) {
      return Refuse({400, "bad_request", "malformed HTTP request: " + *problem, 0});
    }
    if (parser_->is_done()) return Dispatch();  // no body (none declared, or Content-Length: 0)
    if (Lower(request_.header("expect")) == "100-continue") {
      stream_.expires_after(options().write_timeout);
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              beast::bind_front_handler(&Session::OnContinueSent, shared_from_this()));
    }
    ReadBody();
  }

  void OnContinueSent(beast::error_code ec, std::size_t) {
    if (ec) return Close();
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(options().body_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    Dispatch();
  }

  void OnReadError(const beast::error_code& ec) {
    if (!IsParseError(ec) || ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return Close();  // timed out (idle, slowloris, slow body), closed or reset: nobody to answer
    }
    if (ec == http::error::body_limit) {
      return Refuse({413, "payload_too_large",
                     "request body exceeds the configured maximum size (" + std::to_string(options().max_body_bytes) +
                         " bytes)",
                     0});
    }
    if (ec == http::error::header_limit) {
      return Refuse({431, "header_too_large",
                     "request header exceeds " + std::to_string(options().max_header_bytes) + " bytes", 0});
    }
    Refuse({400, "bad_request", "malformed HTTP request: " + ec.message(), 0});
  }

  void Dispatch() {
    stream_.expires_never();
    request_.body = std::move(parser_->get().body());
    keep_alive_ = parser_->keep_alive();
    parser_.reset();
    shared_.app.Admit(request_);
    if (shared_.app.OnEventLoop(request_)) {
      Response response;
      shared_.app.Handle(request_, response);
      return Send(std::move(response), /*close=*/false);
    }
    auto self = shared_from_this();
    shared_.pool.Submit(
        [self] {
          Response response;
          self->shared_.app.Handle(self->request_, response);
          self->SendFromAnyThread(std::move(response));
        },
        [self] {
          const auto waited = self->options().handlers.max_wait.count();
          Response response;
          self->shared_.app.Refuse(
              self->request_,
              {503, "overloaded", "the server is busy: no handler was free within " + std::to_string(waited) + " ms",
               /*retry_after_s=*/1},
              response);
          self->SendFromAnyThread(std::move(response));
        });
  }

  void SendFromAnyThread(Response response) {
    net::post(stream_.get_executor(), [self = shared_from_this(), response = std::move(response)]() mutable {
      self->Send(std::move(response), /*close=*/false);
    });
  }

  // The server's own answer; the connection closes after it (the rest of
  // the request may be unread or unparseable).
  void Refuse(const Refusal& refusal) {
    parser_.reset();
    keep_alive_ = false;
    Response response;
    shared_.app.Refuse(request_, refusal, response);
    Send(std::move(response), /*close=*/true);
  }

  void Send(Response response, bool close) {
    close_after_ = close || !keep_alive_;
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty()) response_.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) response_.set(name, value);
    response_.body() = std::move(response.body);
    response_.keep_alive(!close_after_);
    response_.prepare_payload();
    if (head_) response_.body().clear();  // Content-Length stays that of the GET answer
    stream_.expires_after(options().write_timeout);
    http::async_write(stream_, response_, beast::bind_front_handler(&Session::OnWritten, shared_from_this()));
  }

  void OnWritten(beast::error_code ec, std::size_t) {
    response_ = {};
    if (ec) return Close();
    if (close_after_) return LingeringClose();
    AwaitRequest();
  }

  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    buffer_.clear();
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            beast::bind_front_handler(&Session::OnDrained, shared_from_this()));
  }

  void OnDrained(beast::error_code ec, std::size_t bytes) {
    drained_ += bytes;
    if (ec || drained_ > kLingerBytes) return Close();
    Drain();
  }

  void Close() { stream_.close(); }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_address_;  // the client's, for every request of this connection
  Request request_;             // the request being read or handled
  http::response<http::string_body> response_;  // the answer being written
  unsigned version_ = 11;
  bool head_ = false;
  bool keep_alive_ = true;
  bool close_after_ = false;
  uint64_t drained_ = 0;
};

// The io_context and the listener; destroying it closes every connection.
struct Loop {
  explicit Loop(int threads) : ioc(threads), acceptor(net::make_strand(ioc)), retry(acceptor.get_executor()) {}
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer retry;  // after a failed accept (out of descriptors)
};

// Every connection is a descriptor: a server for thousands of clients
// needs more than the usual soft limit of 1,024.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::debug("api: file descriptor limit raised from {} to {}", before, limit.rlim_cur);
  } else {
    spdlog::warn("api: could not raise the file descriptor limit from {}", before);
  }
}

void RunLoop(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {  // a bug in a completion handler; keep serving the others
      spdlog::error("api: event loop: {}", e.what());
    }
  }
}

}  // namespace

struct HttpServer::Impl {
  Impl(const HttpServerOptions& options, HttpApplication& app)
      : shared(options, app), loop(std::make_unique<Loop>(std::max(options.event_threads, 1))) {}

  void Accept() {
    loop->acceptor.async_accept(net::make_strand(loop->ioc), [this](beast::error_code ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !loop->acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS): retrying
      // at once would spin; new connections wait in the backlog meanwhile.
      auto now = std::chrono::steady_clock::now();
      if (now - last_accept_warning > std::chrono::seconds(5)) {
        spdlog::warn("api: accept failed: {}; retrying every 100 ms", ec.message());
        last_accept_warning = now;
      }
      loop->retry.expires_after(std::chrono::milliseconds(100));
      loop->retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // else every answer waits ~40 ms (Nagle + delayed ACK)
    try {
      std::make_shared<Session>(std::move(socket), shared)->Start();
    } catch (const std::exception& e) {  // out of memory: drop this one, keep accepting
      spdlog::warn("api: could not start a connection: {}", e.what());
    }
    Accept();
  }

  Shared shared;
  std::chrono::steady_clock::time_point last_accept_warning{};  // on the acceptor's strand
  mutable std::mutex mutex;
  // Reset (under mutex) only once no event-loop thread runs; read without
  // the mutex by those threads and by Bind and Run.
  std::unique_ptr<Loop> loop;
  bool stopped = false;  // GUARDED_BY(mutex)
  int port = 0;          // GUARDED_BY(mutex)
};

HttpServer::HttpServer(const HttpServerOptions& options, HttpApplication& app)
    : impl_(std::make_unique<Impl>(options, app)) {}

HttpServer::~HttpServer() {
  Stop();
  impl_->shared.pool.Stop();  // before the loop: queued jobs hold connections
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->loop.reset();
}

Status HttpServer::Bind(const std::string& host, int port) {
  RaiseFileLimit();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const std::string where = host + ":" + std::to_string(port);
  if (!impl_->loop || impl_->stopped) return Status::Unavailable("cannot bind " + where + ": server stopped");
  beast::error_code ec;
  tcp::endpoint endpoint;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(port));
  } else {
    tcp::resolver resolver(impl_->loop->ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return Status::Unavailable("cannot bind " + where + ": unknown host");
    endpoint = results.begin()->endpoint();
  }
  tcp::acceptor& acceptor = impl_->loop->acceptor;
  beast::error_code ignored;
  acceptor.close(ignored);
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR allows a quick restart over TIME_WAIT but refuses a live
  // listener; Asio never sets SO_REUSEPORT, which would let a second API
  // process share the port and silently take half its traffic.
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close(ignored);
    return Status::Unavailable("cannot bind " + where + ": " + ec.message());
  }
  impl_->port = acceptor.local_endpoint(ignored).port();
  return Status::Ok();
}

int HttpServer::port() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->port;
}

void HttpServer::Run() {
  Loop* loop = nullptr;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stopped || !impl_->loop || !impl_->loop->acceptor.is_open()) return;
    loop = impl_->loop.get();
  }
  impl_->Accept();
  // Keeps run() going until Stop, whatever happens to the pending accept.
  auto work = net::make_work_guard(loop->ioc);
  std::vector<std::thread> others;
  for (int i = 1; i < std::max(impl_->shared.options.event_threads, 1); ++i) {
    others.emplace_back([loop] { RunLoop(loop->ioc); });
  }
  RunLoop(loop->ioc);
  for (auto& thread : others) thread.join();
  work.reset();  // before the io_context it refers to goes
  impl_->shared.pool.Stop();
  std::unique_ptr<Loop> finished;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    finished = std::move(impl_->loop);
  }
  finished.reset();  // closes the listener and every connection
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->stopped = true;
  if (impl_->loop) impl_->loop->ioc.stop();
}

}  // namespace refinery::api

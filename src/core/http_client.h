// The one outbound HTTP client (libcurl), for the CLI, crawling, S3, LLM
// servers and tests. Each call is independent; safe from many threads.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace refinery {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  // The body passed HttpRequest::max_body_bytes: the transfer was cut and
  // `body` is incomplete.
  bool too_large = false;
  std::string primary_ip;  // the address connected to, numeric
};

// `body` is binary-safe (sent with its size); for methods other than GET,
// HEAD and DELETE it is sent even when empty (Content-Length: 0).
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::map<std::string, std::string> headers;
  double timeout_s = 10;
  // Cap on connecting alone (within timeout_s), so a dead host fails fast
  // even when a large transfer needs a long timeout_s.
  double connect_timeout_s = 5;
  // Set: the body is handed over piece by piece as it arrives (a stream,
  // such as Ollama's pull progress) instead of kept in HttpResponse::body;
  // returning false aborts the transfer (Unavailable, "stopped by its reader").
  std::function<bool(std::string_view)> on_body;
  // Set: asked about once a second while the transfer runs, data or not;
  // false aborts it as on_body's false does (a shutdown ending a long pull).
  std::function<bool()> keep_going;
  // > 0: Timeout when under one byte a second arrives for this long, for a
  // long transfer whose total time cannot be known.
  double stall_timeout_s = 0;
  // The rate under which stall_timeout_s counts as stalled (a crawl cuts a
  // page dripping under 1 KB/s, not only a silent one).
  long stall_min_bytes_per_s = 1;
  // > 0: the body is cut past this many bytes (HttpResponse::too_large),
  // whether or not the server announced its length.
  size_t max_body_bytes = 0;
  // Ask for gzip, deflate and br and decode the body.
  bool decode_content = false;
  // Ignore proxy settings of the environment: connect to the URL's host
  // itself (so check_address sees the real peer).
  bool direct = false;
  // Set: asked for every address about to be connected to (numeric, as
  // "93.184.216.34" or "::ffff:10.0.0.1"); a non-OK answer refuses the
  // connection and is the call's result. The crawler's guard against
  // internal addresses, DNS rebinding included: it sees the resolved address.
  std::function<Status(const std::string& ip)> check_address;
};

// Unavailable when the server cannot be reached, Timeout when it did not
// answer in time; any HTTP status (including 4xx/5xx) is a success here.
// Opens a connection of its own: for one-off calls.
Result<HttpResponse> HttpCall(const HttpRequest& request);

// Calls that reuse connections (HTTP keep-alive): each call borrows one of
// the session's libcurl handles, which keeps its connection open for the
// next call to the same server. For a client of one server under load --
// the S3 blob store opened a connection per blob and per health check,
// thousands a second, each leaving a TIME_WAIT socket behind. Same
// results as HttpCall; safe from many threads.
class HttpSession {
 public:
  // At most `max_idle` handles (and so connections) are kept between calls.
  explicit HttpSession(size_t max_idle = 16);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  Result<HttpResponse> Call(const HttpRequest& request);

 private:
  struct Handles;  // the idle libcurl handles, behind a mutex
  std::unique_ptr<Handles> handles_;
};

// Shorthands.
Result<HttpResponse> HttpGet(const std::string& url, double timeout_s = 10);
Result<HttpResponse> HttpPostJson(const std::string& url, const std::string& json, double timeout_s = 10);

}  // namespace refinery

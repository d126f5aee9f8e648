// Private to the API: the request and response the HTTP server hands to
// the application (the router), and the pure rules of HTTP/1.1 message
// framing and request targets, kept apart from the server so they are
// tested without sockets. Nothing here includes Boost.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace refinery::api {

// Header fields in arrival order; names lower-case.
using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// An answer the server gives on its own, before or instead of the
// application's handler: malformed or ambiguous framing (400), a body or
// header over its limit (413, 431), no handler thread free in time (503).
struct Refusal {
  int status = 400;
  std::string code;     // the JSON error code
  std::string message;  // the JSON error message
  int retry_after_s = 0;  // > 0: sent as Retry-After
};

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // as sent: "/documents?limit=5"
  std::string path;    // percent-decoded, without the query: "/documents"
  std::vector<std::pair<std::string, std::string>> params;  // decoded query parameters, in order
  HeaderFields headers;
  std::string body;
  std::vector<std::string> captures;  // the ":name" segments the matched route captured, in order
  std::string remote_address;         // the client's IP address ("127.0.0.1"); "" when unknown
  // Set when the access policy refused the request before its handler
  // (api/access.h): it is answered with this instead.
  std::optional<Refusal> refusal;

  // The first value of query parameter `name`; "" when absent.
  std::string param(std::string_view name) const;
  // True when the query names `name` (even as "?name" or "?name=").
  bool has_param(std::string_view name) const;
  // The first value of header `lower_name`; "" when absent.
  std::string header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type;  // empty: no Content-Type
  std::string body;
  HeaderFields headers;  // besides Content-Type and Content-Length, which the server writes

  // Replaces any header of that name (compared case-insensitively).
  void set_header(const std::string& name, const std::string& value);
  void set_content(std::string body, std::string type) {
    this->body = std::move(body);
    content_type = std::move(type);
  }
};

// What the HTTP server (http_server.h) asks of the application. Each
// method is called for one request at a time per connection, possibly on
// different threads for different connections; none may throw.
class HttpApplication {
 public:
  virtual ~HttpApplication() = default;
  // Called first for every request that was read whole, on the event
  // loop: may set request.refusal (access checks), so a refused request
  // never waits for a handler thread.
  virtual void Admit(Request& /*request*/) {}
  // True when `request` is answered on the event loop: cheap work that
  // never blocks (health probes reading a cached snapshot, errors for
  // unknown routes). Everything else runs on the handler pool.
  virtual bool OnEventLoop(const Request& request) const = 0;
  // Answers `request` (its captures are filled in here).
  virtual void Handle(Request& request, Response& response) = 0;
  // Writes the server's own answer `refusal` to `request` (whose method,
  // path and headers may be empty when the request line did not parse).
  virtual void Refuse(const Request& request, const Refusal& refusal, Response& response) = 0;
};

// Percent-decodes `text`; with `plus_is_space` (query strings) '+' is a
// space. A '%' not followed by two hex digits is kept as it is.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Fills request.path and request.params from request.target: origin form
// ("/p?q"), absolute form ("http://host/p?q", reduced to its path) or "*".
void ParseTarget(Request& request);

// The framing problem of a request header, per RFC 9112 section 6, or
// nullopt when the framing is unambiguous: Content-Length must be digits
// only and, when repeated, the same; Transfer-Encoding may only be
// "chunked", once, and never together with Content-Length; an HTTP/1.1
// request needs exactly one Host. `fields` as received, names lower-case.
std::optional<std::string> FramingProblem(const HeaderFields& fields, bool http11);

}  // namespace refinery::api

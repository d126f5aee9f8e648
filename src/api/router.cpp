#include "api/router.h"

#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/log.h"

namespace refinery::api {
namespace {

// The message of whatever a handler threw.
std::string Describe(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

// JSON for the statuses httplib produces itself, before or without a route.
void FillHttplibError(const httplib::Request& req, httplib::Response& res) {
  switch (res.status) {
    case 413:
      SendError(res, 413, "payload_too_large", "request body exceeds the configured maximum size");
      break;
    case 414:
      SendError(res, 414, "uri_too_long", "request URI is too long");
      break;
    case 400:
      SendError(res, 400, "bad_request", "malformed HTTP request");
      break;
    case 404:
      SendError(res, 404, "not_found", "no route for " + req.method + " " + req.path);
      break;
    default:
      SendError(res, res.status, "http_error", "request failed");
      break;
  }
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> segments;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) return segments;
    start = slash + 1;
  }
}

bool IsParam(const std::string& segment) { return !segment.empty() && segment[0] == ':'; }

// The httplib regex for a pattern: each ":name" segment becomes a capture.
std::string ToRegex(const std::string& pattern) {
  std::string regex;
  std::vector<std::string> segments = Segments(pattern);
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) regex += '/';
    regex += IsParam(segments[i]) ? "([^/]+)" : segments[i];
  }
  return regex;
}

// Matches like ToRegex(pattern) would, without std::regex (whose GCC 12
// headers trip -Wmaybe-uninitialized in the sanitizer build).
bool PathMatches(const std::string& pattern, const std::string& path) {
  std::vector<std::string> want = Segments(pattern);
  std::vector<std::string> got = Segments(path);
  if (want.size() != got.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (IsParam(want[i]) ? got[i].empty() : want[i] != got[i]) return false;
  }
  return true;
}

constexpr const char* kRequestsTotal = "refinery_http_requests_total";
constexpr const char* kRequestSeconds = "refinery_http_request_duration_seconds";

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Router::Router(httplib::Server& server, MetricsRegistry& metrics) : server_(server), metrics_(metrics) {
  metrics_.Declare(kRequestsTotal, MetricType::kCounter,
                   "HTTP requests answered by this API process, by method, route pattern and status");
  metrics_.Declare(kRequestSeconds, MetricType::kHistogram,
                   "HTTP request handling time in seconds (this API process), by method, route pattern "
                   "and status",
                   DefaultLatencyBuckets());
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) { return OnError(req, res); }));
  // The handler boundary: an exception is a bug, answered as 500 JSON and
  // logged, never a dropped connection.
  server_.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
    spdlog::error("api: {} {} threw: {}", req.method, req.path, Describe(error));
    res.headers.clear();
    SendError(res, 500, "internal", "internal error");
  });
}

void Router::Json(const std::string& method, const std::string& pattern, JsonHandler handler) {
  Register(method, pattern, [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    Result<Reply> reply = handler(req);
    if (!reply.ok()) return SendStatus(res, reply.status());
    SendJson(res, reply->status, reply->body);
  });
}

void Router::Raw(const std::string& method, const std::string& pattern, RawHandler handler) {
  Register(method, pattern, std::move(handler));
}

void Router::Register(const std::string& method, const std::string& pattern, RawHandler handler) {
  routes_.push_back({method, pattern});
  std::string regex = ToRegex(pattern);
  handler = Counted(method, pattern, std::move(handler));
  if (method == "GET") {
    server_.Get(regex, std::move(handler));
  } else if (method == "POST") {
    server_.Post(regex, std::move(handler));
  } else if (method == "DELETE") {
    server_.Delete(regex, std::move(handler));
  } else {
    throw std::invalid_argument("Router: unsupported method " + method);
  }
}

RawHandler Router::Counted(const std::string& method, const std::string& pattern, RawHandler handler) {
  return [this, method, pattern, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    try {
      handler(req, res);
    } catch (...) {
      Record(method, pattern, 500, SecondsSince(start));  // the exception handler answers 500
      throw;
    }
    // httplib turns a status left at -1 into 200 after the handler.
    Record(method, pattern, res.status == -1 ? 200 : res.status, SecondsSince(start));
  };
}

void Router::Record(const std::string& method, const std::string& route, int status, double seconds) {
  MetricLabels labels = {{"method", method}, {"route", route}, {"status", std::to_string(status)}};
  metrics_.Add(kRequestsTotal, labels);
  metrics_.Observe(kRequestSeconds, labels, seconds);
}

httplib::Server::HandlerResponse Router::OnError(const httplib::Request& req, httplib::Response& res) {
  // A route's own error reply already has its JSON body (and was counted).
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  if (res.status == 404) {
    std::string allowed = AllowedMethods(req.path);
    if (!allowed.empty()) {
      res.set_header("Allow", allowed);
      SendError(res, 405, "method_not_allowed",
                "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
      Record(req.method, "unmatched", 405, 0);
      return httplib::Server::HandlerResponse::Handled;
    }
  }
  FillHttplibError(req, res);
  Record(req.method, "unmatched", res.status, 0);
  return httplib::Server::HandlerResponse::Handled;
}

std::string Router::AllowedMethods(const std::string& path) const {
  std::string allowed;
  for (const Route& route : routes_) {
    if (!PathMatches(route.pattern, path)) continue;
    if (allowed.find(route.method) != std::string::npos) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += route.method;
  }
  return allowed;
}

}  // namespace refinery::api

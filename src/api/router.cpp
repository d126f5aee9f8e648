#include "api/router.h"

#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/log.h"

namespace refinery::api {
namespace {

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

// Whether `path` (split) matches `pattern` (split); fills `captures` if given.
bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             std::vector<std::string>* captures) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (IsParam(pattern[i]) ? path[i].empty() : pattern[i] != path[i]) return false;
  }
  if (captures != nullptr) {
    captures->clear();
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (IsParam(pattern[i])) captures->push_back(path[i]);
    }
  }
  return true;
}

// A HEAD request is answered by the GET route (the server drops the body).
std::string RouteMethod(const std::string& method) { return method == "HEAD" ? "GET" : method; }

constexpr const char* kRequestsTotal = "refinery_http_requests_total";
constexpr const char* kRequestSeconds = "refinery_http_request_duration_seconds";
constexpr const char* kUnmatched = "unmatched";

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Router::Router(MetricsRegistry& metrics) : metrics_(metrics) {
  metrics_.Declare(kRequestsTotal, MetricType::kCounter,
                   "HTTP requests answered by this API process, by method, route pattern and status");
  metrics_.Declare(kRequestSeconds, MetricType::kHistogram,
                   "HTTP request handling time in seconds (this API process), by method, route pattern "
                   "and status",
                   DefaultLatencyBuckets());
}

void Router::Json(const std::string& method, const std::string& pattern, JsonHandler handler, RunsOn runs_on,
                  std::optional<Access> access) {
  Raw(
      method, pattern,
      [handler = std::move(handler)](const Request& req, Response& res) {
        Result<Reply> reply = handler(req);
        if (!reply.ok()) return SendStatus(res, reply.status());
        SendJson(res, reply->status, reply->body);
      },
      runs_on, access);
}

void Router::Raw(const std::string& method, const std::string& pattern, RawHandler handler, RunsOn runs_on,
                 std::optional<Access> access) {
  if (method != "GET" && method != "POST" && method != "DELETE") {
    throw std::invalid_argument("Router: unsupported method " + method);
  }
  const Access by_method = method == "GET" ? Access::kRead : Access::kWrite;
  routes_.push_back({method, pattern, Segments(pattern), std::move(handler), runs_on, access.value_or(by_method)});
}

const Router::Route* Router::Find(const std::string& method, const std::string& path,
                                  std::vector<std::string>* captures) const {
  const std::vector<std::string> segments = Segments(path);
  for (const Route& route : routes_) {
    if (route.method == method && Matches(route.segments, segments, captures)) return &route;
  }
  return nullptr;
}

void Router::Admit(Request& request) {
  if (!policy_ || request.method == "OPTIONS") return;  // preflights are answered in Handle
  const Route* route = Find(RouteMethod(request.method), request.path, nullptr);
  // An unknown route is checked as a read, so a wrong Host or key learns nothing of the routes.
  request.refusal = policy_->Check(request, route != nullptr ? route->access : Access::kRead,
                                   std::chrono::steady_clock::now());
}

bool Router::OnEventLoop(const Request& request) const {
  if (request.refusal || request.method == "OPTIONS") return true;
  const Route* route = Find(RouteMethod(request.method), request.path, nullptr);
  return route == nullptr || route->runs_on == RunsOn::kEventLoop;
}

void Router::Handle(Request& req, Response& res) {
  if (req.refusal) return Refuse(req, *req.refusal, res);
  HandleRoute(req, res);
  if (policy_) policy_->AddCorsHeaders(req, res);
}

void Router::HandleRoute(Request& req, Response& res) {
  const Route* route = Find(RouteMethod(req.method), req.path, &req.captures);
  if (route == nullptr && policy_ && req.method == "OPTIONS") {
    const std::string allowed = AllowedMethods(req.path);
    if (!allowed.empty() && policy_->Preflight(req, allowed, res)) {
      Record(req.method, kUnmatched, res.status, 0);
      return;
    }
  }
  if (route == nullptr) {
    const std::string allowed = AllowedMethods(req.path);
    if (allowed.empty()) {
      SendError(res, 404, "not_found", "no route for " + req.method + " " + req.path);
    } else {
      res.set_header("Allow", allowed);
      SendError(res, 405, "method_not_allowed",
                "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
    }
    Record(req.method, kUnmatched, res.status, 0);
    return;
  }
  auto start = std::chrono::steady_clock::now();
  // The handler boundary: an exception is a bug, answered as 500 JSON and
  // logged, never a dropped connection.
  try {
    route->handler(req, res);
  } catch (...) {
    std::string what = "unknown exception";
    try {
      throw;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("api: {} {} threw: {}", req.method, req.path, what);
    res = Response{};
    SendError(res, 500, "internal", "internal error");
  }
  Record(route->method, route->pattern, res.status, SecondsSince(start));
}

void Router::Refuse(const Request& req, const Refusal& refusal, Response& res) {
  res = Response{};
  SendError(res, refusal.status, refusal.code, refusal.message);
  if (refusal.retry_after_s > 0) res.set_header("Retry-After", std::to_string(refusal.retry_after_s));
  // A shed request had a route; a malformed one has none (nor maybe a method).
  const Route* route = req.path.empty() ? nullptr : Find(RouteMethod(req.method), req.path, nullptr);
  Record(route != nullptr ? route->method : (req.method.empty() ? "unknown" : req.method),
         route != nullptr ? route->pattern : kUnmatched, refusal.status, 0);
  if (policy_) policy_->AddCorsHeaders(req, res);  // so a browser can read why it was refused
}

void Router::Record(const std::string& method, const std::string& route, int status, double seconds) {
  spdlog::debug("api: {} {} -> {}", method, route, status);
  MetricLabels labels = {{"method", method}, {"route", route}, {"status", std::to_string(status)}};
  metrics_.Add(kRequestsTotal, labels);
  metrics_.Observe(kRequestSeconds, labels, seconds);
}

std::string Router::AllowedMethods(const std::string& path) const {
  const std::vector<std::string> segments = Segments(path);
  std::string allowed;
  for (const Route& route : routes_) {
    if (!Matches(route.segments, segments, nullptr)) continue;
    if (allowed.find(route.method) != std::string::npos) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += route.method;
  }
  return allowed;
}

}  // namespace refinery::api

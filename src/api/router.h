// Private to the API: registers JSON routes on an httplib::Server and
// answers what httplib itself rejects (unknown route, wrong method, body too
// large, malformed request) and what a handler throws, always as JSON errors.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <httplib.h>

#include "api/json_util.h"
#include "api/metrics.h"

namespace refinery::api {

// A route handler: a JSON reply, or a Status mapped by MapStatus. Handlers
// never write the response themselves, so no route can forget an error shape.
using JsonHandler = std::function<Result<Reply>(const httplib::Request&)>;
// For the few routes that are not JSON (the HTML dashboard).
using RawHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

class Router {
 public:
  // Installs the error and exception handlers on `server`. Every request
  // is counted in `metrics` by route pattern (not raw path, so ids do not
  // explode the series), method and status; requests no route matched count
  // under route "unmatched". `metrics` must outlive the router.
  Router(httplib::Server& server, MetricsRegistry& metrics);

  // `method` is GET, POST or DELETE; `pattern` a path whose ":name"
  // segments match any one non-empty segment, captured in order in
  // req.matches[1..] (e.g. "/documents/:id/chunks").
  void Json(const std::string& method, const std::string& pattern, JsonHandler handler);
  void Raw(const std::string& method, const std::string& pattern, RawHandler handler);

 private:
  struct Route {
    std::string method;
    std::string pattern;
  };

  void Register(const std::string& method, const std::string& pattern, RawHandler handler);
  // Wraps `handler` so that its status and latency are recorded.
  RawHandler Counted(const std::string& method, const std::string& pattern, RawHandler handler);
  void Record(const std::string& method, const std::string& route, int status, double seconds);
  // Runs for every response with status >= 400: fills in a JSON body where
  // httplib left none (404 -> 405 when the path exists under another method).
  httplib::Server::HandlerResponse OnError(const httplib::Request& req, httplib::Response& res);
  // Methods registered for a path, e.g. "GET, DELETE"; empty for an unknown path.
  std::string AllowedMethods(const std::string& path) const;

  httplib::Server& server_;
  MetricsRegistry& metrics_;
  std::vector<Route> routes_;  // written only before the server starts serving
};

}  // namespace refinery::api

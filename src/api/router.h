// Private to the API: the routing table behind the HTTP server. It answers
// what no route handles (unknown path: 404; known path, other method: 405
// with Allow), what a handler throws (500) and what the server refuses on
// its own (bad framing, limits, load shedding), always as JSON errors, and
// counts every answer per route pattern in the metrics.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/access.h"
#include "api/http_types.h"
#include "api/json_util.h"
#include "api/metrics.h"

namespace refinery::api {

// A route handler: a JSON reply, or a Status mapped by MapStatus. Handlers
// never write the response themselves, so no route can forget an error shape.
using JsonHandler = std::function<Result<Reply>(const Request&)>;
// For the few routes that are not JSON (the HTML dashboard, /metrics).
using RawHandler = std::function<void(const Request&, Response&)>;

// Where a route's handler runs. kEventLoop is for handlers that never
// block and take microseconds (the health probes read a cached snapshot):
// they answer even when every handler thread is busy. Everything that
// touches the store, the queue or the blob store is kHandlerPool.
enum class RunsOn { kHandlerPool, kEventLoop };

class Router final : public HttpApplication {
 public:
  // Every request is counted in `metrics` by route pattern (not raw path,
  // so ids do not explode the series), method and status; requests no
  // route matched count under route "unmatched". `metrics` must outlive
  // the router.
  explicit Router(MetricsRegistry& metrics);

  // `method` is GET, POST or DELETE (a GET route also answers HEAD);
  // `pattern` a path whose ":name" segments match any one non-empty
  // segment, captured in order in Request::captures (e.g.
  // "/documents/:id/chunks"). Register every route before serving.
  // `access` defaults by method: GET reads, POST and DELETE write.
  void Json(const std::string& method, const std::string& pattern, JsonHandler handler,
            RunsOn runs_on = RunsOn::kHandlerPool, std::optional<Access> access = std::nullopt);
  void Raw(const std::string& method, const std::string& pattern, RawHandler handler,
           RunsOn runs_on = RunsOn::kHandlerPool, std::optional<Access> access = std::nullopt);

  // Checks every request against `policy` before its handler (none: every
  // request is let through, as in tests of routing alone). Set before serving.
  void SetPolicy(std::unique_ptr<AccessPolicy> policy) { policy_ = std::move(policy); }

  // HttpApplication. Unknown routes and wrong methods are answered on the
  // event loop too: they touch nothing.
  void Admit(Request& request) override;
  bool OnEventLoop(const Request& request) const override;
  void Handle(Request& request, Response& response) override;
  void Refuse(const Request& request, const Refusal& refusal, Response& response) override;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // of the pattern
    RawHandler handler;
    RunsOn runs_on = RunsOn::kHandlerPool;
    Access access = Access::kRead;
  };

  // Handle without the policy's headers: the route's answer, 404/405, or a preflight's.
  void HandleRoute(Request& req, Response& res);
  // The route for method and path; fills `captures` if given. nullptr: none.
  const Route* Find(const std::string& method, const std::string& path, std::vector<std::string>* captures) const;
  void Record(const std::string& method, const std::string& route, int status, double seconds);
  // Methods registered for a path, e.g. "GET, DELETE"; empty for an unknown path.
  std::string AllowedMethods(const std::string& path) const;

  MetricsRegistry& metrics_;
  std::vector<Route> routes_;             // written only before the server starts serving
  std::unique_ptr<AccessPolicy> policy_;  // likewise
};

}  // namespace refinery::api

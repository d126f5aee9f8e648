// GET /stats, the health endpoints and the dashboard placeholder.
#include <algorithm>
#include <chrono>

#include <unistd.h>

#include "api/routes.h"
#include "api/stats_json.h"
#include "core/version.h"
#include "pipeline/pipeline_stats.h"

namespace refinery::api {
namespace {

Result<Reply> Stats(ApiContext& ctx, const Request&) {
  PipelineStats stats = ReadPipelineStats(ctx.services);
  if (!stats.status().ok()) return stats.status();  // transient failures map to 503
  json body = PipelineStatsJson(stats);
  double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count();
  const PoolStats pool = ctx.services.store->GetPoolStats();
  body["pool"] = {{"size", pool.size},
                  {"in_use", pool.in_use},
                  {"idle", pool.idle},
                  {"waiting", pool.waiting},
                  {"created", pool.created},
                  {"closed_dead", pool.closed_dead},
                  {"validation_failures", pool.validation_failures},
                  {"retries", pool.retries},
                  {"rebuilds", pool.rebuilds}};
  body["embedding_model"] = ctx.services.embedder->Name();
  body["uptime_s"] = uptime;
  return Reply{200, std::move(body)};
}

json ComponentJson(const ComponentHealth& c) {
  json body = {{"status", c.up ? "up" : "down"}, {"latency_ms", c.latency_ms}};
  if (!c.up) body["error"] = c.error;
  return body;
}

// Components named in `only` (all when empty); `all_up` reports whether
// every listed one is up.
json Components(const std::vector<ComponentHealth>& health, const std::vector<std::string>& only, bool& all_up) {
  json components = json::object();
  all_up = true;
  for (const ComponentHealth& c : health) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    components[c.name] = ComponentJson(c);
    all_up = all_up && c.up;
  }
  return components;
}

Result<Reply> Health(ApiContext& ctx, const Request&) {
  bool all_up = true;
  json components = Components(ctx.health.Snapshot(), {}, all_up);
  return Reply{
      all_up ? 200 : 503,
      {{"status", all_up ? "running" : "degraded"}, {"components", std::move(components)}, {"version", kVersion}}};
}

Result<Reply> Ready(ApiContext& ctx, const Request&) {
  bool all_up = true;
  json components = Components(ctx.health.Snapshot(), {"store", "queue"}, all_up);
  return Reply{all_up ? 200 : 503, {{"status", all_up ? "ready" : "not_ready"}, {"components", std::move(components)}}};
}

Result<Reply> Live(ApiContext&, const Request&) { return Reply{200, {{"status", "alive"}}}; }

constexpr const char* kDashboard = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Refinery</title></head>
<body>
<h1>Refinery</h1>
<p>The dashboard is not built yet. Meanwhile:</p>
<ul>
<li><a href="/stats">/stats</a>: documents by stage, chunks, queue depths</li>
<li><a href="/health">/health</a>: store, queue and blob store status</li>
<li><a href="/documents">/documents</a>: the newest documents</li>
</ul>
</body></html>
)";


// The probes' answers name the process that gave them (X-Refinery-Pid), so
// `refinery up` can tell its own child from another process on the port.
RawHandler NamingThisProcess(JsonHandler handler) {
  return [handler = std::move(handler), pid = std::to_string(::getpid())](const Request& req, Response& res) {
    Result<Reply> reply = handler(req);
    if (reply.ok()) {
      SendJson(res, reply->status, reply->body);
    } else {
      SendStatus(res, reply.status());
    }
    res.set_header("X-Refinery-Pid", pid);
  };
}

}  // namespace

void AddSystemRoutes(Router& router, ApiContext& ctx) {
  router.Json("GET", "/stats", Bind(ctx, Stats));
  // The probes read the health monitor's cached snapshot (it never waits
  // for a check once the server serves), so they run on the event loop and
  // answer however busy the handler threads are: liveness must mean "the
  // process is alive and its event loop turns", never "a thread was free".
  // Public with keys on: probes and load balancers carry no key.
  router.Raw("GET", "/health", NamingThisProcess(Bind(ctx, Health)), RunsOn::kEventLoop, Access::kPublic);
  router.Raw("GET", "/health/live", NamingThisProcess(Bind(ctx, Live)), RunsOn::kEventLoop, Access::kPublic);
  router.Raw("GET", "/health/ready", NamingThisProcess(Bind(ctx, Ready)), RunsOn::kEventLoop, Access::kPublic);
  // A static page; the figures it shows come from /stats, which needs a key.
  router.Raw(
      "GET", "/", [](const Request&, Response& res) { res.set_content(kDashboard, "text/html; charset=utf-8"); },
      RunsOn::kEventLoop, Access::kPublic);
}

}  // namespace refinery::api

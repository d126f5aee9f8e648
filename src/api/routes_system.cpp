// GET /stats, the health endpoints and the dashboard placeholder.
#include <algorithm>
#include <chrono>

#include "api/routes.h"
#include "core/version.h"

namespace refinery::api {
namespace {

// Stats or depths that failed transiently say "unavailable" (503); the
// mapping already does that, this only adds which part failed.
Status Annotate(const Status& status, const std::string& what) {
  return Status(status.code(), what + ": " + status.message());
}

Result<json> QueueDepths(Queue& queue) {
  std::vector<std::string> stages;
  for (const StageDef& stage : StageChain()) stages.push_back(stage.name);
  auto depths = queue.Depths(stages);
  if (!depths.ok()) return Annotate(depths.status(), "queue depths");
  json out = json::object();
  for (size_t i = 0; i < stages.size(); ++i) {
    const QueueDepth& depth = (*depths)[i];
    out[stages[i]] = {{"ready", depth.ready},
                      {"in_flight", depth.in_flight},
                      {"delayed", depth.delayed},
                      {"dead", depth.dead}};
  }
  return out;
}

Result<Reply> Stats(ApiContext& ctx, const httplib::Request&) {
  auto stats = ctx.services.store->Stats();
  if (!stats.ok()) return Annotate(stats.status(), "store stats");
  auto depths = QueueDepths(*ctx.services.queue);
  if (!depths.ok()) return depths.status();
  json by_stage = json::object();
  for (const std::string& state : AllStates()) by_stage[state] = 0;
  for (const auto& [state, count] : stats->documents_by_stage) by_stage[state] = count;
  double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count();
  const PoolStats pool = ctx.services.store->GetPoolStats();
  return Reply{200, {{"total_documents", stats->total_documents},
                     {"documents_by_stage", std::move(by_stage)},
                     {"total_chunks", stats->total_chunks},
                     {"chunks_with_embeddings", stats->chunks_with_embeddings},
                     {"queue_depths", std::move(*depths)},
                     {"pool", {{"size", pool.size},
                               {"in_use", pool.in_use},
                               {"idle", pool.idle},
                               {"waiting", pool.waiting},
                               {"created", pool.created},
                               {"closed_dead", pool.closed_dead},
                               {"validation_failures", pool.validation_failures},
                               {"retries", pool.retries},
                               {"rebuilds", pool.rebuilds}}},
                     {"embedding_model", ctx.services.embedder->Name()},
                     {"uptime_s", uptime}}};
}

json ComponentJson(const ComponentHealth& c) {
  json body = {{"status", c.up ? "up" : "down"}, {"latency_ms", c.latency_ms}};
  if (!c.up) body["error"] = c.error;
  return body;
}

// Components named in `only` (all when empty); `all_up` reports whether
// every listed one is up.
json Components(const std::vector<ComponentHealth>& health, const std::vector<std::string>& only,
                bool& all_up) {
  json components = json::object();
  all_up = true;
  for (const ComponentHealth& c : health) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    components[c.name] = ComponentJson(c);
    all_up = all_up && c.up;
  }
  return components;
}

Result<Reply> Health(ApiContext& ctx, const httplib::Request&) {
  bool all_up = true;
  json components = Components(ctx.health.Snapshot(), {}, all_up);
  return Reply{all_up ? 200 : 503, {{"status", all_up ? "running" : "degraded"},
                                    {"components", std::move(components)},
                                    {"version", kVersion}}};
}

Result<Reply> Ready(ApiContext& ctx, const httplib::Request&) {
  bool all_up = true;
  json components = Components(ctx.health.Snapshot(), {"store", "queue"}, all_up);
  return Reply{all_up ? 200 : 503,
               {{"status", all_up ? "ready" : "not_ready"}, {"components", std::move(components)}}};
}

Result<Reply> Live(ApiContext&, const httplib::Request&) {
  return Reply{200, {{"status", "alive"}}};
}

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

}  // namespace

void AddSystemRoutes(Router& router, ApiContext& ctx) {
  router.Json("GET", "/stats", Bind(ctx, Stats));
  router.Json("GET", "/health", Bind(ctx, Health));
  router.Json("GET", "/health/live", Bind(ctx, Live));
  router.Json("GET", "/health/ready", Bind(ctx, Ready));
  router.Raw("GET", "/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kDashboard, "text/html; charset=utf-8");
  });
}

}  // namespace refinery::api

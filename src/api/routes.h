// Private to the API: what route handlers share, and the route groups.
#pragma once

#include <chrono>

#include "api/health.h"
#include "api/metrics.h"
#include "api/router.h"
#include "pipeline/services.h"
#include "search/search.h"

namespace refinery::api {

// Everything a handler may touch; lives as long as the server.
struct ApiContext {
  explicit ApiContext(Services& s) : services(s), searcher(*s.store, *s.embedder) {}

  Services& services;
  Searcher searcher;        // keeps its vector cache across requests
  HealthMonitor health;     // checks store, queue and blob store in the background
  MetricsRegistry metrics;  // this process's request counters and latencies
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// Adapts `Result<Reply> fn(ApiContext&, const Request&)` to the router's
// handler type.
template <typename Fn>
JsonHandler Bind(ApiContext& context, Fn fn) {
  return [&context, fn](const Request& req) { return fn(context, req); };
}

// POST /ingest, GET /documents, GET|DELETE /documents/{id},
// GET /documents/{id}/chunks, POST /documents/{id}/retry.
void AddDocumentRoutes(Router& router, ApiContext& context);
// POST /search.
void AddSearchRoutes(Router& router, ApiContext& context);
// GET /stats, /health, /health/live, /health/ready and / (dashboard); the
// health routes and the dashboard run on the event loop.
void AddSystemRoutes(Router& router, ApiContext& context);
// GET /metrics (Prometheus text format).
void AddMetricsRoutes(Router& router, ApiContext& context);
// POST /crawl, GET /crawl, GET /crawl/{id}.
void AddCrawlRoutes(Router& router, ApiContext& context);
// GET /entities, /entities/{id}, /conflicts, /dtc, /dtc/{code}.
void AddKnowledgeRoutes(Router& router, ApiContext& context);

}  // namespace refinery::api

// GET /metrics: this process's HTTP counters and latency histograms (kept in
// ApiContext::metrics by the router) followed by figures read at scrape time
// from the store, the queue, the pool and the health monitor.
//
// Per-process: refinery_http_*, refinery_db_pool_* counters, uptime. Shared
// by every process on the same backends: refinery_queue_jobs,
// refinery_documents, refinery_chunks*, and (when `refinery up` runs for
// this data directory) refinery_supervisor_restarts_total. What workers do
// -- refinery_stage_jobs_total, refinery_stage_duration_seconds and
// refinery_reconciler_requeues_total -- happens in other processes, maybe
// on other machines: every worker's processing-log append also bumps
// counters in the store (Store::StageCounters), which a scrape reads in
// O(stages) rows, and which survive restarts of any process.
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "api/routes.h"
#include "control/control_client.h"
#include "core/version.h"
#include "pipeline/pipeline_stats.h"
#include "pipeline/stage_chain.h"

namespace refinery::api {
namespace {

void AddProcess(MetricsRegistry& m, ApiContext& ctx) {
  m.Declare("refinery_build_info", MetricType::kGauge, "Always 1; the version as a label");
  m.Set("refinery_build_info", {{"version", kVersion}}, 1);
  m.Declare("refinery_process_uptime_seconds", MetricType::kGauge, "Seconds since this API process started");
  m.Set("refinery_process_uptime_seconds", {},
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count());
  m.Declare("refinery_health_component_up", MetricType::kGauge,
            "1 when the component's latest health check passed (as in GET /health)");
  m.Declare("refinery_health_component_latency_seconds", MetricType::kGauge,
            "Latency of the component's latest health check");
  for (const ComponentHealth& c : ctx.health.Snapshot()) {
    m.Set("refinery_health_component_up", {{"component", c.name}}, c.up ? 1 : 0);
    m.Set("refinery_health_component_latency_seconds", {{"component", c.name}}, c.latency_ms / 1000);
  }
}

void AddPool(MetricsRegistry& m, const PoolStats& pool) {
  m.Declare("refinery_db_pool_connections", MetricType::kGauge,
            "Open database connections of this process's pool, by state");
  m.Set("refinery_db_pool_connections", {{"state", "in_use"}}, static_cast<double>(pool.in_use));
  m.Set("refinery_db_pool_connections", {{"state", "idle"}}, static_cast<double>(pool.idle));
  m.Declare("refinery_db_pool_size", MetricType::kGauge, "Open connections, including ones being opened");
  m.Set("refinery_db_pool_size", {}, static_cast<double>(pool.size));
  m.Declare("refinery_db_pool_waiting", MetricType::kGauge, "Callers queued for a free connection");
  m.Set("refinery_db_pool_waiting", {}, static_cast<double>(pool.waiting));
  const std::pair<const char*, int64_t> counters[] = {
      {"refinery_db_pool_connections_created_total", pool.created},
      {"refinery_db_pool_connections_closed_dead_total", pool.closed_dead},
      {"refinery_db_pool_validation_failures_total", pool.validation_failures},
      {"refinery_db_pool_retries_total", pool.retries},
      {"refinery_db_pool_rebuilds_total", pool.rebuilds},
  };
  for (const auto& [name, value] : counters) {
    m.Declare(name, MetricType::kCounter, "Database pool event count of this process (0 on SQLite)");
    m.Set(name, {}, static_cast<double>(value));
  }
}

// This process's calls to an LLM endpoint (the API's are query embeddings;
// each worker process keeps its own).
void AddLlm(MetricsRegistry& m, const LlmEndpoint& endpoint) {
  const LlmEndpointStats stats = endpoint.Stats();
  const MetricLabels role = {{"endpoint", endpoint.role()}};
  m.Declare("refinery_llm_calls_total", MetricType::kCounter, "HTTP calls this process made to the LLM endpoint");
  m.Set("refinery_llm_calls_total", role, static_cast<double>(stats.calls));
  m.Declare("refinery_llm_errors_total", MetricType::kCounter,
            "Failed LLM calls by kind (timeout, connection, http_429, http_5xx, http_4xx, model_missing, bad_answer)");
  for (const auto& [kind, count] : stats.errors) {
    m.Set("refinery_llm_errors_total", {{"endpoint", endpoint.role()}, {"kind", kind}}, static_cast<double>(count));
  }
  m.Declare("refinery_llm_call_duration_seconds", MetricType::kHistogram, "Latency of one LLM HTTP call",
            std::vector<double>(LlmEndpointStats::kLatencyBounds.begin(), LlmEndpointStats::kLatencyBounds.end()));
  m.SetHistogram("refinery_llm_call_duration_seconds", role,
                 std::vector<uint64_t>(stats.latency_hits.begin(), stats.latency_hits.end()), stats.latency_sum_s);
  m.Declare("refinery_llm_prompt_tokens_total", MetricType::kCounter, "Prompt tokens the server reported");
  m.Set("refinery_llm_prompt_tokens_total", role, static_cast<double>(stats.prompt_tokens));
  m.Declare("refinery_llm_breaker_open", MetricType::kGauge, "1 while the endpoint's circuit breaker is open");
  m.Set("refinery_llm_breaker_open", role, stats.breaker == "closed" ? 0 : 1);
}

// This process's LLM caches: kind embed counts texts (the API's are query
// texts), kind reason counts requests.
void AddCache(MetricsRegistry& m, const char* kind, const LlmCacheCounters& cache) {
  m.Declare("refinery_llm_cache_total", MetricType::kCounter,
            "Texts (embed) or requests (reason) answered from the cache (hit), sent to the server (miss), or whose "
            "cache read or write failed (error)");
  const std::pair<const char*, int64_t> results[] = {
      {"hit", cache.hits.load()}, {"miss", cache.misses.load()}, {"error", cache.errors.load()}};
  for (const auto& [result, count] : results) {
    m.Set("refinery_llm_cache_total", {{"kind", kind}, {"result", result}}, static_cast<double>(count));
  }
}

// refinery_queue_jobs and the document gauges from one snapshot; false
// for a source that could not be read (the rest is still reported).
void AddPipeline(MetricsRegistry& m, const PipelineStats& stats) {
  if (stats.queue_status.ok() || stats.store_status.ok()) {
    m.Declare("refinery_queue_jobs", MetricType::kGauge,
              "Jobs per stage and state (ready, in_flight, delayed; dead = documents given up on at the stage)");
  }
  for (const StageFigures& stage : stats.stages) {
    const std::pair<const char*, int64_t> queued[] = {
        {"ready", stage.queue.ready}, {"in_flight", stage.queue.in_flight}, {"delayed", stage.queue.delayed}};
    for (const auto& [state, count] : queued) {
      if (!stats.queue_status.ok()) break;
      m.Set("refinery_queue_jobs", {{"stage", stage.stage}, {"state", state}}, static_cast<double>(count));
    }
    if (stats.store_status.ok()) {
      m.Set("refinery_queue_jobs", {{"stage", stage.stage}, {"state", "dead"}}, static_cast<double>(stage.dead));
    }
  }
  if (!stats.store_status.ok()) return;
  m.Declare("refinery_documents", MetricType::kGauge, "Documents by pipeline state");
  for (const std::string& state : AllStates()) {
    auto it = stats.store.documents_by_state.find(state);
    double count = it == stats.store.documents_by_state.end() ? 0 : static_cast<double>(it->second);
    m.Set("refinery_documents", {{"stage", state}}, count);
  }
  m.Declare("refinery_chunks", MetricType::kGauge, "Chunks stored");
  m.Set("refinery_chunks", {}, static_cast<double>(stats.store.total_chunks));
  m.Declare("refinery_chunks_embedded", MetricType::kGauge, "Chunks that have an embedding");
  m.Set("refinery_chunks_embedded", {}, static_cast<double>(stats.store.chunks_with_embeddings));
  m.Declare("refinery_entities", MetricType::kGauge, "Entities in the knowledge base by type");
  for (const auto& [type, count] : stats.knowledge.entities_by_type) {
    m.Set("refinery_entities", {{"type", type}}, static_cast<double>(count));
  }
  m.Declare("refinery_entity_conflicts", MetricType::kGauge, "Entity fields whose sources disagree");
  m.Set("refinery_entity_conflicts", {}, static_cast<double>(stats.knowledge.total_conflicts));
  m.Declare("refinery_chunks_evaluated", MetricType::kGauge, "Chunks the evaluate stage judged");
  m.Set("refinery_chunks_evaluated", {}, static_cast<double>(stats.store.chunks_evaluated));
  m.Declare("refinery_chunks_evaluation_failed", MetricType::kGauge,
            "Chunks whose evaluation was unusable even after a repair (kept with the reason, no score)");
  m.Set("refinery_chunks_evaluation_failed", {}, static_cast<double>(stats.store.chunks_evaluation_failed));
  m.Declare("refinery_chunks_extraction_failed", MetricType::kGauge,
            "Chunks whose extraction was unusable even after a repair (kept with the reason, no facts)");
  m.Set("refinery_chunks_extraction_failed", {}, static_cast<double>(stats.store.chunks_extraction_failed));
}

// The job outcome label of each processing-log status that ends an attempt.
constexpr std::pair<const char*, const char*> kJobOutcomes[] = {
    {kLogCompleted, "completed"}, {kLogRetried, "retried"}, {kLogFailed, "dead_lettered"}};

const char* OutcomeOf(const std::string& status) {
  for (const auto& [log_status, outcome] : kJobOutcomes) {
    if (status == log_status) return outcome;
  }
  return nullptr;
}

void DeclareStageFamilies(MetricsRegistry& m) {
  m.Declare("refinery_stage_jobs_total", MetricType::kCounter,
            "Job attempts of every worker that ended, by stage and outcome (completed, retried, "
            "dead_lettered)");
  m.Declare("refinery_stage_duration_seconds", MetricType::kHistogram,
            "Time from lease to the end of a job attempt, by stage and outcome", StageDurationBuckets());
  m.Declare("refinery_reconciler_requeues_total", MetricType::kCounter,
            "Stalled documents the reconcilers re-enqueued, by stage");
}

// False when the store could not be read. Every chain stage's series exists
// from the first scrape (at 0), so rate() sees the first event.
bool AddStageCounters(MetricsRegistry& m, Store& store) {
  auto counters = store.telemetry().StageCounters();
  if (!counters.ok()) return false;
  DeclareStageFamilies(m);
  const std::vector<uint64_t> no_hits(StageDurationBuckets().size() + 1, 0);
  for (const StageDef& stage : StageChain()) {
    for (const auto& [log_status, outcome] : kJobOutcomes) {
      const MetricLabels labels = {{"stage", stage.name}, {"outcome", outcome}};
      m.Set("refinery_stage_jobs_total", labels, 0);
      m.SetHistogram("refinery_stage_duration_seconds", labels, no_hits, 0);
    }
    m.Set("refinery_reconciler_requeues_total", {{"stage", stage.name}}, 0);
  }
  for (const StageCounter& c : *counters) {
    if (c.status == kLogRequeued) {
      m.Set("refinery_reconciler_requeues_total", {{"stage", c.stage}}, static_cast<double>(c.count));
    } else if (c.status == kLogChunkFailed) {
      m.Declare("refinery_chunks_failed_total", MetricType::kCounter,
                "Chunks whose LLM answer was unusable even after a repair, by stage (evaluate, extract)");
      m.Set("refinery_chunks_failed_total", {{"stage", c.stage}}, static_cast<double>(c.count));
    } else if (const char* outcome = OutcomeOf(c.status)) {
      const MetricLabels labels = {{"stage", c.stage}, {"outcome", outcome}};
      m.Set("refinery_stage_jobs_total", labels, static_cast<double>(c.count));
      const std::vector<uint64_t> hits(c.buckets.begin(), c.buckets.end());
      m.SetHistogram("refinery_stage_duration_seconds", labels, hits, c.duration_sum_s);
    }
  }
  return true;
}

// refinery_supervisor_restarts_total{service} from `refinery up`'s control
// socket (the same path as cli::ControlSocketPath); skipped when no
// supervisor runs for this data directory.
void AddSupervisor(MetricsRegistry& m, const Config& config) {
  const std::string path = config.ControlSocketPath();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  auto reply = ControlRequest(path, "status", 0.5);
  if (!reply.ok()) return;
  auto parsed = nlohmann::json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed["services"].is_array()) return;
  m.Declare("refinery_supervisor_restarts_total", MetricType::kCounter,
            "Restarts of each service by the `refinery up` supervising this data directory");
  for (const auto& s : parsed["services"]) {
    m.Set("refinery_supervisor_restarts_total", {{"service", s.value("name", "?")}}, s.value("restarts", 0));
  }
}

// A fresh registry per scrape: these are read, not accumulated.
std::string ScrapeGauges(ApiContext& ctx) {
  MetricsRegistry m;
  AddProcess(m, ctx);
  AddPool(m, ctx.services.store->GetPoolStats());
  if (ctx.services.embed_endpoint) AddLlm(m, *ctx.services.embed_endpoint);
  if (ctx.services.embed_cache) AddCache(m, "embed", *ctx.services.embed_cache);
  if (ctx.services.reason_endpoint) AddLlm(m, *ctx.services.reason_endpoint);
  if (ctx.services.reason_cache) AddCache(m, "reason", *ctx.services.reason_cache);
  const PipelineStats stats = ReadPipelineStats(ctx.services);
  AddPipeline(m, stats);
  const bool queue_ok = stats.queue_status.ok();
  const bool store_ok = AddStageCounters(m, *ctx.services.store) && stats.store_status.ok();
  AddSupervisor(m, ctx.services.config);
  m.Declare("refinery_metrics_scrape_error", MetricType::kGauge,
            "1 when this scrape could not read the source (its figures are missing)");
  m.Set("refinery_metrics_scrape_error", {{"source", "queue"}}, queue_ok ? 0 : 1);
  m.Set("refinery_metrics_scrape_error", {{"source", "store"}}, store_ok ? 0 : 1);
  return m.Render();
}

}  // namespace

void AddMetricsRoutes(Router& router, ApiContext& ctx) {
  router.Raw(
      "GET", "/metrics",
      [&ctx](const Request&, Response& res) {
        // Request counters first, so this scrape's own request shows up in the next one.
        std::string body = ctx.metrics.Render() + ScrapeGauges(ctx);
        res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
      },
      RunsOn::kHandlerPool, Access::kMetrics);
}

}  // namespace refinery::api

// The doctor's API, queue, LLM and pipeline sections.
#include <chrono>
#include <cstdio>
#include <ctime>

#include "api/stats_json.h"
#include "cli/doctor.h"
#include "core/http_client.h"
#include "llm/llm_endpoint.h"
#include "pipeline/pipeline_stats.h"
#include "pipeline/stage_chain.h"

namespace refinery::cli {
namespace {

using json = nlohmann::ordered_json;  // keeps the report's key order

std::string Ms(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f ms", ms);
  return buffer;
}

struct Probe {
  bool reached = false;
  long status = 0;
  double latency_ms = 0;
  std::string body;
  std::string error;  // when !reached
};

// With REFINERY_CLIENT_API_KEY set, every probe carries it (the health
// routes are public, but a proxy in front may not be).
Probe Get(const DoctorContext& ctx, const std::string& path) {
  Probe probe;
  HttpRequest request;
  request.url = ctx.api_base + path;
  const double timeout_s = ctx.timeout_s;
  if (!ctx.config.client_api_key.empty()) request.headers["X-API-Key"] = ctx.config.client_api_key;
  request.timeout_s = timeout_s;
  request.connect_timeout_s = timeout_s;
  auto start = std::chrono::steady_clock::now();
  auto response = HttpCall(request);
  probe.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!response.ok()) {
    probe.error = response.status().message();
    return probe;
  }
  probe.reached = true;
  probe.status = response->status;
  probe.body = response->body;
  return probe;
}

json ProbeJson(const Probe& p) {
  json out = {{"reachable", p.reached}, {"status", p.status}, {"latency_ms", p.latency_ms}};
  if (!p.reached) out["error"] = p.error;
  return out;
}

// "store down (timeout), queue up" from a /health body.
std::string ComponentSummary(const json& health) {
  std::string out;
  if (!health.is_object() || !health.contains("components")) return out;
  for (const auto& [name, c] : health["components"].items()) {
    if (!out.empty()) out += ", ";
    out += name + " " + c.value("status", "?");
    if (c.contains("error")) out += " (" + c["error"].get<std::string>() + ")";
  }
  return out;
}

bool NeedServices(DoctorContext& ctx, DoctorSection& section) {
  if (ctx.services) return true;
  section.Add(Mark::kFail, "backends not opened: " + ctx.open_error);
  return false;
}

double Now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// Documents that reached "complete" in the last `window_s`, judged by
// updated_at among the newest `scan` completed documents (newest first by
// creation, so a document created long ago that completed just now may be
// missed once more than `scan` are complete).
void ReportThroughput(Store& store, DoctorSection& section, double window_s, int64_t scan) {
  auto page = store.documents().List(kStateComplete, scan, 0);
  if (!page.ok()) return;  // omitted, the rest of the section says what failed
  double since = Now() - window_s;
  int64_t recent = 0;
  for (const Document& d : page->documents) recent += d.updated_at >= since ? 1 : 0;
  bool approximate = page->total > scan;
  section.details["completed_last_5_min"] = recent;
  section.details["completed_last_5_min_approximate"] = approximate;
  section.Add(Mark::kInfo, "throughput: " + std::to_string(recent) + " documents completed in the last 5 min" +
                               (approximate ? " (among the newest " + std::to_string(scan) + ")" : ""));
}

void ReportRecentErrors(Store& store, DoctorSection& section) {
  auto page = store.documents().List(kStateError, 5, 0);
  if (!page.ok()) {
    section.Add(Mark::kFail, "recent errors: " + page.status().ToString());
    return;
  }
  json errors = json::array();
  for (const Document& d : page->documents) {
    errors.push_back({{"id", d.id}, {"title", d.title}, {"stage", d.error_stage}, {"message", d.error_message}});
    section.Add(Mark::kWarn, "document " + std::to_string(d.id) + " (" + d.title + ") failed in " + d.error_stage +
                                 ": " + d.error_message);
  }
  section.details["recent_errors"] = std::move(errors);
}

}  // namespace

void CheckApi(DoctorContext& ctx, DoctorSection& section) {
  section.details["url"] = ctx.api_base;
  Probe live = Get(ctx, "/health/live");
  section.details["live"] = ProbeJson(live);
  if (!live.reached) {
    section.Add(Mark::kFail, live.error);  // names the URL already
  } else {
    section.Add(live.status == 200 ? Mark::kOk : Mark::kFail,
                "GET /health/live: " + std::to_string(live.status) + " in " + Ms(live.latency_ms));
  }
  Probe health = Get(ctx, "/health");
  section.details["health"] = ProbeJson(health);
  if (!health.reached) {
    section.Add(Mark::kFail, "GET /health: " + health.error);
    return;
  }
  json body = json::parse(health.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("components")) section.details["components"] = body["components"];
  std::string status = body.is_object() ? body.value("status", "?") : "unparseable body";
  section.Add(health.status == 200 ? Mark::kOk : Mark::kFail, "GET /health: " + std::to_string(health.status) + " " +
                                                                  status + " in " + Ms(health.latency_ms) + " (" +
                                                                  ComponentSummary(body) + ")");
}

void CheckQueue(DoctorContext& ctx, DoctorSection& section) {
  const Config& c = ctx.config;
  section.Add(Mark::kInfo,
              c.redis_url.empty() ? "backend: SQLite job table " + c.QueuePath() : "backend: Redis Streams");
  if (!NeedServices(ctx, section)) return;
  json depths = json::object();
  const PipelineStats stats = ReadPipelineStats(*ctx.services);
  if (!stats.status().ok()) section.Add(Mark::kFail, stats.status().ToString());
  for (const StageFigures& f : stats.stages) {
    if (!stats.queue_status.ok()) break;
    const QueueDepth& d = f.queue;
    depths[f.stage] = {{"ready", d.ready}, {"in_flight", d.in_flight}, {"delayed", d.delayed}, {"dead", f.dead}};
    std::string text = f.stage + ": ready " + std::to_string(d.ready) + ", in flight " + std::to_string(d.in_flight) +
                       ", delayed " + std::to_string(d.delayed) + ", dead " + std::to_string(f.dead);
    if (f.dead > 0) text += " (dead letters: their documents are in `error`; POST /documents/{id}/retry)";
    section.Add(f.dead > 0 ? Mark::kWarn : Mark::kOk, text);
  }
  Status writable = ctx.services->queue->CheckWritable();
  section.Add(writable.ok() ? Mark::kOk : Mark::kFail,
              writable.ok() ? "takes writes" : "cannot write: " + writable.ToString());
  section.details["depths"] = std::move(depths);
}

// One line per configured endpoint, from its free listing calls only
// (/api/version, /api/tags, /api/ps or /v1/models): reachable, latency,
// the model present and which models are loaded.
void CheckEndpoint(const std::string& role, const LlmEndpointConfig& config, const std::string& openai_key,
                   DoctorSection& section) {
  LlmEndpoint endpoint(role, config, openai_key);
  json detail = {{"role", role}, {"provider", config.provider}, {"url", config.url}, {"model", config.model}};
  auto report = InspectEndpoint(endpoint);
  if (report.ok()) {
    detail["status"] = "up";
    detail["version"] = report->version;
    detail["models"] = report->models;
    detail["loaded"] = report->loaded;
    detail["latency_ms"] = report->latency_ms;
    std::string loaded;
    for (const std::string& m : report->loaded) loaded += (loaded.empty() ? "" : ", ") + m;
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.0f ms", report->latency_ms);
    section.Add(Mark::kOk, role + " " + config.provider + " " + config.url + ": model " + config.model + " present, " +
                               std::to_string(report->models.size()) + " models, loaded: " +
                               (loaded.empty() ? "none" : loaded) + ", " + latency);
  } else {
    detail["status"] = "down";
    detail["error"] = report.status().message();
    section.Add(Mark::kWarn, report.status().message() + " (work waits for it)");
  }
  section.details["endpoints"].push_back(std::move(detail));
}

void CheckLlm(DoctorContext& ctx, DoctorSection& section) {
  std::string name = ctx.services ? ctx.services->embedder->Name() : "hashing";
  section.details["endpoints"] = json::array();
  section.details["embedder"] = name;
  if (ctx.config.llm_embed.configured()) {
    CheckEndpoint("llm_embed", ctx.config.llm_embed, ctx.config.openai_api_key, section);
  } else {
    section.Add(Mark::kOk, "built-in embedder (" + name + ", " + std::to_string(ctx.config.embedding_dim) +
                               " dims), no server configured");
  }
  if (ctx.config.llm_reason.configured()) {
    CheckEndpoint("llm_reason", ctx.config.llm_reason, ctx.config.openai_api_key, section);
  }
  if (ctx.services) {
    const std::string evaluator = ctx.services->evaluator->Name();
    const std::string extractor = ctx.services->extractor->Name();
    section.details["evaluator"] = evaluator;
    section.details["extractor"] = extractor;
    section.Add(Mark::kInfo, "evaluate stage: " + evaluator + "; extract stage: " + extractor +
                                 (ctx.config.llm_reason.configured() ? " (no LLM extractor yet)" : ""));
  }
}

void CheckPipeline(DoctorContext& ctx, DoctorSection& section) {
  if (!NeedServices(ctx, section)) return;
  const PipelineStats stats = ReadPipelineStats(*ctx.services);  // the snapshot GET /stats shows
  if (!stats.store_status.ok()) {
    section.Add(Mark::kFail, stats.store_status.ToString());
    return;
  }
  const json figures = json(api::PipelineStatsJson(stats));
  std::string summary;
  for (const auto& [state, count] : figures["documents_by_stage"].items()) {
    summary += (summary.empty() ? "" : ", ") + state + " " + std::to_string(count.get<int64_t>());
  }
  for (const char* key : {"total_documents", "documents_by_stage", "total_chunks", "chunks_with_embeddings"}) {
    section.details[key] = figures[key];
  }
  section.Add(Mark::kInfo, std::to_string(stats.store.total_documents) + " documents: " + summary);
  section.Add(Mark::kInfo, std::to_string(stats.store.total_chunks) + " chunks, " +
                               std::to_string(stats.store.chunks_with_embeddings) + " embedded");
  Store& store = *ctx.services->store;
  ReportRecentErrors(store, section);
  ReportThroughput(store, section, 300, 1000);
}

}  // namespace refinery::cli

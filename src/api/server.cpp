// ApiServer: the event-driven HTTP server (http_server.h) over the router
// and the route groups, configured from Config.
#include "api/api.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/http_server.h"
#include "api/routes.h"
#include "core/log.h"
#include "llm/model_pull.h"

namespace refinery {
namespace {

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(seconds, 0.001) * 1000));
}

api::HttpServerOptions ServerOptions(const Config& config) {
  api::HttpServerOptions options;
  // Parsing and answering probes is little work: one event-loop thread per
  // core (at most 4) keeps up with tens of thousands of requests a second.
  options.event_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  options.handlers.threads = std::max(config.http_threads, 1);
  options.handlers.nice = config.http_thread_nice;
  options.handlers.max_wait = Millis(config.http_queue_wait_s);
  options.idle_timeout = Millis(config.http_idle_timeout_s);
  options.header_timeout = Millis(config.http_header_timeout_s);
  options.body_timeout = Millis(config.http_body_timeout_s);
  options.write_timeout = Millis(std::max(config.http_body_timeout_s, 10.0));
  options.max_body_bytes = static_cast<uint64_t>(std::max<int64_t>(config.max_body_bytes, 0));
  return options;
}

// The opt-in pullers of missing Ollama models; null when not asked for.
struct ModelPullers {
  std::unique_ptr<ModelPuller> embed;
  std::unique_ptr<ModelPuller> reason;
};

std::unique_ptr<ModelPuller> PullerFor(const LlmEndpoint* endpoint) {
  const bool pulls = endpoint != nullptr && endpoint->config().pull && endpoint->config().provider == "ollama";
  return pulls ? std::make_unique<ModelPuller>(*endpoint) : nullptr;
}

void AddHealthChecks(api::HealthMonitor& health, Services& s, ModelPullers& pullers) {
  // A store or queue that answers reads but cannot write (a full disk, a
  // read-only replica) is down too: work cannot move.
  health.Add("store", [&s] {
    Status ping = s.store->Ping();
    return ping.ok() ? s.store->CheckWritable() : ping;
  });
  health.Add("queue", [&s] {
    Status ping = s.queue->Ping();
    return ping.ok() ? s.queue->CheckWritable() : ping;
  });
  health.Add("blob_store", [&s] { return s.blobs->Ping(); });
  // Present only when configured: the built-in embedder cannot be down.
  if (s.embed_endpoint) {
    ModelPuller* puller = pullers.embed.get();
    health.Add("llm_embed", [&s, puller] { return EndpointHealth(*s.embed_endpoint, puller); });
  }
  if (s.reason_endpoint) {
    ModelPuller* puller = pullers.reason.get();
    health.Add("llm_reason", [&s, puller] { return EndpointHealth(*s.reason_endpoint, puller); });
  }
}

}  // namespace

// Member order matters: the HTTP server's connections and handler threads
// use the router and the context, so it is declared last and destroyed
// first; the context's health monitor stops its checker threads in its
// destructor.
struct ApiServer::Impl {
  explicit Impl(Services& services)
      : pullers{PullerFor(services.embed_endpoint.get()), PullerFor(services.reason_endpoint.get())},
        context(services),
        router(context.metrics),
        http(ServerOptions(services.config), router) {
    AddHealthChecks(context.health, services, pullers);
    api::AddDocumentRoutes(router, context);
    api::AddSearchRoutes(router, context);
    api::AddKnowledgeRoutes(router, context);
    api::AddCrawlRoutes(router, context);
    api::AddSystemRoutes(router, context);
    api::AddMetricsRoutes(router, context);
  }

  ModelPullers pullers;  // outlive the health monitor's checker threads that use them
  api::ApiContext context;
  api::Router router;
  api::HttpServer http;

  std::mutex mutex;
  std::condition_variable serve_ended;
  bool serving = false;  // GUARDED_BY(mutex): inside Serve
};

ApiServer::ApiServer(Services& services) : impl_(std::make_unique<Impl>(services)) {}

ApiServer::~ApiServer() {
  Stop();
  // Serve on another thread must have returned before the server goes away.
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->serve_ended.wait(lock, [this] { return !impl_->serving; });
}

Status ApiServer::Bind(const std::string& host, int port) {
  REFINERY_RETURN_IF_ERROR(impl_->http.Bind(host, port));
  const Config& config = impl_->context.services.config;
  auto policy = std::make_unique<api::AccessPolicy>(config, host, impl_->http.port());
  if (policy->keys_on()) {
    // Counts only: a key is a secret and never logged.
    spdlog::info("api: API keys on ({} full, {} read-only){}", config.api_keys.size(), config.read_api_keys.size(),
                 config.metrics_auth ? ", /metrics too" : "");
  } else if (!policy->checks_host()) {
    spdlog::warn("api: listening on {} (not loopback) without API keys: anyone who can reach the port may "
                 "read and delete every document (set REFINERY_API_KEYS)",
                 host);
  }
  impl_->router.SetPolicy(std::move(policy));
  return Status::Ok();
}

int ApiServer::port() const { return impl_->http.port(); }

void ApiServer::Serve() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->serving = true;
  }
  // Connections arriving meanwhile wait in the listen backlog; afterwards
  // no health route ever waits for a check (so they may run on the event
  // loop). At most HealthTiming::first_result_wait, even when a dependency hangs.
  impl_->context.health.WaitForFirstResults();
  spdlog::debug("api: serving on port {}", port());
  impl_->http.Run();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->serving = false;
  }
  impl_->serve_ended.notify_all();
}

void ApiServer::Stop() { impl_->http.Stop(); }

}  // namespace refinery

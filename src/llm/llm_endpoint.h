// LlmEndpoint: the delivery layer every LLM client shares -- one server
// (Ollama or OpenAI-compatible), its connections, its concurrency cap, its
// retries and its circuit breaker. The protocol clients (embedders, chat)
// build requests and read answers; everything about getting a call through
// a slow, overloaded or restarting server lives here.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/http_client.h"
#include "core/status.h"

namespace refinery {

// What one endpoint has done, for /metrics, /health and the doctor.
struct LlmEndpointStats {
  static constexpr std::array<double, 10> kLatencyBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120};
  int64_t calls = 0;                      // HTTP attempts made
  std::map<std::string, int64_t> errors;  // by kind: timeout, connection, http_429, http_5xx, http_4xx, model_missing, bad_answer
  std::array<uint64_t, kLatencyBounds.size() + 1> latency_hits{};  // per bound, then +Inf
  double latency_sum_s = 0;
  int64_t prompt_tokens = 0;  // where the server reports them
  std::string breaker = "closed";  // closed | open | half_open
};

// `j[key]` when `j` is an object holding `key`, else null. Server answers
// are hostile input: nlohmann's const operator[] on a missing key is
// undefined behaviour (an assertion in debug builds).
const nlohmann::json& JsonField(const nlohmann::json& j, const char* key);
// `j[index]` when `j` is an array that long, else null.
const nlohmann::json& JsonItem(const nlohmann::json& j, size_t index);

class LlmEndpoint {
 public:
  // `role` names it in messages and health ("llm_embed", "llm_reason").
  // `fallback_api_key`: used by an openai endpoint without a key of its own.
  LlmEndpoint(std::string role, LlmEndpointConfig config, const std::string& fallback_api_key);
  LlmEndpoint(const LlmEndpoint&) = delete;
  LlmEndpoint& operator=(const LlmEndpoint&) = delete;

  // POSTs `body` to `path` ("/api/embed", "/v1/embeddings") and parses the
  // JSON answer. Timeouts, dropped connections, 429 (after its
  // Retry-After, capped) and 5xx are tried again config.retries times with
  // jittered backoff; at most config.concurrency calls of this process are
  // in flight at once (the others wait their turn). After five failed
  // calls in a row the breaker opens: calls fail at once for a cooldown,
  // then one goes through to test the server. Errors, never with an empty
  // message:
  //   Unavailable / Timeout -- down, overloaded, too slow, or the model is
  //                            missing: transient, so the stage pauses and
  //                            the job waits without using an attempt;
  //   NotFound              -- the path does not exist (an older server);
  //   InvalidArgument       -- the server refused the request (another 4xx),
  //                            with the server's own message.
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);
  // One GET, one try, short timeout, no breaker: health probes
  // (/api/version, /api/tags, /api/ps, /v1/models) that cost nothing.
  Result<nlohmann::json> Probe(const std::string& path);
  // Counts an answer that arrived but is unusable (bad shape, truncated).
  void CountBadAnswer();
  void CountTokens(int64_t prompt_tokens);

  const std::string& role() const { return role_; }
  const LlmEndpointConfig& config() const { return config_; }
  std::string Url(const std::string& path) const;
  LlmEndpointStats Stats() const;

 private:
  // One HTTP attempt under the concurrency cap.
  Result<HttpResponse> Attempt(const HttpRequest& request);
  Status BreakerAdmits();
  void Record(bool transient_failure);
  void CountError(const std::string& kind);
  Status Classify(const HttpResponse& response, const std::string& what, bool& retry, double& retry_after_s);

  const std::string role_;
  const LlmEndpointConfig config_;
  std::string api_key_;
  HttpSession session_;

  mutable std::mutex mutex_;
  std::condition_variable slot_free_;
  int in_flight_ = 0;          // GUARDED_BY(mutex_)
  int failures_in_a_row_ = 0;  // GUARDED_BY(mutex_)
  double open_until_ = 0;      // GUARDED_BY(mutex_): monotonic seconds; 0: closed
  bool probing_ = false;       // GUARDED_BY(mutex_): the half-open test call is out
  mutable std::mutex stats_mutex_;
  LlmEndpointStats stats_;  // GUARDED_BY(stats_mutex_)
};

// What a health check sees of an endpoint, from calls that cost nothing
// (never an embedding or a chat: a paid endpoint would bill every probe).
struct EndpointReport {
  std::string version;              // Ollama's /api/version; empty for openai
  std::vector<std::string> models;  // present (Ollama /api/tags, OpenAI /v1/models)
  std::vector<std::string> loaded;  // in memory (Ollama /api/ps)
  bool model_present = false;       // config().model among `models`
  double latency_ms = 0;            // of the first probe
};
// Unavailable when the server cannot be reached or answers an error.
Result<EndpointReport> ListEndpoint(LlmEndpoint& endpoint);
// As ListEndpoint, and Unavailable when the configured model is not among
// its models (naming the model).
Result<EndpointReport> InspectEndpoint(LlmEndpoint& endpoint);
// Model names match with or without Ollama's ":latest" tag.
bool SameModel(const std::string& a, const std::string& b);

// The server's own error text from an error answer's body (Ollama's
// {"error": "..."}, OpenAI's {"error": {"message": ...}}), else the body's
// first 200 bytes.
std::string ServerErrorText(const std::string& body);

}  // namespace refinery

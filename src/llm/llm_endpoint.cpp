#include "llm/llm_endpoint.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/json_depth.h"

namespace refinery {

namespace {
const nlohmann::json kJsonNull;  // immutable: what a missing field reads as
}  // namespace

const nlohmann::json& JsonField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kJsonNull;
  auto it = j.find(key);
  return it == j.end() ? kJsonNull : *it;
}

const nlohmann::json& JsonItem(const nlohmann::json& j, size_t index) {
  return j.is_array() && index < j.size() ? j[index] : kJsonNull;
}

namespace {

// Server answers nest 3-5 levels (the model's own JSON comes as a string).
constexpr size_t kMaxAnswerDepth = 32;
constexpr int kBreakerThreshold = 5;     // failed calls in a row that open the breaker
constexpr double kBreakerCooldownS = 5;  // open this long before one test call
constexpr double kMaxRetryAfterS = 30;   // a longer Retry-After: give the job back instead of waiting
constexpr double kProbeTimeoutS = 5;

std::string FormatSeconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", s);
  return text;
}

std::string Trimmed(std::string text, size_t limit) {
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// Retry-After in seconds (the HTTP-date form is read as "soon": 1 s).
// An error answer's JSON; discarded when it is none (or nests absurdly:
// parsing and freeing recurse).
nlohmann::json ParseErrorBody(const std::string& body) {
  if (!JsonDepthWithin(body, kMaxAnswerDepth)) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(body, nullptr, false);
}

double RetryAfterSeconds(const HttpResponse& response) {
  auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) return 0;
  char* end = nullptr;
  const double seconds = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || !(seconds >= 0)) return 1;
  return seconds;
}

bool NamesMissingModel(int status, const std::string& body) {
  if (status != 404 && status != 400) return false;
  auto parsed = ParseErrorBody(body);
  if (!parsed.is_object() || !parsed.contains("error")) return false;
  const nlohmann::json& error = parsed["error"];
  if (error.is_object()) return error.value("code", nlohmann::json()).is_string() && error["code"] == "model_not_found";
  const std::string text = error.is_string() ? error.get<std::string>() : "";
  return text.find("model") != std::string::npos && text.find("not found") != std::string::npos;
}

}  // namespace

std::string ServerErrorText(const std::string& body) {
  auto parsed = ParseErrorBody(body);
  if (parsed.is_object() && parsed.contains("error")) {
    const nlohmann::json& error = parsed["error"];
    if (error.is_string()) return Trimmed(error.get<std::string>(), 300);
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      return Trimmed(error["message"].get<std::string>(), 300);
    }
  }
  return body.empty() ? "(empty body)" : Trimmed(body, 200);
}

LlmEndpoint::LlmEndpoint(std::string role, LlmEndpointConfig config, const std::string& fallback_api_key)
    : role_(std::move(role)), config_(std::move(config)), session_(static_cast<size_t>(config_.concurrency)) {
  api_key_ = config_.api_key;
  if (api_key_.empty() && config_.provider == "openai") api_key_ = fallback_api_key;
}

std::string LlmEndpoint::Url(const std::string& path) const {
  std::string base = config_.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // OpenAI clients take a base URL ending in /v1; accept it with or without.
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 && path.rfind("/v1/", 0) == 0) {
    return base + path.substr(3);
  }
  return base + path;
}

Status LlmEndpoint::BreakerAdmits() {
  std::lock_guard lock(mutex_);
  if (open_until_ == 0) return Status::Ok();
  const double now = MonotonicSeconds();
  if (now < open_until_ || probing_) {
    return Status::Unavailable(role_ + " " + config_.url + ": not called: " + std::to_string(failures_in_a_row_) +
                               " calls failed in a row (circuit open; retrying shortly)");
  }
  probing_ = true;  // half open: this call tests the server
  return Status::Ok();
}

void LlmEndpoint::Record(bool transient_failure) {
  std::lock_guard lock(mutex_);
  probing_ = false;
  if (!transient_failure) {
    failures_in_a_row_ = 0;
    open_until_ = 0;
    return;
  }
  if (++failures_in_a_row_ >= kBreakerThreshold) open_until_ = MonotonicSeconds() + kBreakerCooldownS;
}

void LlmEndpoint::CountError(const std::string& kind) {
  std::lock_guard lock(stats_mutex_);
  ++stats_.errors[kind];
}

void LlmEndpoint::CountBadAnswer() { CountError("bad_answer"); }

void LlmEndpoint::CountTokens(int64_t prompt_tokens) {
  std::lock_guard lock(stats_mutex_);
  stats_.prompt_tokens += std::max<int64_t>(0, prompt_tokens);
}

Result<HttpResponse> LlmEndpoint::Attempt(const HttpRequest& request) {
  {
    std::unique_lock lock(mutex_);
    slot_free_.wait(lock, [&] { return in_flight_ < config_.concurrency; });
    ++in_flight_;
  }
  const double started = MonotonicSeconds();
  Result<HttpResponse> response = session_.Call(request);
  const double took = MonotonicSeconds() - started;
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  slot_free_.notify_one();
  std::lock_guard lock(stats_mutex_);
  ++stats_.calls;
  size_t bucket = 0;
  while (bucket < LlmEndpointStats::kLatencyBounds.size() && took > LlmEndpointStats::kLatencyBounds[bucket]) ++bucket;
  ++stats_.latency_hits[bucket];
  stats_.latency_sum_s += took;
  return response;
}

// An answer that is not 2xx as a Status; sets `retry` (and the server's
// Retry-After) when trying again may help.
Status LlmEndpoint::Classify(const HttpResponse& response, const std::string& what, bool& retry,
                             double& retry_after_s) {
  const int status = static_cast<int>(response.status);
  const std::string message = what + ": HTTP " + std::to_string(status) + ": " + ServerErrorText(response.body);
  retry = false;
  if (status == 429 || status >= 500) {
    CountError(status == 429 ? "http_429" : "http_5xx");
    retry = true;
    retry_after_s = RetryAfterSeconds(response);
    return Status::Unavailable(message);
  }
  if (NamesMissingModel(status, response.body)) {
    CountError("model_missing");
    return Status::Unavailable(what + ": model '" + config_.model + "' is not available on the server (" +
                               ServerErrorText(response.body) + ")" +
                               (config_.provider == "ollama" ? "; pull it (ollama pull " + config_.model +
                                                                   ") or allow pulling (REFINERY_" +
                                                                   (role_ == "llm_embed" ? "EMBED" : "REASON") +
                                                                   "_PULL=true)"
                                                             : ""));
  }
  CountError("http_4xx");
  if (status == 404 || status == 405) return Status::NotFound(message);
  return Status::InvalidArgument(message);
}

Result<nlohmann::json> LlmEndpoint::Post(const std::string& path, const nlohmann::json& body) {
  HttpRequest request;
  request.method = "POST";
  request.url = Url(path);
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.headers["Content-Type"] = "application/json";
  if (!api_key_.empty()) request.headers["Authorization"] = "Bearer " + api_key_;
  request.timeout_s = config_.timeout_s;
  request.connect_timeout_s = config_.connect_timeout_s;
  const std::string what = role_ + " POST " + request.url;
  Status last = Status::Unavailable(what + ": not tried");
  for (int attempt = 1; attempt <= config_.retries + 1; ++attempt) {
    REFINERY_RETURN_IF_ERROR(BreakerAdmits());
    Result<HttpResponse> response = Attempt(request);
    bool retry = true;
    double retry_after_s = 0;
    if (!response.ok()) {
      CountError(response.status().code() == StatusCode::kTimeout ? "timeout" : "connection");
      const bool timed_out = response.status().code() == StatusCode::kTimeout;
      last = Status(response.status().code(),
                    role_ + ": " + response.status().message() +
                        (timed_out ? " (no answer within the " + FormatSeconds(config_.timeout_s) + " limit)" : ""));
    } else if (response->status >= 200 && response->status < 300) {
      Record(false);
      if (!JsonDepthWithin(response->body, kMaxAnswerDepth)) {  // parsing and freeing recurse: a hostile server
        CountBadAnswer();
        return Status::InvalidArgument(what + ": the answer nests deeper than " + std::to_string(kMaxAnswerDepth) +
                                       " levels");
      }
      auto parsed = nlohmann::json::parse(response->body, nullptr, false);
      if (parsed.is_discarded()) {
        CountBadAnswer();
        return Status::InvalidArgument(what + ": the answer is not JSON: " + Trimmed(response->body, 200));
      }
      return parsed;
    } else {
      last = Classify(*response, what, retry, retry_after_s);
    }
    if (!last.transient()) {
      Record(false);  // the server answered: it is up
      return last;
    }
    Record(true);
    if (!retry || attempt > config_.retries || retry_after_s > kMaxRetryAfterS) break;
    const double wait_s = std::max(retry_after_s, JitteredBackoff({.base_s = 0.25, .max_s = 5}, attempt));
    std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
  }
  return last;
}

Result<nlohmann::json> LlmEndpoint::Probe(const std::string& path) {
  HttpRequest request;
  request.url = Url(path);
  if (!api_key_.empty()) request.headers["Authorization"] = "Bearer " + api_key_;
  request.timeout_s = std::min(kProbeTimeoutS, config_.timeout_s);
  request.connect_timeout_s = std::min(request.timeout_s, config_.connect_timeout_s);
  auto response = session_.Call(request);
  if (!response.ok()) return Status(response.status().code(), role_ + ": " + response.status().message());
  if (response->status < 200 || response->status >= 300) {
    const std::string message =
        role_ + " GET " + request.url + ": HTTP " + std::to_string(response->status) + ": " + ServerErrorText(response->body);
    return response->status == 404 ? Status::NotFound(message) : Status::Unavailable(message);
  }
  auto parsed = JsonDepthWithin(response->body, kMaxAnswerDepth) ? nlohmann::json::parse(response->body, nullptr, false)
                                                                 : nlohmann::json(nlohmann::json::value_t::discarded);
  if (parsed.is_discarded()) return Status::Unavailable(role_ + " GET " + request.url + ": the answer is not JSON");
  return parsed;
}

LlmEndpointStats LlmEndpoint::Stats() const {
  LlmEndpointStats out;
  {
    std::lock_guard lock(stats_mutex_);
    out = stats_;
  }
  std::lock_guard lock(mutex_);
  out.breaker = open_until_ == 0 ? "closed" : (MonotonicSeconds() < open_until_ ? "open" : "half_open");
  return out;
}

}  // namespace refinery

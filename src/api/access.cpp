#include "api/access.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/hash.h"

namespace refinery::api {
namespace {

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// Equal-length digests compared without an early exit.
bool SameDigest(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool AnyMatches(const std::vector<std::string>& digests, const std::string& digest) {
  bool matched = false;
  for (const auto& d : digests) matched |= SameDigest(d, digest);  // no break: the same work for every key
  return matched;
}

// "[::1]:8000" -> "::1", "Example.com:80" -> "example.com", "h" -> "h".
std::string HostName(const std::string& host_header, std::string* port) {
  std::string host = Lower(Trim(host_header));
  std::string rest;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos) return host;
    rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
  } else if (const size_t colon = host.find(':'); colon != std::string::npos) {
    rest = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (port != nullptr) *port = rest.size() > 1 && rest[0] == ':' ? rest.substr(1) : "";
  return host;
}

Refusal Refuse(int status, const char* code, std::string message, int retry_after_s = 0) {
  return Refusal{status, code, std::move(message), retry_after_s};
}

// Whether the Content-Type names JSON ("application/json; charset=utf-8" too).
bool IsJson(const std::string& content_type) {
  return Lower(Trim(content_type.substr(0, content_type.find(';')))) == "application/json";
}

}  // namespace

// ---- RateLimiter -------------------------------------------------------------

RateLimiter::RateLimiter(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)) {}

bool RateLimiter::Take(const std::string& client, Clock::time_point now, int* retry_after_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  Prune(now);
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst_, bucket.tokens + std::max(elapsed, 0.0) * rate_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return true;
  }
  if (retry_after_s != nullptr) *retry_after_s = std::max(1, static_cast<int>(std::ceil((1 - bucket.tokens) / rate_)));
  return false;
}

size_t RateLimiter::clients() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return buckets_.size();
}

void RateLimiter::Prune(Clock::time_point now) {
  // At most once a second: a sweep costs O(clients).
  if (now - last_prune_ < std::chrono::seconds(1)) return;
  last_prune_ = now;
  const double refill_s = burst_ / rate_;  // an empty bucket is full again after this
  std::erase_if(buckets_, [&](const auto& entry) {
    return std::chrono::duration<double>(now - entry.second.updated).count() > refill_s;
  });
}

// ---- AccessPolicy ------------------------------------------------------------

AccessPolicy::AccessPolicy(const Config& config, const std::string& bound_host, int bound_port)
    : metrics_auth_(config.metrics_auth),
      cors_origins_(config.cors_origins),
      check_host_(IsLoopbackHost(bound_host)),
      port_(std::to_string(bound_port)) {
  for (const auto& key : config.api_keys) full_keys_.push_back(Sha256Hex(key));
  for (const auto& key : config.read_api_keys) read_keys_.push_back(Sha256Hex(key));
  for (const auto& host : config.allowed_hosts) allowed_hosts_.push_back(HostName(host, nullptr));
  if (config.rate_limit > 0) {
    limiter_.emplace(config.rate_limit,
                     config.rate_burst > 0 ? config.rate_burst : std::max(config.rate_limit, 1.0) * 2);
  }
}

AccessPolicy::KeyClass AccessPolicy::Classify(const std::string& presented) const {
  if (presented.empty()) return KeyClass::kNone;
  const std::string digest = Sha256Hex(presented);
  const bool full = AnyMatches(full_keys_, digest);
  const bool read = AnyMatches(read_keys_, digest);
  return full ? KeyClass::kFull : read ? KeyClass::kRead : KeyClass::kNone;
}

bool AccessPolicy::HostAllowed(const std::string& host_header) const {
  if (!check_host_ || host_header.empty()) return true;  // HTTP/1.0 without Host: no browser sends that
  std::string port;
  const std::string host = HostName(host_header, &port);
  if (!port.empty() && port != port_) return false;
  if (IsLoopbackHost(host)) return true;
  return std::find(allowed_hosts_.begin(), allowed_hosts_.end(), host) != allowed_hosts_.end();
}

std::optional<std::string> AccessPolicy::AllowedOrigin(const Request& request) const {
  const std::string origin = request.header("origin");
  if (origin.empty() || cors_origins_.empty()) return std::nullopt;
  for (const auto& allowed : cors_origins_) {
    if (allowed == "*" || allowed == origin) return origin;
  }
  return std::nullopt;
}

std::optional<Refusal> AccessPolicy::Check(const Request& request, Access access, RateLimiter::Clock::time_point now) {
  if (!HostAllowed(request.header("host"))) {
    return Refuse(421, "misdirected_request",
                  "Host '" + request.header("host").substr(0, 200) +
                      "' is not this server's (bound to loopback; allow names with REFINERY_ALLOWED_HOSTS)");
  }
  const bool needs_key = keys_on() && (access == Access::kRead || access == Access::kWrite ||
                                       (access == Access::kMetrics && metrics_auth_));
  const std::string presented = needs_key || limiter_ ? PresentedKey(request) : "";
  if (needs_key) {
    const KeyClass key = Classify(presented);
    if (key == KeyClass::kNone) {
      return Refuse(401, "unauthorized",
                    presented.empty() ? "an API key is required (X-API-Key or Authorization: Bearer)"
                                      : "the API key is not valid");
    }
    if (key == KeyClass::kRead && access == Access::kWrite) {
      return Refuse(403, "forbidden", "this API key may only read");
    }
  }
  if (limiter_ && access != Access::kPublic) {
    // Per key when keys are on (a digest: the key itself is never kept), else per address.
    const std::string client = keys_on() && !presented.empty() ? "key:" + Sha256Hex(presented)
                                                               : "addr:" + request.remote_address;
    int retry_after_s = 1;
    if (!limiter_->Take(client, now, &retry_after_s)) {
      return Refuse(429, "rate_limited", "too many requests; retry after " + std::to_string(retry_after_s) + " s",
                    retry_after_s);
    }
  }
  if (!request.body.empty() && (request.method == "POST" || request.method == "DELETE") &&
      !IsJson(request.header("content-type"))) {
    return Refuse(415, "unsupported_media_type", "a request body must be sent as Content-Type: application/json");
  }
  return std::nullopt;
}

bool AccessPolicy::Preflight(const Request& request, const std::string& allowed_methods, Response& response) const {
  if (request.method != "OPTIONS") return false;
  auto origin = AllowedOrigin(request);
  if (!origin) return false;
  response = Response{};
  response.status = 204;
  response.set_header("Access-Control-Allow-Origin", *origin);
  response.set_header("Access-Control-Allow-Methods", allowed_methods);
  response.set_header("Access-Control-Allow-Headers", "Content-Type, X-API-Key, Authorization");
  response.set_header("Access-Control-Max-Age", "600");
  response.set_header("Vary", "Origin");
  return true;
}

void AccessPolicy::AddCorsHeaders(const Request& request, Response& response) const {
  if (auto origin = AllowedOrigin(request)) {
    response.set_header("Access-Control-Allow-Origin", *origin);
    response.set_header("Vary", "Origin");
  }
}

std::string PresentedKey(const Request& request) {
  std::string key = Trim(request.header("x-api-key"));
  if (!key.empty()) return key;
  const std::string authorization = Trim(request.header("authorization"));
  if (authorization.size() > 7 && Lower(authorization.substr(0, 7)) == "bearer ") return Trim(authorization.substr(7));
  return "";
}

bool IsLoopbackHost(const std::string& host) {
  const std::string h = Lower(host);
  if (h == "localhost" || h.ends_with(".localhost") || h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
  // 127.0.0.0/8, dotted quad only.
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace refinery::api

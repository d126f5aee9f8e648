// Private to the API: who may send which request, decided before any
// handler runs (on the event loop, so a refused request never takes a
// handler thread). In order: the Host check (DNS rebinding), CORS
// preflights, API keys, the rate limit, and the Content-Type of bodies
// (CSRF: a plain web form cannot send application/json). Pure logic over
// a Request and a time passed in, so it is tested without sockets or sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/http_types.h"
#include "core/config.h"

namespace refinery::api {

// What a route needs. kMetrics is public unless REFINERY_METRICS_AUTH.
enum class Access { kPublic, kRead, kWrite, kMetrics };

// A token bucket per client: `rate` tokens a second, at most `burst`.
// Buckets of clients silent long enough to be full again are forgotten,
// so memory stays bounded by the clients of the last few seconds.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double rate, double burst);
  // Takes a token for `client`; false (and `retry_after_s`, whole seconds
  // >= 1, until one is back) when its bucket is empty.
  bool Take(const std::string& client, Clock::time_point now, int* retry_after_s);
  size_t clients() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void Prune(Clock::time_point now);  // REQUIRES: mutex_ held
  const double rate_;
  const double burst_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mutex_)
  Clock::time_point last_prune_{};                   // GUARDED_BY(mutex_)
};

class AccessPolicy {
 public:
  // `bound_host`/`bound_port`: where the server listens; with a loopback
  // host the Host header must name loopback (or config.allowed_hosts).
  AccessPolicy(const Config& config, const std::string& bound_host, int bound_port);

  // nullopt: `request` may go on to its handler. `access` is its route's.
  std::optional<Refusal> Check(const Request& request, Access access, RateLimiter::Clock::time_point now);
  // The answer to a CORS preflight (OPTIONS with an allowed Origin):
  // true with `response` filled in; false when it is no preflight we allow.
  bool Preflight(const Request& request, const std::string& allowed_methods, Response& response) const;
  // Adds Access-Control-Allow-Origin (and Vary) when `request`'s Origin is allowed.
  void AddCorsHeaders(const Request& request, Response& response) const;

  bool keys_on() const { return !full_keys_.empty(); }
  bool checks_host() const { return check_host_; }

 private:
  using Digest = std::string;  // SHA-256, hex: equal length whatever the key's
  enum class KeyClass { kNone, kRead, kFull };
  // Constant-time over every configured key: the digests are compared in
  // full, whatever matched or differed first.
  KeyClass Classify(const std::string& presented) const;
  bool HostAllowed(const std::string& host_header) const;
  std::optional<std::string> AllowedOrigin(const Request& request) const;

  std::vector<Digest> full_keys_;
  std::vector<Digest> read_keys_;
  bool metrics_auth_;
  std::vector<std::string> cors_origins_;
  bool check_host_;
  std::vector<std::string> allowed_hosts_;  // lower case, without port
  std::string port_;
  std::optional<RateLimiter> limiter_;
};

// The key a request presents: X-API-Key, else "Authorization: Bearer <key>"; "" when none.
std::string PresentedKey(const Request& request);

// Whether `host` is a loopback name or address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

}  // namespace refinery::api

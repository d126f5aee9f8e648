// The access policy as pure logic: API keys by route class, the Host check
// of a loopback-bound server, CORS, the Content-Type of bodies and the
// per-client token bucket, with times passed in (no clock, no sockets).
#include "api/access.h"

#include <gtest/gtest.h>

#include <chrono>

namespace refinery::api {
namespace {

using Clock = RateLimiter::Clock;
using std::chrono::milliseconds;

Request Make(const std::string& method, const std::string& path, HeaderFields headers = {}) {
  Request request;
  request.method = method;
  request.target = path;
  request.path = path;
  request.headers = std::move(headers);
  request.remote_address = "127.0.0.1";
  if (request.header("host").empty()) request.headers.emplace_back("host", "127.0.0.1:8000");
  return request;
}

Config KeysConfig() {
  Config config;
  config.api_keys = {"full-key-1", "full-key-2"};
  config.read_api_keys = {"read-key"};
  return config;
}

int StatusOf(const std::optional<Refusal>& refusal) { return refusal ? refusal->status : 0; }

TEST(Access, EveryRouteClassWithNoWrongReadAndFullKey) {
  AccessPolicy policy(KeysConfig(), "127.0.0.1", 8000);
  const auto now = Clock::now();
  struct Case {
    Access access;
    int no_key, wrong_key, read_key, full_key;
  };
  const Case cases[] = {
      {Access::kPublic, 0, 0, 0, 0},
      {Access::kRead, 401, 401, 0, 0},
      {Access::kWrite, 401, 401, 403, 0},
      {Access::kMetrics, 0, 0, 0, 0},  // public unless REFINERY_METRICS_AUTH
  };
  for (const Case& c : cases) {
    const std::string method = c.access == Access::kWrite ? "DELETE" : "GET";
    EXPECT_EQ(StatusOf(policy.Check(Make(method, "/x"), c.access, now)), c.no_key);
    EXPECT_EQ(StatusOf(policy.Check(Make(method, "/x", {{"x-api-key", "full-key-3"}}), c.access, now)), c.wrong_key);
    EXPECT_EQ(StatusOf(policy.Check(Make(method, "/x", {{"x-api-key", "read-key"}}), c.access, now)), c.read_key);
    EXPECT_EQ(StatusOf(policy.Check(Make(method, "/x", {{"authorization", "Bearer full-key-2"}}), c.access, now)),
              c.full_key);
  }
  EXPECT_EQ(policy.Check(Make("GET", "/x"), Access::kRead, now)->code, "unauthorized");
  EXPECT_EQ(policy.Check(Make("POST", "/x", {{"x-api-key", "read-key"}}), Access::kWrite, now)->code, "forbidden");
}

TEST(Access, MetricsNeedAKeyOnlyWhenAsked) {
  Config config = KeysConfig();
  config.metrics_auth = true;
  AccessPolicy policy(config, "127.0.0.1", 8000);
  EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/metrics"), Access::kMetrics, Clock::now())), 401);
  EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/metrics", {{"x-api-key", "read-key"}}), Access::kMetrics,
                                  Clock::now())),
            0);
}

TEST(Access, WithoutKeysEverythingIsOpen) {
  AccessPolicy policy(Config{}, "127.0.0.1", 8000);
  EXPECT_FALSE(policy.keys_on());
  EXPECT_EQ(StatusOf(policy.Check(Make("DELETE", "/documents/1"), Access::kWrite, Clock::now())), 0);
}

TEST(Access, PresentedKeyPrefersXApiKeyAndTrims) {
  EXPECT_EQ(PresentedKey(Make("GET", "/", {{"x-api-key", " k1 "}, {"authorization", "Bearer k2"}})), "k1");
  EXPECT_EQ(PresentedKey(Make("GET", "/", {{"authorization", "bearer   k2"}})), "k2");
  EXPECT_EQ(PresentedKey(Make("GET", "/", {{"authorization", "Basic abc"}})), "");
}

TEST(Access, LoopbackBoundServerAcceptsOnlyLoopbackOrAllowedHosts) {
  Config config;
  config.allowed_hosts = {"refinery.internal"};
  AccessPolicy policy(config, "127.0.0.1", 8000);
  ASSERT_TRUE(policy.checks_host());
  const auto now = Clock::now();
  for (const char* host : {"127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "127.1.2.3",
                           "refinery.internal:8000", "Refinery.Internal"}) {
    EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/stats", {{"host", host}}), Access::kRead, now)), 0) << host;
  }
  for (const char* host : {"attacker.example", "attacker.example:8000", "127.0.0.1:9999", "127.0.0.1.evil.com",
                           "localhost.evil.com:8000"}) {
    auto refusal = policy.Check(Make("GET", "/stats", {{"host", host}}), Access::kRead, now);
    EXPECT_EQ(StatusOf(refusal), 421) << host;
  }
  // Public routes too: a rebinding page must not even read /health.
  EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/health", {{"host", "attacker.example"}}), Access::kPublic, now)), 421);
}

TEST(Access, ServerBoundElsewhereDoesNotCheckHost) {
  AccessPolicy policy(Config{}, "0.0.0.0", 8000);
  EXPECT_FALSE(policy.checks_host());
  EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/stats", {{"host", "refinery.example.com"}}), Access::kRead,
                                  Clock::now())),
            0);
}

TEST(Access, BodiesMustBeJson) {
  AccessPolicy policy(Config{}, "127.0.0.1", 8000);
  const auto now = Clock::now();
  auto post = [&](const char* type) {
    Request request = Make("POST", "/ingest", {{"content-type", type}});
    request.body = R"({"title": "t", "content": "c"})";
    return StatusOf(policy.Check(request, Access::kWrite, now));
  };
  EXPECT_EQ(post("application/json"), 0);
  EXPECT_EQ(post("Application/JSON; charset=utf-8"), 0);
  EXPECT_EQ(post("text/plain"), 415);  // what a cross-site form or fetch without preflight may send
  EXPECT_EQ(post("application/x-www-form-urlencoded"), 415);
  EXPECT_EQ(post(""), 415);
  // Body-less writes need no Content-Type.
  EXPECT_EQ(StatusOf(policy.Check(Make("POST", "/documents/1/retry"), Access::kWrite, now)), 0);
  EXPECT_EQ(StatusOf(policy.Check(Make("DELETE", "/documents/1"), Access::kWrite, now)), 0);
}

TEST(Access, CorsOnlyForConfiguredOrigins) {
  Config config;
  config.cors_origins = {"https://app.example"};
  AccessPolicy policy(config, "127.0.0.1", 8000);
  Response response;
  policy.AddCorsHeaders(Make("GET", "/stats", {{"origin", "https://app.example"}}), response);
  ASSERT_EQ(response.headers.size(), 2u);
  EXPECT_EQ(response.headers[0].second, "https://app.example");
  Response other;
  policy.AddCorsHeaders(Make("GET", "/stats", {{"origin", "https://evil.example"}}), other);
  EXPECT_TRUE(other.headers.empty());
  Response preflight;
  EXPECT_TRUE(policy.Preflight(Make("OPTIONS", "/ingest", {{"origin", "https://app.example"}}), "POST", preflight));
  EXPECT_EQ(preflight.status, 204);
  EXPECT_FALSE(policy.Preflight(Make("OPTIONS", "/ingest", {{"origin", "https://evil.example"}}), "POST", preflight));

  AccessPolicy none(Config{}, "127.0.0.1", 8000);
  Response unset;
  none.AddCorsHeaders(Make("GET", "/stats", {{"origin", "https://app.example"}}), unset);
  EXPECT_TRUE(unset.headers.empty());
}

TEST(RateLimiter, BurstThenRateWithRetryAfter) {
  RateLimiter limiter(/*rate=*/2, /*burst=*/4);
  const auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.Take("a", t0, nullptr)) << i;
  int retry_after = 0;
  EXPECT_FALSE(limiter.Take("a", t0, &retry_after));
  EXPECT_EQ(retry_after, 1);
  EXPECT_TRUE(limiter.Take("b", t0, nullptr)) << "buckets are per client";
  EXPECT_TRUE(limiter.Take("a", t0 + milliseconds(500), nullptr)) << "one token back after 1/rate";
  EXPECT_FALSE(limiter.Take("a", t0 + milliseconds(600), nullptr));
}

TEST(RateLimiter, FullBucketsOfSilentClientsAreForgotten) {
  RateLimiter limiter(10, 10);
  const auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) limiter.Take("client-" + std::to_string(i), t0, nullptr);
  EXPECT_EQ(limiter.clients(), 1000u);
  limiter.Take("late", t0 + std::chrono::seconds(5), nullptr);
  EXPECT_EQ(limiter.clients(), 1u);
}

TEST(Access, RateLimitIsPerKeyOrPerAddressAndSparesProbes) {
  Config config;
  config.rate_limit = 1;
  config.rate_burst = 1;
  AccessPolicy policy(config, "127.0.0.1", 8000);
  const auto now = Clock::now();
  EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/stats"), Access::kRead, now)), 0);
  auto limited = policy.Check(Make("GET", "/stats"), Access::kRead, now);
  ASSERT_EQ(StatusOf(limited), 429);
  EXPECT_GE(limited->retry_after_s, 1);
  EXPECT_EQ(StatusOf(policy.Check(Make("GET", "/health"), Access::kPublic, now)), 0) << "probes are never limited";
  Request other = Make("GET", "/stats");
  other.remote_address = "127.0.0.2";
  EXPECT_EQ(StatusOf(policy.Check(other, Access::kRead, now)), 0) << "another address has its own bucket";
}

TEST(Access, LoopbackNames) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.255.0.9"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.nip.io"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

}  // namespace
}  // namespace refinery::api

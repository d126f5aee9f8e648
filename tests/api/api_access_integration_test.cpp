// Access control through a real server on real embedded backends: API keys
// for every route class (public, read, write) with no key, a wrong key, a
// read key and a full key; CSRF (a body that is not JSON), DNS rebinding
// (a foreign Host), the rate limit, CORS, and that a refused request
// writes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api_test_util.h"
#include "support/raw_http.h"

namespace refinery {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::ApiReply;

int CountFiles(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) files += entry.is_regular_file() ? 1 : 0;
  return files;
}

using testing::Served;

void WithKeys(Config& config) {
  config.api_keys = {"full-secret-key"};
  config.read_api_keys = {"read-secret-key"};
}

std::map<std::string, std::string> Key(const std::string& key) { return {{"X-API-Key", key}}; }

TEST(ApiAccess, EveryRouteClassWithNoKeyWrongKeyReadKeyAndFullKey) {
  Served s(WithKeys);
  auto& api = s.server();
  const std::string ingest = R"({"title": "t", "content": "a text to keep"})";
  // Set up one document with the full key.
  ApiReply created = api.CallWith("POST", "/ingest", ingest, Key("full-secret-key"));
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string doc = "/documents/" + std::to_string(created.body.value("id", 0));

  struct Route {
    std::string method, path, body;
    int no_key, wrong_key, read_key;  // a full key gets the route's own answer (< 400)
  };
  const std::vector<Route> routes = {
      {"GET", "/health", "", 200, 200, 200},
      {"GET", "/health/live", "", 200, 200, 200},
      {"GET", "/health/ready", "", 200, 200, 200},
      {"GET", "/metrics", "", 200, 200, 200},
      {"GET", "/", "", 200, 200, 200},
      {"GET", "/stats", "", 401, 401, 200},
      {"GET", "/documents", "", 401, 401, 200},
      {"GET", doc, "", 401, 401, 200},
      {"GET", doc + "/chunks", "", 401, 401, 200},
      {"POST", "/search", R"({"query": "text"})", 401, 401, 200},
      {"POST", "/ingest", R"({"title": "u", "content": "another text"})", 401, 401, 403},
      {"POST", doc + "/retry", "", 401, 401, 403},
      {"DELETE", doc, "", 401, 401, 403},
  };
  for (const Route& r : routes) {
    const std::string what = r.method + " " + r.path;
    EXPECT_EQ(api.CallWith(r.method, r.path, r.body, {}).status, r.no_key) << what;
    ApiReply wrong = api.CallWith(r.method, r.path, r.body, Key("full-secret-kez"));
    EXPECT_EQ(wrong.status, r.wrong_key) << what;
    if (wrong.status == 401) {
      EXPECT_EQ(wrong.body["error"].value("code", ""), "unauthorized") << what;
    }
    ApiReply read = api.CallWith(r.method, r.path, r.body, {{"Authorization", "Bearer read-secret-key"}});
    EXPECT_EQ(read.status, r.read_key) << what;
    if (read.status == 403) {
      EXPECT_EQ(read.body["error"].value("code", ""), "forbidden") << what;
    }
  }
  // The full key, last (DELETE removes the document): every route answers as without keys.
  for (const Route& r : routes) {
    ApiReply full = api.CallWith(r.method, r.path, r.body, Key("full-secret-key"));
    EXPECT_LT(full.status, 500) << r.method << " " << r.path << ": " << full.raw;
    EXPECT_NE(full.status, 401);
    EXPECT_NE(full.status, 403);
  }
  // Refused writes wrote nothing: one document ingested by the test, then
  // "another text" by the full key, the first deleted.
  EXPECT_EQ(api.CallWith("GET", "/stats", "", Key("read-secret-key")).body["total_documents"], 1);
}

TEST(ApiAccess, MetricsNeedAKeyWhenAsked) {
  Served s([](Config& c) {
    WithKeys(c);
    c.metrics_auth = true;
  });
  EXPECT_EQ(s.server().CallWith("GET", "/metrics", "", {}).status, 401);
  EXPECT_EQ(s.server().CallWith("GET", "/metrics", "", Key("read-secret-key")).status, 200);
  EXPECT_EQ(s.server().CallWith("GET", "/health", "", {}).status, 200);
}

// A web page's fetch or form can send text/plain without a preflight: such
// a body is refused before anything is written.
TEST(ApiAccess, ABodyThatIsNotJsonIs415AndWritesNothing) {
  Served s([](Config&) {});
  const std::string body = R"({"title": "csrf", "content": "posted from a web page"})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
    ApiReply reply = s.server().CallWith("POST", "/ingest", body, {{"Content-Type", type}, {"Origin", "https://evil"}});
    EXPECT_EQ(reply.status, 415) << type;
    EXPECT_EQ(reply.body["error"].value("code", ""), "unsupported_media_type") << reply.raw;
    EXPECT_EQ(reply.headers.count("access-control-allow-origin"), 0u) << "no CORS without CORS_ORIGINS";
  }
  EXPECT_EQ(s.server().Call("GET", "/stats").body["total_documents"], 0);
  EXPECT_EQ(CountFiles(s.services().config.BlobDir()), 0);
}

TEST(ApiAccess, AForeignHostIs421OnALoopbackServer) {
  Served s([](Config&) {});
  testing::RawConnection conn(s.server().port());
  ASSERT_TRUE(conn.Send("GET /stats HTTP/1.1\r\nHost: attacker.example\r\n\r\n"));
  auto answer = conn.ReadResponse(milliseconds(10000));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 421);
  ASSERT_TRUE(conn.Send("POST /ingest HTTP/1.1\r\nHost: attacker.example:" + std::to_string(s.server().port()) +
                        "\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n"
                        R"({"title": "t", "content": "c"})"));
  answer = conn.ReadResponse(milliseconds(10000));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 421);
  EXPECT_EQ(s.server().Call("GET", "/stats").body["total_documents"], 0);
}

TEST(ApiAccess, RateLimitAnswers429WithRetryAfterAndSparesTheProbes) {
  Served s([](Config& c) {
    c.rate_limit = 0.5;  // one request every 2 s
    c.rate_burst = 3;
  });
  int limited = 0;
  ApiReply last;
  for (int i = 0; i < 6; ++i) {
    last = s.server().Call("GET", "/stats");
    if (last.status == 429) {
      ++limited;
      EXPECT_EQ(last.body["error"].value("code", ""), "rate_limited");
      EXPECT_GE(std::stoi(last.headers["retry-after"]), 1);
    }
  }
  EXPECT_GE(limited, 2) << "a burst of 3 at 0.5/s cannot serve 6";
  EXPECT_EQ(s.server().Call("GET", "/health").status, 200);
  EXPECT_EQ(s.server().Call("GET", "/health/live").status, 200);
}

TEST(ApiAccess, CorsHeadersAndPreflightOnlyForConfiguredOrigins) {
  Served s([](Config& c) { c.cors_origins = {"https://app.example"}; });
  ApiReply allowed = s.server().CallWith("GET", "/stats", "", {{"Origin", "https://app.example"}});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.headers["access-control-allow-origin"], "https://app.example");
  ApiReply other = s.server().CallWith("GET", "/stats", "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
  ApiReply preflight = s.server().CallWith("OPTIONS", "/ingest", "", {{"Origin", "https://app.example"},
                                                                    {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_NE(preflight.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  EXPECT_NE(preflight.headers["access-control-allow-headers"].find("X-API-Key"), std::string::npos);
}

// httplib answered a 20-range request with 20 copies of the document (223
// MB for a big one) and status 200; ranges are now ignored: one copy.
TEST(ApiAccess, MultiRangeRequestGetsOneWholeAnswer) {
  Served s([](Config&) {});
  ApiReply created = s.server().Post("/ingest", {{"title", "t"}, {"content", std::string(5000, 'x') + " end"}});
  ASSERT_EQ(created.status, 201);
  const std::string path = "/documents/" + std::to_string(created.body.value("id", 0));
  const ApiReply plain = s.server().Call("GET", path);
  std::string ranges = "bytes=0-10";
  for (int i = 1; i < 20; ++i) ranges += ",0-" + std::to_string(100 + i);
  ApiReply ranged = s.server().CallWith("GET", path, "", {{"Range", ranges}});
  EXPECT_EQ(ranged.status, 200);
  EXPECT_EQ(ranged.raw.size(), plain.raw.size());
  EXPECT_TRUE(ranged.body.is_object());
}

}  // namespace
}  // namespace refinery

// The router without a server: matching and captures, 404 vs 405 with
// Allow, exceptions as 500 JSON, where each route runs, the server's own
// refusals, and the per-route counters.
#include "api/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace refinery::api {
namespace {

Request Make(const std::string& method, const std::string& target) {
  Request request;
  request.method = method;
  request.target = target;
  ParseTarget(request);
  return request;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_(metrics_) {
    router_.Json("GET", "/items/:id", [](const Request& req) -> Result<Reply> {
      return Reply{200, {{"id", req.captures.at(0)}}};
    });
    router_.Json("DELETE", "/items/:id", [](const Request&) -> Result<Reply> { return Status::NotFound("no item"); });
    router_.Json("GET", "/items/:id/parts/:part", [](const Request& req) -> Result<Reply> {
      return Reply{200, {{"id", req.captures.at(0)}, {"part", req.captures.at(1)}}};
    });
    router_.Json("POST", "/boom", [](const Request&) -> Result<Reply> { throw std::runtime_error("kaput"); });
    router_.Json(
        "GET", "/probe", [](const Request&) -> Result<Reply> { return Reply{200, {{"ok", true}}}; },
        RunsOn::kEventLoop);
  }

  Response Handle(const std::string& method, const std::string& target) {
    Request request = Make(method, target);
    Response response;
    router_.Handle(request, response);
    return response;
  }

  json Body(const Response& res) { return json::parse(res.body); }

  double Count(const std::string& route, const std::string& status) {
    const std::string text = metrics_.Render();
    const std::string needle = "refinery_http_requests_total{method=\"";
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
      const std::string line = text.substr(pos, text.find('\n', pos) - pos);
      if (line.find("route=\"" + route + "\"") != std::string::npos &&
          line.find("status=\"" + status + "\"") != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return 0;
  }

  MetricsRegistry metrics_;
  Router router_;
};

TEST_F(RouterTest, MatchesPatternsAndCapturesSegments) {
  Response one = Handle("GET", "/items/42");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.content_type, "application/json");
  EXPECT_EQ(Body(one), json({{"id", "42"}}));
  EXPECT_EQ(Body(Handle("GET", "/items/7/parts/x?ignored=1")), json({{"id", "7"}, {"part", "x"}}));
  EXPECT_EQ(Handle("GET", "/items/").status, 404);  // an empty segment matches no ":id"
  EXPECT_EQ(Handle("HEAD", "/items/1").status, 200);  // HEAD is answered by the GET route
}

TEST_F(RouterTest, UnknownPathIs404AndOtherMethodIs405WithAllow) {
  Response missing = Handle("GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Body(missing)["error"]["code"], "not_found");
  Response wrong = Handle("PUT", "/items/1");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(Body(wrong)["error"]["code"], "method_not_allowed");
  ASSERT_EQ(wrong.headers.size(), 1u);
  EXPECT_EQ(wrong.headers[0].first, "Allow");
  EXPECT_EQ(wrong.headers[0].second, "GET, DELETE");
  EXPECT_EQ(Handle("DELETE", "/items/1").status, 404);  // a handler's NotFound
  EXPECT_EQ(Count("unmatched", "404"), 1);
  EXPECT_EQ(Count("unmatched", "405"), 1);
  EXPECT_EQ(Count("/items/:id", "404"), 1);
}

TEST_F(RouterTest, ExceptionIs500JsonAndCounted) {
  Response res = Handle("POST", "/boom");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(Body(res), json({{"error", {{"code", "internal"}, {"message", "internal error"}}}}));
  EXPECT_EQ(Count("/boom", "500"), 1);
}

TEST_F(RouterTest, OnlyMarkedRoutesAndUnmatchedRequestsRunOnTheEventLoop) {
  EXPECT_TRUE(router_.OnEventLoop(Make("GET", "/probe")));
  EXPECT_TRUE(router_.OnEventLoop(Make("GET", "/nope")));
  EXPECT_TRUE(router_.OnEventLoop(Make("PUT", "/items/1")));  // 405 touches nothing
  EXPECT_FALSE(router_.OnEventLoop(Make("GET", "/items/1")));
  EXPECT_FALSE(router_.OnEventLoop(Make("POST", "/boom")));
}

TEST_F(RouterTest, RefusalsAreJsonWithRetryAfterAndCountedByRoute) {
  Response shed;
  router_.Refuse(Make("GET", "/items/3"), {503, "overloaded", "busy", 1}, shed);
  EXPECT_EQ(shed.status, 503);
  EXPECT_EQ(Body(shed)["error"]["code"], "overloaded");
  ASSERT_EQ(shed.headers.size(), 1u);
  EXPECT_EQ(shed.headers[0], (std::pair<std::string, std::string>("Retry-After", "1")));
  EXPECT_EQ(Count("/items/:id", "503"), 1);

  Response malformed;
  router_.Refuse(Request{}, {400, "bad_request", "malformed HTTP request", 0}, malformed);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(malformed.headers.empty());
  EXPECT_EQ(Body(malformed)["error"]["message"], "malformed HTTP request");
  EXPECT_EQ(Count("unmatched", "400"), 1);
}

TEST(RouterRegistration, UnsupportedMethodIsRejected) {
  MetricsRegistry metrics;
  Router router(metrics);
  EXPECT_THROW(router.Raw("PATCH", "/x", [](const Request&, Response&) {}), std::invalid_argument);
}

}  // namespace
}  // namespace refinery::api

// The pure HTTP rules the server applies: request targets and query
// strings, and RFC 9112 framing checks, without sockets.
#include "api/http_types.h"

#include <gtest/gtest.h>

namespace refinery::api {
namespace {

Request Target(const std::string& target) {
  Request request;
  request.target = target;
  ParseTarget(request);
  return request;
}

TEST(HttpTypes, PercentDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("100%", true), "100%");
  EXPECT_EQ(PercentDecode("%zz%4", true), "%zz%4");
  EXPECT_EQ(PercentDecode("%e2%82%ac", true), "\xe2\x82\xac");
}

TEST(HttpTypes, TargetSplitsPathAndDecodedParameters) {
  Request r = Target("/documents?stage=complete&limit=5&flag&empty=&q=a+b%26c");
  EXPECT_EQ(r.path, "/documents");
  EXPECT_EQ(r.param("stage"), "complete");
  EXPECT_EQ(r.param("limit"), "5");
  EXPECT_TRUE(r.has_param("flag"));
  EXPECT_EQ(r.param("flag"), "");
  EXPECT_TRUE(r.has_param("empty"));
  EXPECT_EQ(r.param("q"), "a b&c");
  EXPECT_FALSE(r.has_param("missing"));
  EXPECT_EQ(r.param("missing"), "");

  EXPECT_EQ(Target("/documents/%31").path, "/documents/1");
  EXPECT_EQ(Target("/a?x=1&x=2").param("x"), "1");  // the first value, as before
  EXPECT_EQ(Target("http://example.org/stats?x=1").path, "/stats");
  EXPECT_EQ(Target("http://example.org/stats?x=1").param("x"), "1");
  EXPECT_EQ(Target("http://example.org").path, "/");
  EXPECT_EQ(Target("?a=1").path, "/");
  EXPECT_EQ(Target("*").path, "*");
}

TEST(HttpTypes, HeaderAndSetHeader) {
  Request r;
  r.headers = {{"host", "h"}, {"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.header("x-a"), "1");
  EXPECT_EQ(r.header("nope"), "");
  Response res;
  res.set_header("Allow", "GET");
  res.set_header("allow", "GET, POST");
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0].second, "GET, POST");
}

HeaderFields With(HeaderFields extra) {
  HeaderFields fields = {{"host", "127.0.0.1"}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

TEST(HttpTypes, UnambiguousFramingPasses) {
  EXPECT_EQ(FramingProblem(With({}), true), std::nullopt);
  EXPECT_EQ(FramingProblem(With({{"content-length", "12"}}), true), std::nullopt);
  EXPECT_EQ(FramingProblem(With({{"content-length", " 12 "}}), true), std::nullopt);
  EXPECT_EQ(FramingProblem(With({{"content-length", "12"}, {"content-length", "12"}}), true), std::nullopt);
  EXPECT_EQ(FramingProblem(With({{"transfer-encoding", "chunked"}}), true), std::nullopt);
  EXPECT_EQ(FramingProblem(With({{"transfer-encoding", "Chunked"}}), true), std::nullopt);
  EXPECT_EQ(FramingProblem({}, /*http11=*/false), std::nullopt);  // HTTP/1.0 needs no Host
}

TEST(HttpTypes, AmbiguousOrInvalidFramingIsNamed) {
  const std::vector<HeaderFields> bad = {
      With({{"content-length", "5"}, {"content-length", "6"}}),
      With({{"content-length", "-1"}}),
      With({{"content-length", "+5"}}),
      With({{"content-length", ""}}),
      With({{"content-length", "5, 5"}}),
      With({{"content-length", "0x10"}}),
      With({{"content-length", "5"}, {"transfer-encoding", "chunked"}}),
      With({{"transfer-encoding", "chunked"}, {"content-length", "5"}}),
      With({{"transfer-encoding", "bogus"}}),
      With({{"transfer-encoding", "gzip, chunked"}}),
      With({{"transfer-encoding", "chunked"}, {"transfer-encoding", "chunked"}}),
  };
  for (const HeaderFields& fields : bad) {
    auto problem = FramingProblem(fields, true);
    ASSERT_TRUE(problem.has_value()) << fields.back().first << ": " << fields.back().second;
    EXPECT_FALSE(problem->empty());
  }
  EXPECT_NE(FramingProblem(With({{"content-length", "5"}, {"content-length", "6"}}), true)->find("Content-Length"),
            std::string::npos);
  EXPECT_NE(FramingProblem(With({{"transfer-encoding", "bogus"}}), true)->find("bogus"), std::string::npos);
  EXPECT_NE(FramingProblem({}, true)->find("Host"), std::string::npos);
  EXPECT_NE(FramingProblem({{"host", "a"}, {"host", "b"}}, true)->find("Host"), std::string::npos);
}

}  // namespace
}  // namespace refinery::api

// URL parsing, normalisation and RFC 3986 resolution (crawl/url.h): pure, no network.
#include "crawl/url.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace refinery::crawl {
namespace {

// The normalised form of `text`, or "ERROR: <message>".
std::string Norm(std::string_view text) {
  Result<Url> url = ParseUrl(text);
  return url.ok() ? ToString(*url) : "ERROR: " + url.status().message();
}

std::string Resolve(std::string_view base, std::string_view reference) {
  Result<Url> parsed = ParseUrl(base);
  EXPECT_TRUE(parsed.ok()) << base;
  if (!parsed.ok()) return "BAD BASE";
  Result<Url> url = ResolveUrl(*parsed, reference);
  return url.ok() ? ToString(*url) : "ERROR: " + url.status().message();
}

// Asserts ParseUrl fails with InvalidArgument and a message containing `needle`.
void ExpectError(std::string_view text, std::string_view needle) {
  Result<Url> url = ParseUrl(text);
  ASSERT_FALSE(url.ok()) << text << " parsed as " << ToString(*url);
  EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_NE(url.status().message().find(needle), std::string::npos) << text << ": " << url.status().message();
}

TEST(ParseUrlTest, SplitsIntoNormalisedFields) {
  Result<Url> url = ParseUrl("HTTPS://Example.ORG:8443/A/b?x=1#top");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "example.org");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path, "/A/b");  // path case is significant
  EXPECT_EQ(url->query, "x=1");
  EXPECT_EQ(ToString(*url), "https://example.org:8443/A/b?x=1");
}

TEST(ParseUrlTest, DefaultPortsAndEmptyPath) {
  EXPECT_EQ(Norm("http://example.org:80/"), "http://example.org/");
  EXPECT_EQ(Norm("https://example.org:443"), "https://example.org/");
  EXPECT_EQ(Norm("http://example.org:443/"), "http://example.org:443/");
  EXPECT_EQ(Norm("https://example.org:80/"), "https://example.org:80/");
  EXPECT_EQ(Norm("http://example.org:/"), "http://example.org/");
  EXPECT_EQ(Norm("http://example.org:0080/"), "http://example.org/");
  EXPECT_EQ(ParseUrl("http://example.org:80")->port, 0);
  EXPECT_EQ(ParseUrl("http://example.org")->path, "/");
  EXPECT_EQ(Norm("http://example.org?q"), "http://example.org/?q");
}

TEST(ParseUrlTest, RemovesDotSegments) {
  EXPECT_EQ(Norm("http://a/b/../c/./d"), "http://a/c/d");
  EXPECT_EQ(Norm("http://a/b/c/.."), "http://a/b/");
  EXPECT_EQ(Norm("http://a/b/c/."), "http://a/b/c/");
  EXPECT_EQ(Norm("http://a/../../x"), "http://a/x");
  EXPECT_EQ(Norm("http://a/b/%2e%2E/c"), "http://a/c");  // encoded dots are dots
  EXPECT_EQ(Norm("http://a/b//c"), "http://a/b//c");     // empty segments are kept
  EXPECT_EQ(Norm("http://a/b/..%2Fc"), "http://a/b/..%2Fc");
  EXPECT_EQ(Norm("http://a/.well-known/x"), "http://a/.well-known/x");
}

TEST(ParseUrlTest, DropsFragmentAndLoneQuestionMark) {
  EXPECT_EQ(Norm("http://a/x#frag"), "http://a/x");
  EXPECT_EQ(Norm("http://a/x?q=1#frag?y"), "http://a/x?q=1");
  EXPECT_EQ(Norm("http://a/x?"), "http://a/x");
  EXPECT_EQ(ParseUrl("http://a/x?")->query, "");
  EXPECT_EQ(Norm("http://a/x?#f"), "http://a/x");
  EXPECT_EQ(Norm("http://a/x?a?b/c"), "http://a/x?a?b/c");
}

TEST(ParseUrlTest, NormalisesPercentEncoding) {
  EXPECT_EQ(Norm("http://a/%7euser/%41b"), "http://a/~user/Ab");  // unreserved decoded
  EXPECT_EQ(Norm("http://a/x%2fy%3f%c3%a9"), "http://a/x%2Fy%3F%C3%A9");
  EXPECT_EQ(Norm("http://a/a b"), "http://a/a%20b");
  EXPECT_EQ(Norm("http://a/caf\xC3\xA9"), "http://a/caf%C3%A9");
  EXPECT_EQ(Norm("http://a/100%"), "http://a/100%25");
  EXPECT_EQ(Norm("http://a/%zz%4"), "http://a/%25zz%254");
  EXPECT_EQ(Norm("http://a/<\"{|}>^`[]\\"), "http://a/%3C%22%7B%7C%7D%3E%5E%60%5B%5D%5C");
  EXPECT_EQ(Norm("http://a/!$&'()*+,;=:@-._~"), "http://a/!$&'()*+,;=:@-._~");
  EXPECT_EQ(Norm("http://a/?q=a b&x=%7e&y=%2b+"), "http://a/?q=a%20b&x=~&y=%2B+");
  EXPECT_EQ(Norm("http://a/%00"), "http://a/%00");
}

TEST(ParseUrlTest, TrimsAndRemovesWhitespaceLikeBrowsers) {
  EXPECT_EQ(Norm("  http://a/b \n"), "http://a/b");
  EXPECT_EQ(Norm("\t\r\nht\ttp://exa\nmple.org/a\r\nb\x01"), "http://example.org/ab");
  EXPECT_EQ(Norm("http://a/x y"), "http://a/x%20y");  // an inner space is data, encoded
}

TEST(ParseUrlTest, Hosts) {
  EXPECT_EQ(Norm("http://Example.org./x"), "http://example.org/x");
  EXPECT_EQ(Norm("http://%65xample.org/"), "http://example.org/");
  EXPECT_EQ(Norm("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
  EXPECT_EQ(Norm("http://my_host-1.example/"), "http://my_host-1.example/");
  EXPECT_EQ(Norm("http://xn--bcher-kva.de/"), "http://xn--bcher-kva.de/");
  ExpectError("http://example.org../", "label");
  ExpectError("http://.example.org/", "label");
  ExpectError("http://a..b/", "label");
  ExpectError("http://" + std::string(64, 'a') + ".org/", "label");
  ExpectError("http://b\u00FCcher.de/", "non-ASCII");
  ExpectError("http://b%C3%BCcher.de/", "non-ASCII");
  ExpectError("http://a b/", "invalid character");
  ExpectError("http://a!b/", "invalid character");
  ExpectError("http://a%zzb/", "percent");
  ExpectError("http://a\\b/", "invalid character");
}

TEST(ParseUrlTest, Ipv6Literals) {
  Result<Url> url = ParseUrl("http://[::1]:8080/x");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(ToString(*url), "http://[::1]:8080/x");
  EXPECT_EQ(Origin(*url), "http://[::1]:8080");
  EXPECT_EQ(Norm("http://[2001:DB8:0:0:0:0:0:1]/"), "http://[2001:db8::1]/");
  EXPECT_EQ(Norm("http://[2001:0db8:0000:0001:0000:0000:0000:0001]/"), "http://[2001:db8:0:1::1]/");
  EXPECT_EQ(Norm("http://[1:0:0:2:0:0:0:3]/"), "http://[1:0:0:2::3]/");
  EXPECT_EQ(Norm("http://[1:2:3:4:5:6:7::]/"), "http://[1:2:3:4:5:6:7:0]/");
  EXPECT_EQ(Norm("http://[::]/"), "http://[::]/");
  EXPECT_EQ(Norm("http://[::ffff:192.0.2.1]:443/"), "http://[::ffff:c000:201]:443/");
  EXPECT_EQ(Norm("https://[::1]:443/"), "https://[::1]/");
  ExpectError("http://[::1/", "IPv6");
  ExpectError("http://[1:2:3]/", "IPv6");
  ExpectError("http://[1::2::3]/", "IPv6");
  ExpectError("http://[12345::]/", "IPv6");
  ExpectError("http://[::1]x/", "IPv6");
  ExpectError("http://[fe80::1%25eth0]/", "IPv6");
  ExpectError("http://[::1.2.3.256]/", "IPv6");
  ExpectError("http://[]/", "IPv6");
  ExpectError("http://::1/", "invalid character");
}

TEST(ParseUrlTest, RejectsUserinfo) {
  ExpectError("http://user:pass@example.org/", "userinfo");
  ExpectError("http://user@example.org/", "userinfo");
  ExpectError("http://@example.org/", "userinfo");
}

TEST(ParseUrlTest, RejectsOtherSchemes) {
  ExpectError("ftp://example.org/", "unsupported scheme 'ftp'");
  ExpectError("FTP://example.org/", "unsupported scheme 'ftp'");
  ExpectError("mailto:someone@example.org", "unsupported scheme 'mailto'");
  ExpectError("javascript:alert(1)", "unsupported scheme 'javascript'");
  ExpectError("file:///etc/passwd", "unsupported scheme 'file'");
  ExpectError("data:text/plain,hi", "unsupported scheme 'data'");
}

TEST(ParseUrlTest, RejectsGarbage) {
  ExpectError("x", "not an absolute http(s) URL: 'x'");
  ExpectError("", "not an absolute http(s) URL");
  ExpectError("   ", "not an absolute http(s) URL");
  ExpectError("/just/a/path", "not an absolute http(s) URL");
  ExpectError("//example.org/", "not an absolute http(s) URL");
  ExpectError("://a", "not an absolute http(s) URL");
  ExpectError("http:example.org", "not an absolute http(s) URL");
  ExpectError("http:", "not an absolute http(s) URL");
  ExpectError("http://", "missing host");
  ExpectError("http:///a", "missing host");
  ExpectError("http://:80/", "missing host");
  ExpectError("http://a:99999/", "invalid port");
  ExpectError("http://a:-1/", "invalid port");
  ExpectError("http://a:+1/", "invalid port");
  ExpectError("http://a:0/", "invalid port");
  ExpectError("http://a:8x/", "invalid port");
  ExpectError("http://a:1:2/", "invalid");
}

TEST(ParseUrlTest, LengthLimit) {
  std::string ok = "http://a/" + std::string(kMaxUrlLength - 9, 'x');
  EXPECT_TRUE(ParseUrl(ok).ok());
  ExpectError(ok + "x", "longer than 8192");
  ExpectError("http://a/" + std::string(3000, ' ') + "x", "longer than 8192");  // grows when encoded
  // The message quotes a bounded prefix of the input.
  ExpectError("x" + std::string(100000, 'y'), "...");
  EXPECT_LT(ParseUrl("x" + std::string(100000, 'y')).status().message().size(), 400u);
}

TEST(ParseUrlTest, ErrorMessagesEscapeControlBytes) {
  Result<Url> url = ParseUrl("gopher://a/\x01\xFF");
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.status().message().find("\\x01\\xFF"), std::string::npos) << url.status().message();
}

// RFC 3986 5.4.1, with our normalisation on top ("//g" gains a "/" path) and
// "g:h" rejected as an unsupported scheme.
TEST(ResolveUrlTest, Rfc3986NormalExamples) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},
      {"g#s", "http://a/b/c/g"},
      {"g?y#s", "http://a/b/c/g?y"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  };
  for (const auto& [reference, expected] : cases) {
    EXPECT_EQ(Resolve("http://a/b/c/d;p?q", reference), expected) << reference;
  }
  EXPECT_EQ(Resolve("http://a/b/c/d;p?q", "g:h"), "ERROR: unsupported scheme 'g' in URL 'g:h'");
}

// RFC 3986 5.4.2; "http:g" takes the backward-compatible (non-strict) reading.
TEST(ResolveUrlTest, Rfc3986AbnormalExamples) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g"},
      {"g#s/../x", "http://a/b/c/g"},
      {"http:g", "http://a/b/c/g"},
  };
  for (const auto& [reference, expected] : cases) {
    EXPECT_EQ(Resolve("http://a/b/c/d;p?q", reference), expected) << reference;
  }
}

TEST(ResolveUrlTest, CrawlerCases) {
  EXPECT_EQ(Resolve("https://example.org/docs/a.html", "//cdn.example.net/x.js"), "https://cdn.example.net/x.js");
  EXPECT_EQ(Resolve("https://example.org/docs/a.html", "HTTP://Other.org"), "http://other.org/");
  EXPECT_EQ(Resolve("http://a:8080/x/y", "z"), "http://a:8080/x/z");
  EXPECT_EQ(Resolve("http://[::1]:8080/x/y", "../z?q#f"), "http://[::1]:8080/z?q");
  EXPECT_EQ(Resolve("http://a/x/y?old", "?"), "http://a/x/y");
  EXPECT_EQ(Resolve("http://a/x/", "  ./A%7e b\n"), "http://a/x/A~%20b");
  EXPECT_EQ(Resolve("http://a/x/", "%2e%2e/y"), "http://a/y");
  EXPECT_EQ(Resolve("http://a/x", "HTTP:g"), "http://a/g");
  EXPECT_EQ(Resolve("https://a/", "http:g"), "ERROR: not an absolute http(s) URL: 'http:g'");
  EXPECT_EQ(Resolve("https://a/", "mailto:x@y.org"), "ERROR: unsupported scheme 'mailto' in URL 'mailto:x@y.org'");
  EXPECT_NE(Resolve("https://a/", "javascript:void(0)").find("unsupported scheme 'javascript'"), std::string::npos);
  EXPECT_NE(Resolve("https://a/", "data:text/html,<p>").find("unsupported scheme 'data'"), std::string::npos);
  EXPECT_NE(Resolve("https://a/", "ftp://a/f").find("unsupported scheme 'ftp'"), std::string::npos);
  EXPECT_NE(Resolve("https://a/", "//user@b/").find("userinfo"), std::string::npos);
  EXPECT_NE(Resolve("https://a/", "//").find("missing host"), std::string::npos);
  EXPECT_NE(Resolve("https://a/", std::string(9000, 'x')).find("longer than 8192"), std::string::npos);
}

TEST(UrlTest, OriginAndPathAndQuery) {
  Url url = *ParseUrl("https://example.org/a/b?x=1");
  EXPECT_EQ(ToString(url), "https://example.org/a/b?x=1");
  EXPECT_EQ(Origin(url), "https://example.org");
  EXPECT_EQ(PathAndQuery(url), "/a/b?x=1");
  EXPECT_EQ(Origin(*ParseUrl("http://127.0.0.1:8080/z")), "http://127.0.0.1:8080");
  EXPECT_EQ(PathAndQuery(*ParseUrl("http://a")), "/");
  EXPECT_EQ(PathAndQuery(Url{}), "/");
}

TEST(UrlTest, SameSite) {
  auto same = [](std::string_view a, std::string_view b) { return SameSite(*ParseUrl(a), *ParseUrl(b)); };
  EXPECT_TRUE(same("https://example.org/a", "https://example.org/b"));
  EXPECT_TRUE(same("https://example.org/", "https://www.example.org/x"));
  EXPECT_TRUE(same("http://www.example.org/", "https://example.org/"));
  EXPECT_TRUE(same("http://EXAMPLE.org./", "https://example.org:443/"));
  EXPECT_FALSE(same("https://example.org/", "https://docs.example.org/"));
  EXPECT_FALSE(same("https://example.org/", "https://wwwexample.org/"));
  EXPECT_FALSE(same("https://example.org/", "https://example.org:8443/"));
  EXPECT_FALSE(same("http://example.org:8080/", "http://example.org:8081/"));
  EXPECT_TRUE(same("http://example.org:8080/", "http://www.example.org:8080/"));
}

TEST(UrlTest, HasPathPrefix) {
  auto has = [](std::string_view url, std::string_view prefix) { return HasPathPrefix(*ParseUrl(url), prefix); };
  EXPECT_TRUE(has("http://a/docs", "/docs"));
  EXPECT_TRUE(has("http://a/docs/", "/docs"));
  EXPECT_TRUE(has("http://a/docs/a/b", "/docs"));
  EXPECT_TRUE(has("http://a/docs?x", "/docs"));
  EXPECT_FALSE(has("http://a/docsx", "/docs"));
  EXPECT_FALSE(has("http://a/doc", "/docs"));
  EXPECT_TRUE(has("http://a/docs/a", "/docs/"));
  EXPECT_FALSE(has("http://a/docs", "/docs/"));
  EXPECT_TRUE(has("http://a/", "/"));
  EXPECT_TRUE(has("http://a/anything/at/all", "/"));
  EXPECT_TRUE(has("http://a/x", ""));
}

// Random input never crashes, and every URL that parses is a fixed point:
// parsing its string form gives the same Url (and resolving "" keeps it).
TEST(UrlTest, RandomInputIsSafeAndNormalisationIsIdempotent) {
  std::mt19937 rng(20240611);
  const std::string alphabet =
      "aZ09:/?#[]@%.-_~!$&'()*+,;= \t\n\\\"<>^`{|}\x01\x7f\xc3\xa9"
      "2eEfF";
  const std::vector<std::string> prefixes = {"", "http://", "https://", "HTTP://a", "http://[", "//", "../"};
  Url base = *ParseUrl("http://base.example/dir/page?q");
  int parsed = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string text = prefixes[rng() % prefixes.size()];
    std::size_t length = rng() % 40;
    for (std::size_t k = 0; k < length; ++k) {
      text += (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    for (Result<Url> url : {ParseUrl(text), ResolveUrl(base, text)}) {
      if (!url.ok()) {
        EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument);
        continue;
      }
      ++parsed;
      Result<Url> again = ParseUrl(ToString(*url));
      ASSERT_TRUE(again.ok()) << ToString(*url) << ": " << again.status().ToString();
      EXPECT_EQ(*again, *url) << text;
      Result<Url> same = ResolveUrl(*url, "");
      ASSERT_TRUE(same.ok()) << ToString(*url) << ": " << same.status().ToString();
      EXPECT_EQ(*same, *url) << text;
      EXPECT_TRUE(url->path.starts_with('/'));
    }
  }
  EXPECT_GT(parsed, 500);  // the generator does reach the interesting paths
}

}  // namespace
}  // namespace refinery::crawl

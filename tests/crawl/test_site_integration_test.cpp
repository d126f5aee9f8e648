// TestSite against a real client: the curl CLI (through popen) fetches the
// crawl test site and checks its framing, encodings, misbehaviours, request
// log and shutdown.
#include "support/test_site.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace refinery::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct CurlRun {
  int exit_code = -1;
  std::string out;  // stdout, byte for byte
};

// Runs `curl <args>` (no proxy, no ~/.curlrc, quiet) and collects its output.
CurlRun Curl(const std::string& args) {
  const std::string command = "curl -q -s --noproxy '*' --max-time 30 " + args + " 2>/dev/null";
  CurlRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char chunk[64 * 1024];
  for (size_t got; (got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) run.out.append(chunk, got);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

struct Fetched {
  int exit_code = -1;
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// GET (or whatever `extra` asks for) one URL with `curl -i`, split into status, headers and body.
Fetched Fetch(const std::string& url, const std::string& extra = "") {
  CurlRun run = Curl("-i " + extra + " '" + url + "'");
  Fetched fetched;
  fetched.exit_code = run.exit_code;
  size_t head_end = run.out.find("\r\n\r\n");
  if (head_end == std::string::npos) return fetched;
  fetched.body = run.out.substr(head_end + 4);
  std::string head = run.out.substr(0, head_end);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (size_t space = status_line.find(' '); space != std::string::npos) {
    fetched.status = std::stoi(status_line.substr(space + 1, 3));
  }
  while (line_end != std::string::npos) {
    size_t next = head.find("\r\n", line_end + 2);
    std::string field = head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    line_end = next;
    size_t colon = field.find(':');
    if (colon == std::string::npos) continue;
    std::string name = field.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    fetched.headers[name] = field.substr(field.find_first_not_of(' ', colon + 1));
  }
  return fetched;
}

// The text of an HTML page: tags and comments dropped, whitespace runs collapsed.
std::string VisibleText(const std::string& html) {
  std::string text;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<') in_tag = true;
    if (!in_tag && !(std::isspace(static_cast<unsigned char>(c)) && (text.empty() || text.back() == ' '))) {
      text.push_back(std::isspace(static_cast<unsigned char>(c)) ? ' ' : c);
    }
    if (c == '>') in_tag = false;
  }
  return text;
}

class CrawlSiteTest : public ::testing::Test {
 protected:
  CrawlSiteTest() : other_("127.0.0.2") {
    AddCrawlTestPages(site_, other_.base_url());
    AddCrawlTestPages(other_, site_.base_url());
  }
  std::string Url(const std::string& target) const { return site_.base_url() + target; }

  TestSite site_;
  TestSite other_;
};

TEST(TestSiteEncodingTest, Crc32MatchesTheCheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(TestSiteEncodingTest, GzipStoredHasHeaderBlocksAndTrailer) {
  std::string empty = GzipStored("");
  ASSERT_EQ(empty.size(), 10u + 5u + 8u);
  EXPECT_EQ(empty.substr(0, 3), std::string("\x1f\x8b\x08", 3));
  EXPECT_EQ(empty.substr(10, 5), std::string("\x01\x00\x00\xff\xff", 5));  // final stored block, LEN 0, NLEN

  std::string input(150000, 'x');
  std::string gz = GzipStored(input);
  EXPECT_EQ(gz.size(), 10u + 3 * 5u + input.size() + 8u);  // 65535 + 65535 + 18930
  uint32_t crc = 0, size = 0;
  for (int i = 3; i >= 0; --i) {
    crc = crc << 8 | static_cast<unsigned char>(gz[gz.size() - 8 + i]);
    size = size << 8 | static_cast<unsigned char>(gz[gz.size() - 4 + i]);
  }
  EXPECT_EQ(crc, Crc32(input));
  EXPECT_EQ(size, input.size());
}

TEST(TestSiteTest, GzipBodiesDecodeWithCurl) {
  TestSite site;
  std::string body;
  for (int i = 0; body.size() < 200000; ++i) body += "line " + std::to_string(i) + " of a long gzip body\n";
  SiteResponse response;
  response.content_type = "text/plain";
  response.body = body;
  response.gzip = true;
  site.Set("/long.txt", response);

  Fetched compressed = Fetch(site.base_url() + "/long.txt", "--compressed");
  EXPECT_EQ(compressed.exit_code, 0);
  EXPECT_EQ(compressed.headers["content-encoding"], "gzip");
  EXPECT_EQ(compressed.headers["content-length"], std::to_string(GzipStored(body).size()));
  EXPECT_TRUE(compressed.body == body) << "decoded " << compressed.body.size() << " bytes of " << body.size();
  Fetched plain = Fetch(site.base_url() + "/long.txt");  // no Accept-Encoding: identity
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_TRUE(plain.body == body);
  EXPECT_EQ(site.Requests().front().Header("accept-encoding").find("gzip") != std::string::npos, true);
}

TEST_F(CrawlSiteTest, StatusCodesAndRedirectChains) {
  Fetched missing = Fetch(Url("/no/such/page"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "not found");
  EXPECT_EQ(missing.headers["content-type"].rfind("text/plain", 0), 0u);
  EXPECT_EQ(Fetch(Url("/gone.html")).status, 404);
  EXPECT_EQ(Fetch(Url("/")).status, 200);

  const std::vector<std::tuple<std::string, int, std::string>> hops = {
      {"/redirect/1", 301, "/redirect/2"},
      {"/redirect/2", 302, "/redirect/3"},
      {"/redirect/3", 307, "/final.html"},
      {"/loop/2", 302, "/loop/1"},
      {"/redirect/many/10", 302, "/redirect/many/11"},
      {"/to-refused", 302, other_.base_url() + "/refused.html"}};
  for (const auto& [from, status, to] : hops) {
    Fetched hop = Fetch(Url(from));
    EXPECT_EQ(hop.status, status) << from;
    EXPECT_EQ(hop.headers["location"], to) << from;
  }
  CurlRun followed = Curl("-L -o /dev/null -w '%{http_code} %{url_effective}' '" + Url("/redirect/1") + "'");
  EXPECT_EQ(followed.out, "200 " + Url("/final.html"));
  EXPECT_EQ(Curl("-L --max-redirs 5 -o /dev/null '" + Url("/loop/1") + "'").exit_code, 47);  // too many redirects
  EXPECT_EQ(Curl("-L --max-redirs 5 -o /dev/null '" + Url("/redirect/many/1") + "'").exit_code, 47);
  CurlRun many = Curl("-L --max-redirs 10 -o /dev/null -w '%{http_code}' '" + Url("/redirect/many/1") + "'");
  EXPECT_EQ(many.out, "200");
}

TEST_F(CrawlSiteTest, IndexLinksEverythingListed) {
  Fetched index = Fetch(Url("/"));
  for (const char* href : {"/a.html", "/b.html", "/private/secret.html", "/redirect/1", "/loop/1", "/to-refused",
                           "/latin1.html", "/gzip.html", "/slow.html", "/big.html", "/image.png", "/nofollow.html",
                           "/canonical-dup.html", "/doc.pdf", "mailto:", "javascript:", "#top", "./a.html#frag"}) {
    EXPECT_NE(index.body.find(std::string("href=\"") + href), std::string::npos) << href;
  }
  EXPECT_NE(index.body.find("href=\"" + other_.base_url() + "/external.html\""), std::string::npos);
  EXPECT_NE(Fetch(Url("/b.html")).body.find("<base href=\"/sub/\">"), std::string::npos);
  EXPECT_NE(Fetch(Url("/deep/level3.html")).body.find("href=\"/deep/level4.html\""), std::string::npos);
}

// Every HTML page but /tiny.html, the 20-second /slow.html and the 3 MiB ones.
// clang-format off
constexpr const char* kHtmlPages[] = {
    "/", "/a.html", "/b.html", "/deep/level2.html", "/deep/level3.html", "/deep/level4.html", "/sub/page.html",
    "/final.html", "/redirect/many/11", "/latin1.html", "/meta-charset.html", "/shiftjis.html", "/gzip.html",
    "/wrong-type.html", "/nofollow.html", "/relnofollow.html", "/noindex.html", "/canonical-dup.html", "/c.html",
    "/nf-target1.html", "/nf-target2.html", "/external.html", "/refused.html", "/private/secret.html", "/gone.html"};
// clang-format on

TEST_F(CrawlSiteTest, EveryHtmlPageHasEnoughProse) {
  for (const char* path : kHtmlPages) {
    EXPECT_GE(VisibleText(Fetch(Url(path), "--compressed").body).size(), 200u) << path;
  }
  EXPECT_LT(VisibleText(Fetch(Url("/tiny.html")).body).size(), 50u);
  EXPECT_NE(VisibleText(Fetch(Url("/a.html")).body), VisibleText(Fetch(Url("/c.html")).body));
}

TEST_F(CrawlSiteTest, RobotsTypesAndBodies) {
  Fetched robots = Fetch(Url("/robots.txt"));
  EXPECT_EQ(robots.body, "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.1\n");
  EXPECT_EQ(robots.headers["content-type"].rfind("text/plain", 0), 0u);
  Fetched png = Fetch(Url("/image.png"));
  EXPECT_EQ(png.headers["content-type"], "image/png");
  EXPECT_EQ(png.body.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(Fetch(Url("/wrong-type.html")).headers["content-type"], "application/octet-stream");

  Fetched big = Fetch(Url("/big.html"));
  EXPECT_EQ(big.body.size(), 3u * 1024 * 1024);
  EXPECT_EQ(big.headers["content-length"], std::to_string(3 * 1024 * 1024));
  EXPECT_TRUE(big.body.ends_with("</html>\n"));
  Fetched unbounded = Fetch(Url("/big-nolength.html"));
  EXPECT_EQ(unbounded.headers.count("content-length"), 0u);
  EXPECT_EQ(unbounded.headers["connection"], "close");
  EXPECT_TRUE(unbounded.body == big.body);
}

TEST_F(CrawlSiteTest, PdfXrefOffsetsPointAtTheirObjects) {
  Fetched pdf = Fetch(Url("/doc.pdf"));
  EXPECT_EQ(pdf.headers["content-type"], "application/pdf");
  const std::string& doc = pdf.body;
  ASSERT_TRUE(doc.starts_with("%PDF-1.4\n"));
  EXPECT_NE(doc.find("(Refinery test PDF) Tj"), std::string::npos);
  size_t startxref = doc.rfind("startxref\n");
  ASSERT_NE(startxref, std::string::npos);
  size_t xref = std::stoul(doc.substr(startxref + 10));
  ASSERT_EQ(doc.compare(xref, 5, "xref\n"), 0);
  size_t entries = doc.find('\n', xref + 5) + 1 + 20;  // after "0 N\n" and the free entry
  for (int object = 1; object <= 5; ++object, entries += 20) {
    size_t offset = std::stoul(doc.substr(entries, 10));
    EXPECT_EQ(doc.compare(offset, 8, std::to_string(object) + " 0 obj\n"), 0) << object;
  }
  size_t length_at = doc.find("/Length ") + 8, stream = doc.find("stream\n") + 7;
  EXPECT_EQ(doc.compare(stream + std::stoul(doc.substr(length_at)), 10, "\nendstream"), 0);
}

TEST_F(CrawlSiteTest, CharsetPagesSendTheirBytesUntouched) {
  Fetched latin1 = Fetch(Url("/latin1.html"));
  EXPECT_EQ(latin1.headers["content-type"], "text/html; charset=iso-8859-1");
  EXPECT_NE(latin1.body.find("caf\xE9 cr\xE8me"), std::string::npos);
  Fetched cp1252 = Fetch(Url("/meta-charset.html"));
  EXPECT_EQ(cp1252.headers["content-type"], "text/html");
  EXPECT_NE(cp1252.body.find("<meta charset=\"windows-1252\">"), std::string::npos);
  EXPECT_NE(cp1252.body.find("\223fresh\224"), std::string::npos);  // octal: 0x93, 0x94
  EXPECT_NE(cp1252.body.find("\2003 a loaf"), std::string::npos);   // octal: 0x80
  Fetched sjis = Fetch(Url("/shiftjis.html"));
  EXPECT_EQ(sjis.headers["content-type"], "text/html; charset=Shift_JIS");
  EXPECT_NE(sjis.body.find("\x93\xFA\x96\x7B\x8C\xEA"), std::string::npos);
  Fetched gz = Fetch(Url("/gzip.html"), "--compressed");
  EXPECT_EQ(gz.headers["content-encoding"], "gzip");
  EXPECT_EQ(gz.body, Fetch(Url("/gzip.html")).body);
}

TEST_F(CrawlSiteTest, MisbehavingPagesRecover) {
  EXPECT_EQ(Fetch(Url("/flaky.html")).status, 503);
  EXPECT_EQ(Fetch(Url("/flaky.html")).status, 200);
  Fetched limited = Fetch(Url("/ratelimited.html"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers["retry-after"], "1");
  EXPECT_EQ(Fetch(Url("/ratelimited.html")).status, 200);
  EXPECT_EQ(Curl("--max-time 1 -o /dev/null '" + Url("/timeout-once.html") + "'").exit_code, 28);  // timed out
  auto start = Clock::now();
  EXPECT_EQ(Fetch(Url("/timeout-once.html")).status, 200);
  EXPECT_LT(SecondsSince(start), 1.0);
  EXPECT_EQ(site_.CountRequests("/timeout-once.html"), 2);
}

TEST(TestSiteTest, DripsAtTheRateAndALowSpeedLimitCutsIt) {
  TestSite site;
  SiteResponse drip;
  drip.body = std::string(400, 'd');
  drip.drip_bytes_per_s = 200;
  site.Set("/drip", drip);
  auto start = Clock::now();
  Fetched fetched = Fetch(site.base_url() + "/drip");
  double took = SecondsSince(start);
  EXPECT_EQ(fetched.body, drip.body);
  EXPECT_GE(took, 1.5);  // 400 bytes at 200 B/s: 2 s
  EXPECT_LT(took, 6.0);

  AddCrawlTestPages(site, "http://127.0.0.2:1");
  start = Clock::now();
  CurlRun cut = Curl("--speed-limit 1000 --speed-time 1 -o /dev/null '" + site.base_url() + "/slow.html'");
  EXPECT_EQ(cut.exit_code, 28);  // "operation too slow"
  EXPECT_LT(SecondsSince(start), 5.0);
}

TEST(TestSiteTest, LogsRequestsAndMatchesTargets) {
  TestSite site;
  site.Set("/q?x=1", MakeResponse(200, "exact"));
  site.Set("/q", MakeResponse(200, "bare", "text/plain"));
  EXPECT_EQ(Fetch(site.base_url() + "/q?x=1").body, "exact");
  EXPECT_EQ(Fetch(site.base_url() + "/q?y=2").body, "bare");
  EXPECT_EQ(Fetch(site.base_url() + "/q").body, "bare");
  site.SetHandler("/q", [](const SiteRequest& request) {
    SiteResponse response;
    response.body = request.method + " " + request.target + " " + request.Header("x-custom");
    return response;
  });
  EXPECT_EQ(Fetch(site.base_url() + "/q?x=1", "-H 'X-Custom: yes'").body, "GET /q?x=1 yes");  // the handler wins

  Fetched head = Fetch(site.base_url() + "/q", "-I -A 'refinery-test/1.0'");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  std::vector<SiteRequest> log = site.Requests();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[4].method, "HEAD");
  EXPECT_EQ(log[4].Header("user-agent"), "refinery-test/1.0");
  EXPECT_EQ(log[0].target, "/q?x=1");
  for (size_t i = 1; i < log.size(); ++i) EXPECT_LE(log[i - 1].received, log[i].received);
  EXPECT_EQ(site.CountRequests("/q?x=1"), 2);
  EXPECT_EQ(site.CountRequests("/q"), 2);
  EXPECT_TRUE(site.WaitForRequests("/q", 2, 0.1));
  auto start = Clock::now();
  EXPECT_FALSE(site.WaitForRequests("/never", 1, 0.2));
  EXPECT_GE(SecondsSince(start), 0.2);
}

TEST(TestSiteTest, KeepsConnectionsAliveAndRejectsHugeHeads) {
  TestSite site;
  SiteResponse page;
  page.body = "page";
  site.Set("/p", page);
  const std::string url = "'" + site.base_url() + "/p'";
  CurlRun two = Curl("-o /dev/null -o /dev/null -w '%{num_connects} ' " + url + " " + url);
  EXPECT_EQ(two.out, "1 0 ");  // the second request reused the connection
  EXPECT_EQ(Fetch(site.base_url() + "/p", "-H 'Connection: close'").headers["connection"], "close");
  EXPECT_EQ(Fetch(site.base_url() + "/p", "-d 'a=1&b=2'").body, "page");  // a POST body, read and dropped
  EXPECT_EQ(Fetch(site.base_url() + "/p", "-H 'X-Big: " + std::string(70 * 1024, 'b') + "'").status, 431);
}

// Starts curl on `url` in the background; join the thread to get its result.
std::thread CurlInBackground(const std::string& url, CurlRun& result) {
  return std::thread([url, &result] { result = Curl("'" + url + "'"); });
}

TEST(TestSiteTest, StopEndsADripInFlightPromptly) {
  TestSite site;
  AddCrawlTestPages(site, "http://127.0.0.2:1");
  CurlRun result;
  std::thread client = CurlInBackground(site.base_url() + "/slow.html", result);
  ASSERT_TRUE(site.WaitForRequests("/slow.html", 1, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // two pieces out, the drip is mid-body
  auto start = Clock::now();
  site.Stop();
  EXPECT_LT(SecondsSince(start), 1.0);
  client.join();
  EXPECT_EQ(result.exit_code, 18);  // "partial file": the body ended early
  EXPECT_GT(result.out.size(), 0u);
  EXPECT_LT(result.out.size(), 4000u);
  site.Stop();                                                 // idempotent
  EXPECT_EQ(Curl("'" + site.base_url() + "/'").exit_code, 7);  // nobody listens any more
  EXPECT_EQ(site.CountRequests("/slow.html"), 1);
}

TEST(TestSiteTest, DestructorEndsDelaysAndDrips) {
  CurlRun slow, late;
  std::thread slow_client, late_client;
  auto start = Clock::now();
  {
    TestSite site;
    AddCrawlTestPages(site, "http://127.0.0.2:1");
    slow_client = CurlInBackground(site.base_url() + "/slow.html", slow);
    late_client = CurlInBackground(site.base_url() + "/timeout-once.html", late);
    ASSERT_TRUE(site.WaitForRequests("/slow.html", 1, 5));
    ASSERT_TRUE(site.WaitForRequests("/timeout-once.html", 1, 5));
    start = Clock::now();
  }
  EXPECT_LT(SecondsSince(start), 1.0);
  slow_client.join();
  late_client.join();
  EXPECT_NE(slow.exit_code, 0);
  EXPECT_EQ(late.exit_code, 52);  // "empty reply from server": the delay ended without an answer
}

TEST_F(CrawlSiteTest, TwoHostsServeSeparately) {
  EXPECT_EQ(site_.base_url(), "http://127.0.0.1:" + std::to_string(site_.port()));
  EXPECT_EQ(other_.base_url(), "http://127.0.0.2:" + std::to_string(other_.port()));
  EXPECT_EQ(other_.host(), "127.0.0.2");
  EXPECT_EQ(Fetch(other_.base_url() + "/external.html").status, 200);
  CurlRun followed = Curl("-L -o /dev/null -w '%{http_code} %{url_effective}' '" + Url("/to-refused") + "'");
  EXPECT_EQ(followed.out, "200 " + other_.base_url() + "/refused.html");
  EXPECT_EQ(other_.CountRequests("/refused.html"), 1);
  EXPECT_EQ(site_.CountRequests("/refused.html"), 0);
  EXPECT_EQ(site_.CountRequests("/to-refused"), 1);
}

TEST(TestSiteTest, RefusesABadBindAddress) { EXPECT_THROW(TestSite("not-an-address"), std::runtime_error); }

}  // namespace
}  // namespace refinery::testing

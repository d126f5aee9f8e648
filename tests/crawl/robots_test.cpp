// robots.txt rules (crawl/robots.h, RFC 9309): pure, no network, no clock
// except one bound on the hostile-pattern case.
#include "crawl/robots.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace refinery::crawl {
namespace {

// RFC 9309 section 5.1.
constexpr std::string_view kRfcExample =
    "User-Agent: *\n"
    "Disallow: *.gif$\n"
    "Disallow: /example/\n"
    "Allow: /publications/\n"
    "\n"
    "User-Agent: foobot\n"
    "Disallow:/\n"
    "Allow:/example/page.html\n"
    "Allow:/example/allowed.gif\n"
    "\n"
    "User-Agent: barbot\n"
    "User-Agent: bazbot\n"
    "Disallow: /example/page.html\n"
    "\n"
    "User-Agent: quxbot\n";

bool Allowed(std::string_view body, std::string_view path, std::string_view agent = "Refinery") {
  return RobotsRules::Parse(body, agent).Allowed(path);
}

TEST(RobotsTest, Rfc9309ExampleFoobot) {
  RobotsRules foobot = RobotsRules::Parse(kRfcExample, "FooBot");
  EXPECT_TRUE(foobot.Allowed("/example/page.html"));
  EXPECT_TRUE(foobot.Allowed("/example/allowed.gif"));
  EXPECT_FALSE(foobot.Allowed("/example/other.html"));
  EXPECT_FALSE(foobot.Allowed("/publications/"));  // its own group, not "*"
  EXPECT_FALSE(foobot.Allowed("/"));
}

TEST(RobotsTest, Rfc9309ExampleSharedAndEmptyGroups) {
  for (std::string_view agent : {"barbot", "bazbot"}) {
    RobotsRules rules = RobotsRules::Parse(kRfcExample, agent);
    EXPECT_FALSE(rules.Allowed("/example/page.html")) << agent;
    EXPECT_TRUE(rules.Allowed("/example/other.html")) << agent;
    EXPECT_TRUE(rules.Allowed("/picture.gif")) << agent;
  }
  RobotsRules quxbot = RobotsRules::Parse(kRfcExample, "quxbot");  // a group without rules
  EXPECT_EQ(quxbot.rule_count(), 0u);
  EXPECT_TRUE(quxbot.Allowed("/example/page.html"));
  EXPECT_TRUE(quxbot.Allowed("/a.gif"));
}

TEST(RobotsTest, Rfc9309ExampleStarGroup) {
  RobotsRules other = RobotsRules::Parse(kRfcExample, "Refinery");
  EXPECT_FALSE(other.Allowed("/picture.gif"));
  EXPECT_TRUE(other.Allowed("/picture.gif?size=2"));  // '$' anchors the end
  EXPECT_FALSE(other.Allowed("/example/"));
  EXPECT_FALSE(other.Allowed("/example/page.html"));
  EXPECT_TRUE(other.Allowed("/publications/"));
  EXPECT_TRUE(other.Allowed("/"));
}

// RFC 9309 section 5.2.
TEST(RobotsTest, LongestMatchWins) {
  constexpr std::string_view body =
      "User-Agent: foobot\n"
      "Allow: /example/page/\n"
      "Disallow: /example/page/disallowed.gif\n";
  RobotsRules rules = RobotsRules::Parse(body, "foobot");
  EXPECT_TRUE(rules.Allowed("/example/page/"));
  EXPECT_TRUE(rules.Allowed("/example/page/allowed.gif"));
  EXPECT_FALSE(rules.Allowed("/example/page/disallowed.gif"));
  EXPECT_FALSE(Allowed("User-agent: *\nAllow: /a\nDisallow: /a/b\n", "/a/b/c"));
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /a\nAllow: /a/b\n", "/a/b/c"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /a\nAllow: /a/b\n", "/a/c"));
}

TEST(RobotsTest, AllowWinsATie) {
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /page\nAllow: /page\n", "/page"));
  EXPECT_TRUE(Allowed("User-agent: *\nAllow: /page\nDisallow: /page\n", "/page"));
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /*.x\nAllow: /a.x\n", "/a.x"));  // equal length, 4 octets
}

TEST(RobotsTest, GroupSelectionByProductToken) {
  constexpr std::string_view body =
      "User-agent: *\nDisallow: /\n\n"
      "User-agent: refinery/1.0\nDisallow: /private\n";
  EXPECT_TRUE(Allowed(body, "/public", "Refinery"));
  EXPECT_FALSE(Allowed(body, "/private", "Refinery"));
  EXPECT_TRUE(Allowed(body, "/public", "REFINERY/2.3 (+https://example.org/bot)"));
  EXPECT_FALSE(Allowed(body, "/public", "OtherBot"));
  EXPECT_FALSE(Allowed(body, "/public", "RefineryBot"));  // a different product name
  EXPECT_FALSE(Allowed(body, "/public", ""));             // no token: "*" only
  EXPECT_TRUE(Allowed("User-Agent: Refinery\nDisallow: /x\n", "/y", "refinery"));
  EXPECT_FALSE(Allowed("user-agent:REFINERY\ndisallow:/x\n", "/x", "Refinery"));
  // Without a matching group or a "*" group everything is allowed.
  EXPECT_TRUE(Allowed("User-agent: otherbot\nDisallow: /\n", "/x"));
  // Our group, even with only an empty Disallow, replaces "*".
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /\nUser-agent: Refinery\nDisallow:\n", "/x"));
}

TEST(RobotsTest, GroupsForOneAgentAreMerged) {
  constexpr std::string_view body =
      "User-agent: refinery\nDisallow: /a\n\n"
      "User-agent: other\nDisallow: /b\n\n"
      "User-agent: Refinery\nDisallow: /c\nCrawl-delay: 2\n";
  RobotsRules rules = RobotsRules::Parse(body, "Refinery");
  EXPECT_FALSE(rules.Allowed("/a"));
  EXPECT_TRUE(rules.Allowed("/b"));
  EXPECT_FALSE(rules.Allowed("/c"));
  EXPECT_EQ(rules.rule_count(), 2u);
  EXPECT_DOUBLE_EQ(rules.crawl_delay_s(), 2.0);
}

TEST(RobotsTest, ConsecutiveUserAgentLinesShareAGroup) {
  constexpr std::string_view body =
      "User-agent: a\nUser-agent: refinery\n# comment between\n\nUser-agent: b\nDisallow: /x\n"
      "User-agent: c\nDisallow: /y\n";
  EXPECT_FALSE(Allowed(body, "/x"));
  EXPECT_TRUE(Allowed(body, "/y"));
  EXPECT_FALSE(Allowed(body, "/x", "b"));
  EXPECT_TRUE(Allowed(body, "/x", "c"));
}

TEST(RobotsTest, RulesOutsideAnyGroupAndUnknownLinesAreIgnored) {
  constexpr std::string_view body =
      "Disallow: /early\nHost: example.org\nNoindex: /x\nno colon here\n:\nUser-agent: *\n"
      "Unknown: y\nDisallow: /late\n";
  RobotsRules rules = RobotsRules::Parse(body, "Refinery");
  EXPECT_TRUE(rules.Allowed("/early"));
  EXPECT_TRUE(rules.Allowed("/x"));
  EXPECT_FALSE(rules.Allowed("/late"));
  EXPECT_EQ(rules.rule_count(), 1u);
}

TEST(RobotsTest, EmptyDisallowAllowsEverything) {
  RobotsRules rules = RobotsRules::Parse("User-agent: *\nDisallow:\n", "Refinery");
  EXPECT_EQ(rules.rule_count(), 0u);
  EXPECT_TRUE(rules.Allowed("/anything"));
  EXPECT_TRUE(Allowed("", "/x"));
}

TEST(RobotsTest, WildcardsAndEndAnchor) {
  constexpr std::string_view body =
      "User-agent: *\n"
      "Disallow: /*.php$\n"
      "Disallow: /fish*\n"
      "Disallow: /*?sessionid=\n"
      "Disallow: /a/**/b\n"
      "Allow: /$\n"
      "Disallow: /\n"
      "Allow: /pub\n";
  RobotsRules rules = RobotsRules::Parse(body, "Refinery");
  EXPECT_TRUE(rules.Allowed("/"));
  EXPECT_FALSE(rules.Allowed("/other"));
  EXPECT_TRUE(rules.Allowed("/public/page"));
  EXPECT_FALSE(rules.Allowed("/public/index.php"));
  EXPECT_TRUE(rules.Allowed("/public/index.php?x=1"));
  EXPECT_TRUE(rules.Allowed("/public/index.php5"));
  EXPECT_FALSE(rules.Allowed("/public/list?sessionid=12"));
  EXPECT_TRUE(rules.Allowed("/public/list?id=12"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /fish*\n", "/fish"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /fish*\n", "/fishheads/yummy.html"));
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /fish*\n", "/Fish.asp"));  // paths are case-sensitive
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /a/**/b\n", "/a/x/y/b"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /a*b$\n", "/a-b-b"));
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /a*b$\n", "/a-b-c"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: *\n", "/x"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: x\n", "/x"));       // a missing "/" is supplied
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /a$b\n", "/a$b"));  // an inner '$' is literal
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /a$b\n", "/a"));
}

// RFC 9309 2.2.2 and its examples, plus "/%7Efoo" == "/~foo".
TEST(RobotsTest, PercentEncodingIsComparedNormalised) {
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /%7Efoo\n", "/~foo"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /~foo\n", "/%7efoo"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /foo/bar?baz=quz\n", "/foo/bar?baz=quz"));
  EXPECT_FALSE(
      Allowed("User-agent: *\nDisallow: /foo/bar?baz=https://foo.bar\n", "/foo/bar?baz=https%3A%2F%2Ffoo.bar"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /foo/bar/\xE3\x83\x84\n", "/foo/bar/%E3%83%84"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n", "/foo/bar/%e3%83%84"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /foo/bar/%62%61%7A\n", "/foo/bar/baz"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /a b\n", "/a%20b"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /a%2Ab\n", "/a*b"));  // an encoded '*' is literal
  EXPECT_TRUE(Allowed("User-agent: *\nDisallow: /a%2Ab\n", "/axb"));
  EXPECT_FALSE(Allowed("User-agent: *\nDisallow: /100%\n", "/100%25"));
}

TEST(RobotsTest, RobotsTxtIsAlwaysAllowed) {
  RobotsRules rules = RobotsRules::Parse("User-agent: *\nDisallow: /\n", "Refinery");
  EXPECT_TRUE(rules.Allowed("/robots.txt"));
  EXPECT_FALSE(rules.Allowed("/robots.txt.bak"));
  EXPECT_FALSE(rules.Allowed(""));
  EXPECT_TRUE(RobotsRules::DisallowAll().Allowed("/robots.txt"));
}

TEST(RobotsTest, AllowAllAndDisallowAll) {
  EXPECT_TRUE(RobotsRules::AllowAll().Allowed("/x"));
  EXPECT_EQ(RobotsRules::AllowAll().crawl_delay_s(), 0.0);
  EXPECT_TRUE(RobotsRules::AllowAll().sitemaps().empty());
  EXPECT_FALSE(RobotsRules::DisallowAll().Allowed("/"));
  EXPECT_FALSE(RobotsRules::DisallowAll().Allowed("/x?y"));
}

TEST(RobotsTest, CrawlDelay) {
  auto delay = [](std::string_view value) {
    return RobotsRules::Parse("User-agent: *\nCrawl-delay: " + std::string(value) + "\n", "Refinery").crawl_delay_s();
  };
  EXPECT_DOUBLE_EQ(delay("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(delay("10"), 10.0);
  EXPECT_DOUBLE_EQ(delay("  3 # seconds"), 3.0);
  EXPECT_DOUBLE_EQ(delay("120"), kRobotsMaxCrawlDelayS);
  EXPECT_DOUBLE_EQ(delay("1e300"), kRobotsMaxCrawlDelayS);
  for (std::string_view bad : {"-1", "abc", "5s", "", "nan", "inf", "1e999", "+2", "0x10"}) {
    EXPECT_DOUBLE_EQ(delay(bad), 0.0) << bad;
  }
  // Read from the selected group only.
  constexpr std::string_view body = "User-agent: *\nCrawl-delay: 7\n\nUser-agent: refinery\nCrawl-delay: 0.25\n";
  EXPECT_DOUBLE_EQ(RobotsRules::Parse(body, "Refinery").crawl_delay_s(), 0.25);
  EXPECT_DOUBLE_EQ(RobotsRules::Parse(body, "Other").crawl_delay_s(), 7.0);
  EXPECT_DOUBLE_EQ(RobotsRules::Parse("Crawl-delay: 9\nUser-agent: *\n", "x").crawl_delay_s(), 0.0);
}

TEST(RobotsTest, BomCommentsAndLineEndings) {
  EXPECT_FALSE(Allowed("\xEF\xBB\xBFUser-agent: *\nDisallow: /x\n", "/x"));
  EXPECT_FALSE(Allowed("User-agent: *\r\nDisallow: /x\r\nDisallow: /y", "/y"));
  EXPECT_FALSE(Allowed("User-agent: *\rDisallow: /x\rDisallow: /y\r", "/x"));
  EXPECT_FALSE(Allowed("User-agent: *\n\r\n\rDisallow: /x", "/x"));
  EXPECT_FALSE(Allowed("User-agent: * # everyone\nDisallow: /x # not x\n", "/x"));
  EXPECT_TRUE(Allowed("User-agent: * # everyone\nDisallow: /x # not x\n", "/y"));
  EXPECT_TRUE(Allowed("# User-agent: *\n# Disallow: /\n", "/x"));
  EXPECT_FALSE(Allowed("  USER-AGENT :\t*\n\tDISALLOW  :  /x  \n", "/x"));
}

TEST(RobotsTest, SitemapsAreCollectedFromAnywhere) {
  constexpr std::string_view body =
      "Sitemap: https://example.org/sitemap.xml\n"
      "User-agent: otherbot\nDisallow: /\nSitemap: https://example.org/news.xml\n"
      "User-agent: *\nsitemap:https://example.org/sitemap.xml\nSitemap:\n"
      "Disallow: /x\n";
  RobotsRules rules = RobotsRules::Parse(body, "Refinery");
  EXPECT_EQ(rules.sitemaps(),
            (std::vector<std::string>{"https://example.org/sitemap.xml", "https://example.org/news.xml"}));
  EXPECT_FALSE(rules.Allowed("/x"));  // a Sitemap line does not end a group
}

TEST(RobotsTest, OnlyTheFirst500KiBAreParsed) {
  std::string body = "User-agent: *\nDisallow: /early\n";
  while (body.size() < kRobotsMaxBytes - 100) body += "# filler filler filler filler filler filler filler\n";
  body += "Disallow: /near-end\n";
  body.resize(kRobotsMaxBytes - 14, '#');
  body += "\nDisallow: /cut-by-limit\nDisallow: /beyond\n";  // the limit falls after "Disallow: /cu"
  RobotsRules rules = RobotsRules::Parse(body, "Refinery");
  EXPECT_FALSE(rules.Allowed("/early"));
  EXPECT_FALSE(rules.Allowed("/near-end"));
  EXPECT_TRUE(rules.Allowed("/cut"));  // the cut line is not read as "Disallow: /cu"
  EXPECT_TRUE(rules.Allowed("/cut-by-limit"));
  EXPECT_TRUE(rules.Allowed("/beyond"));
  EXPECT_EQ(rules.rule_count(), 2u);
}

TEST(RobotsTest, OverlongPatternsAreIgnored) {
  std::string pattern = "/" + std::string(kRobotsMaxPatternBytes, 'a');
  RobotsRules rules = RobotsRules::Parse("User-agent: *\nDisallow: " + pattern + "\nDisallow: /b\n", "Refinery");
  EXPECT_EQ(rules.rule_count(), 1u);
  EXPECT_TRUE(rules.Allowed(pattern));
  EXPECT_FALSE(rules.Allowed("/b"));
}

// Backtracking matchers take exponential time here, quadratic ones seconds; ours is linear.
TEST(RobotsTest, HostilePatternsMatchQuickly) {
  std::string hostile = "/*" + std::string(kRobotsMaxPatternBytes - 4, 'a') + "b";
  std::string body = "User-agent: *\nDisallow: /a*a*a*a*a*a*a*a*b\nDisallow: /**********************a*b$\n";
  for (int i = 0; i < 20; ++i) body += "Disallow: " + hostile + std::to_string(i) + "\n";
  RobotsRules rules = RobotsRules::Parse(body, "Refinery");
  std::string path = "/" + std::string(8000, 'a');
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(rules.Allowed(path));
  EXPECT_FALSE(rules.Allowed(path + "b"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1));  // milliseconds in fact, even sanitised
}

// Random bytes and robots-like noise never crash, and Allowed stays total.
TEST(RobotsTest, RandomInputIsSafe) {
  std::mt19937 rng(987654321);
  const std::vector<std::string> pieces = {"User-agent: ",
                                           "Allow: ",
                                           "Disallow: ",
                                           "Crawl-delay: ",
                                           "Sitemap: ",
                                           "*",
                                           "$",
                                           "/",
                                           "%",
                                           "%4",
                                           "%7e",
                                           "#",
                                           "\n",
                                           "\r",
                                           "\r\n",
                                           ":",
                                           " ",
                                           "refinery",
                                           "\xEF\xBB\xBF",
                                           "a",
                                           "0.5"};
  for (int i = 0; i < 2000; ++i) {
    std::string body;
    std::size_t length = rng() % 200;
    for (std::size_t k = 0; k < length; ++k) {
      if (rng() % 2 == 0) {
        body += static_cast<char>(rng() % 256);
      } else {
        body += pieces[rng() % pieces.size()];
      }
    }
    RobotsRules rules = RobotsRules::Parse(body, i % 2 == 0 ? "Refinery" : "");
    std::string path = "/";
    for (std::size_t k = rng() % 30; k > 0; --k) path += pieces[rng() % pieces.size()];
    (void)rules.Allowed(path);
    (void)rules.Allowed(body.substr(0, 64));
    EXPECT_TRUE(rules.Allowed("/robots.txt"));
    EXPECT_GE(rules.crawl_delay_s(), 0.0);
    EXPECT_LE(rules.crawl_delay_s(), kRobotsMaxCrawlDelayS);
  }
}

}  // namespace
}  // namespace refinery::crawl

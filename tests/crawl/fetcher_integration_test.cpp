// The fetcher against a real HTTP server on loopback (tests/support/
// test_site.h): redirects, loops, the size cap, the low-speed cut, content
// decoding, the User-Agent, and the address policy at every hop -- by
// default loopback is refused; these tests allow 127.0.0.1 explicitly.
#include <gtest/gtest.h>

#include "crawl/fetcher.h"
#include "support/test_site.h"

namespace refinery::crawl {
namespace {

using refinery::testing::MakeResponse;
using refinery::testing::TestSite;

class FetcherTest : public ::testing::Test {
 protected:
  FetcherTest() : other_("127.0.0.2") {
    AddCrawlTestPages(site_, other_.base_url());
    AddCrawlTestPages(other_, site_.base_url());
    config_.max_bytes = 1 << 20;
    config_.low_speed_bytes_per_s = 1024;
    config_.low_speed_time_s = 1;
    config_.timeout_s = 20;
  }
  Fetcher Allowing(const std::string& allow) {
    auto policy = AddressPolicy::Parse(allow);
    EXPECT_TRUE(policy.ok()) << policy.status().ToString();
    return Fetcher(config_, policy.ok() ? *policy : AddressPolicy());
  }
  Url At(const TestSite& site, const std::string& path) {
    auto url = ParseUrl(site.base_url() + path);
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    return url.ok() ? *url : Url{};
  }

  TestSite site_;
  TestSite other_;
  CrawlConfig config_;
};

TEST_F(FetcherTest, TheDefaultPolicyRefusesLoopbackBeforeAnyRequest) {
  Fetcher fetcher(config_, AddressPolicy());
  auto page = fetcher.Fetch(At(site_, "/"), nullptr);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("loopback"), std::string::npos) << page.status().message();
  EXPECT_NE(page.status().message().find("REFINERY_CRAWL_ALLOW"), std::string::npos);
  EXPECT_TRUE(site_.Requests().empty()) << "a refused address was contacted";
}

TEST_F(FetcherTest, APageIsFetchedWithRefinerysUserAgentAndDecoded) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  auto page = fetcher.Fetch(At(site_, "/gzip.html"), nullptr);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<html"), std::string::npos) << "the gzip body was not decoded";
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  auto requests = site_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("user-agent"), DefaultUserAgent());
  EXPECT_EQ(requests[0].Header("user-agent").rfind("Refinery/", 0), 0u);
  EXPECT_NE(requests[0].Header("accept-encoding").find("gzip"), std::string::npos);
}

TEST_F(FetcherTest, RedirectChainsAreFollowedAndRecorded) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  auto page = fetcher.Fetch(At(site_, "/redirect/1"), nullptr);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->url.path, "/final.html");
  ASSERT_EQ(page->redirects.size(), 3u);
  EXPECT_EQ(page->redirects[0], site_.base_url() + "/redirect/1");
}

TEST_F(FetcherTest, LoopsAndTooManyRedirectsFailClearly) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  auto loop = fetcher.Fetch(At(site_, "/loop/1"), nullptr);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loop.status().message().find("redirect loop"), std::string::npos) << loop.status().message();
  auto many = fetcher.Fetch(At(site_, "/redirect/many/1"), nullptr);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("more than 5 redirects"), std::string::npos) << many.status().message();
  EXPECT_EQ(site_.CountRequests("/redirect/many/7"), 0) << "fetched past the redirect limit";
}

TEST_F(FetcherTest, ARedirectToARefusedAddressIsRefusedAtThatHop) {
  Fetcher fetcher = Allowing("127.0.0.1/32");  // 127.0.0.2 (the other site) is not allowed
  auto page = fetcher.Fetch(At(site_, "/to-refused"), nullptr);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("127.0.0.2"), std::string::npos) << page.status().message();
  EXPECT_TRUE(other_.Requests().empty());
}

TEST_F(FetcherTest, TheHopCheckSeesEveryHop) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  std::vector<std::string> hops;
  auto page = fetcher.Fetch(At(site_, "/redirect/1"), [&](const Url& hop) {
    hops.push_back(hop.path);
    return hop.path == "/redirect/3" ? Status::InvalidArgument("disallowed by robots.txt") : Status::Ok();
  });
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(hops, (std::vector<std::string>{"/redirect/1", "/redirect/2", "/redirect/3"}));
  EXPECT_EQ(site_.CountRequests("/redirect/3"), 0);
}

TEST_F(FetcherTest, ABodyOverTheCapIsAnErrorWithOrWithoutALength) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  for (const char* path : {"/big.html", "/big-nolength.html"}) {
    auto page = fetcher.Fetch(At(site_, path), nullptr);
    ASSERT_FALSE(page.ok()) << path;
    EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument) << path;
    EXPECT_NE(page.status().message().find("over 1 MiB"), std::string::npos) << page.status().message();
  }
}

TEST_F(FetcherTest, ADripSlowerThanTheLowSpeedLimitIsCut) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  auto page = fetcher.Fetch(At(site_, "/slow.html"), nullptr);  // 200 B/s for 20 s
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kTimeout) << page.status().ToString();
}

TEST_F(FetcherTest, AnyStatusIsAnAnswerAndAClosedPortIsUnavailable) {
  Fetcher fetcher = Allowing("127.0.0.1/32");
  auto gone = fetcher.Fetch(At(site_, "/gone.html"), nullptr);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404);
  const std::string closed = site_.base_url();
  site_.Stop();
  auto down = fetcher.Fetch(*ParseUrl(closed + "/"), nullptr);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().ToString();
}

}  // namespace
}  // namespace refinery::crawl

// The crawl stage end to end inside one process: the real embedded store
// and queue, the crawl worker's run loop, and the loopback test site
// (tests/support/test_site.h) with its robots.txt, redirects, charsets,
// oversized and slow pages, nofollow, canonical links and links three levels
// deep. Loopback is allowed explicitly (REFINERY_CRAWL_ALLOW).
#include <atomic>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/crawl_stage.h"
#include "pipeline/services.h"
#include "pipeline/worker.h"
#include "support/process_util.h"
#include "support/test_site.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using refinery::testing::MakeResponse;
using refinery::testing::TestSite;
using std::chrono::milliseconds;

class CrawlStageTest : public ::testing::Test {
 protected:
  CrawlStageTest() : other_("127.0.0.2") {
    AddCrawlTestPages(site_, other_.base_url());
    AddCrawlTestPages(other_, site_.base_url());
    config_.data_dir = dir_.path();
    config_.crawl.allow = "127.0.0.1/32";
    config_.crawl.host_interval_s = 0;
    config_.crawl.low_speed_time_s = 1;
    config_.crawl.max_bytes = 1 << 20;
    config_.crawl.timeout_s = 2;
    config_.retry_base_delay_s = 0.05;
    config_.retry_max_delay_s = 0.2;
    config_.max_attempts = 3;
    config_.worker_concurrency = 4;
  }
  void Open() {
    auto opened = OpenServices(config_, OpenMode::kServe);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    services_.emplace(std::move(opened).value());
  }
  // Crawls `path` of the site to its end with the crawl worker running.
  CrawlRecord Crawl(const std::string& path, int depth) {
    auto started = StartCrawl(*services_, CrawlRequest{site_.base_url() + path, depth, 0, "", {}});
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return {};
    std::atomic<bool> stop{false};
    std::thread worker([&] { Worker(*services_, CrawlStage()).Run(stop); });
    CrawlRecord crawl;
    const bool ended = testing::WaitUntil(
        [&] {
          auto got = services_->store->crawls().GetCrawl(started->start.crawl_id);
          if (got.ok()) crawl = *got;
          return got.ok() && (got->status == "completed" || got->status == "failed");
        },
        milliseconds(120000));  // hang detection only
    stop = true;
    worker.join();
    EXPECT_TRUE(ended) << "crawl stuck in " << crawl.status;
    return crawl;
  }
  std::map<std::string, CrawlPage> PagesByPath(int64_t crawl_id) {
    std::map<std::string, CrawlPage> by_path;
    auto pages = services_->store->crawls().Pages(crawl_id);
    EXPECT_TRUE(pages.ok());
    for (const auto& page : *pages) {
      const std::string prefix = site_.base_url();
      by_path[page.url.rfind(prefix, 0) == 0 ? page.url.substr(prefix.size()) : page.url] = page;
    }
    return by_path;
  }

  testing::TempDir dir_;
  TestSite site_;
  TestSite other_;
  Config config_;
  std::optional<Services> services_;
};

TEST_F(CrawlStageTest, ACrawlFollowsTheSiteByEveryRule) {
  Open();
  const CrawlRecord crawl = Crawl("/", 3);
  EXPECT_EQ(crawl.status, "completed") << crawl.error_message;
  auto pages = PagesByPath(crawl.id);
  auto status = [&](const std::string& path) { return pages.count(path) ? pages[path].status : "absent"; };
  auto error = [&](const std::string& path) { return pages.count(path) ? pages[path].error_message : ""; };
  EXPECT_EQ(status("/"), "completed");
  EXPECT_EQ(pages["/"].depth, 0);
  EXPECT_EQ(status("/a.html"), "completed");
  EXPECT_EQ(pages["/a.html"].depth, 1);
  EXPECT_EQ(pages["/deep/level2.html"].depth, 2);
  EXPECT_EQ(status("/deep/level3.html"), "completed");
  EXPECT_EQ(status("/deep/level4.html"), "absent") << "followed past max_depth 3";
  EXPECT_EQ(status("/private/secret.html"), "skipped");
  EXPECT_EQ(site_.CountRequests("/private/secret.html"), 0) << "fetched a page robots.txt disallows";
  EXPECT_EQ(status("/redirect/1"), "completed");
  EXPECT_EQ(status("/loop/1"), "failed");
  EXPECT_NE(error("/loop/1").find("redirect loop"), std::string::npos);
  EXPECT_EQ(status("/to-refused"), "failed");
  EXPECT_NE(error("/to-refused").find("127.0.0.2"), std::string::npos) << error("/to-refused");
  EXPECT_TRUE(other_.Requests().empty()) << "contacted a refused address or another site";
  EXPECT_EQ(status("/big.html"), "failed");
  EXPECT_NE(error("/big.html").find("over 1 MiB"), std::string::npos) << error("/big.html");
  EXPECT_EQ(status("/slow.html"), "failed") << error("/slow.html");
  EXPECT_EQ(site_.CountRequests("/slow.html"), 2) << "a timeout is retried once, not more";
  EXPECT_EQ(status("/image.png"), "failed");
  EXPECT_NE(error("/image.png").find("unsupported content type 'image/png'"), std::string::npos);
  EXPECT_EQ(status("/nofollow.html"), "completed");
  EXPECT_EQ(status("/nf-target1.html"), "absent") << "followed a link of a nofollow page";
  EXPECT_EQ(status("/sub/page.html"), "completed") << "<base href> not honoured";
  EXPECT_EQ(pages["/canonical-dup.html"].canonical_url, site_.base_url() + "/a.html");
  EXPECT_TRUE(pages["/canonical-dup.html"].document_id.has_value()) << "a page whose canonical points elsewhere is kept";
  // Each normalised URL at most once (./a.html#frag is /a.html).
  for (const auto& [path, page] : pages) {
    if (page.status == "completed") {
      EXPECT_EQ(site_.CountRequests(path), 1) << path;
    }
  }
  EXPECT_EQ(site_.CountRequests("/robots.txt"), 1) << "robots.txt is cached in the store";
}

TEST_F(CrawlStageTest, APageBecomesADocumentWithItsTextTitleAndMetadata) {
  Open();
  const CrawlRecord crawl = Crawl("/latin1.html", 0);
  ASSERT_EQ(crawl.status, "completed") << crawl.error_message;
  auto pages = PagesByPath(crawl.id);
  ASSERT_TRUE(pages["/latin1.html"].document_id.has_value());
  auto doc = services_->store->documents().Get(*pages["/latin1.html"].document_id);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->state, "chunking") << "a page enters the chain at chunk";
  EXPECT_EQ(doc->source_url, site_.base_url() + "/latin1.html");
  EXPECT_EQ(doc->mime_type, "text/html");
  auto metadata = nlohmann::json::parse(doc->metadata_json);
  EXPECT_EQ(metadata["crawl_id"], crawl.id);
  EXPECT_EQ(metadata["charset"], "windows-1252") << "ISO-8859-1 is decoded as windows-1252, as browsers do";
  EXPECT_EQ(services_->queue->Depth("chunk")->ready, 1);
  auto blob = services_->blobs->Get(doc->blob_key);
  ASSERT_TRUE(blob.ok());
  EXPECT_NE(blob->find("caf\xC3\xA9 cr\xC3\xA8me"), std::string::npos) << "not converted to UTF-8: " << *blob;
}

TEST_F(CrawlStageTest, ServerErrorsAndRateLimitsAreRetriedWithinTheAttempts) {
  Open();
  for (const char* path : {"/flaky.html", "/ratelimited.html"}) {
    const CrawlRecord crawl = Crawl(path, 0);
    EXPECT_EQ(crawl.status, "completed") << path << ": " << crawl.error_message;
    EXPECT_EQ(site_.CountRequests(path), 2) << path;
  }
  auto requests = site_.Requests();
  std::vector<std::chrono::steady_clock::time_point> limited;
  for (const auto& r : requests) {
    if (r.target == "/ratelimited.html") limited.push_back(r.received);
  }
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_GE(limited[1] - limited[0], milliseconds(900)) << "Retry-After: 1 not honoured";
  site_.Set("/always-503.html", MakeResponse(503, "busy"));
  const CrawlRecord busy = Crawl("/always-503.html", 0);
  EXPECT_EQ(busy.status, "failed");
  EXPECT_NE(busy.error_message.find("gave up after 3 attempts: HTTP 503"), std::string::npos) << busy.error_message;
}

TEST_F(CrawlStageTest, TheCrawlDelayOfRobotsTxtSpacesTheFetches) {
  config_.crawl.host_interval_s = 0;  // robots.txt asks for 0.1 s
  Open();
  const CrawlRecord crawl = Crawl("/", 1);
  ASSERT_EQ(crawl.status, "completed");
  std::vector<std::chrono::steady_clock::time_point> times;
  for (const auto& r : site_.Requests()) {
    if (r.target != "/robots.txt") times.push_back(r.received);
  }
  ASSERT_GT(times.size(), 5u);
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1], milliseconds(95)) << "fetch " << i << " came too soon";
  }
}

TEST_F(CrawlStageTest, TheDefaultPolicyRefusesALoopbackCrawl) {
  config_.crawl.allow = "";
  Open();
  auto started = StartCrawl(*services_, CrawlRequest{site_.base_url() + "/", 1, 0, "", {}});
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(started.status().message().find("loopback"), std::string::npos) << started.status().message();
  EXPECT_FALSE(StartCrawl(*services_, CrawlRequest{"ftp://example.org/", 1, 0, "", {}}).ok());
  EXPECT_FALSE(StartCrawl(*services_, CrawlRequest{"http://169.254.169.254/latest/meta-data/", 1, 0, "", {}}).ok());
  EXPECT_TRUE(site_.Requests().empty());
}

TEST_F(CrawlStageTest, RepostingAFinishedCrawlFetchesItAgain) {
  Open();
  ASSERT_EQ(Crawl("/c.html", 0).status, "completed");
  const CrawlRecord again = Crawl("/c.html", 0);
  EXPECT_EQ(again.status, "completed");
  EXPECT_EQ(site_.CountRequests("/c.html"), 2);
  auto pages = PagesByPath(again.id);
  EXPECT_EQ(pages.size(), 1u);
  EXPECT_TRUE(pages["/c.html"].document_id.has_value()) << "identical text links the existing document";
}

}  // namespace
}  // namespace refinery

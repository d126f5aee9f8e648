// The crawler as users run it: `refinery up` with its crawl workers, POST
// /crawl and `refinery crawl --wait` against the loopback test site
// (tests/support/test_site.h), politeness across two crawl worker
// processes, a crawl worker killed with SIGKILL mid-fetch, and the default
// policy refusing loopback.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_site.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The settings every crawl here runs with: loopback allowed, short
// timeouts and retries, a quick reconciler.
std::map<std::string, std::string> CrawlEnv(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env = {{"REFINERY_CRAWL_ALLOW", "127.0.0.1/32"},
                                            {"REFINERY_CRAWL_LOW_SPEED_TIME_S", "1"},
                                            {"REFINERY_CRAWL_TIMEOUT_S", "3"},
                                            {"REFINERY_CRAWL_MAX_REDIRECTS", "3"},
                                            {"REFINERY_RETRY_BASE_DELAY_S", "0.1"},
                                            {"REFINERY_RETRY_MAX_DELAY_S", "0.5"},
                                            {"REFINERY_VISIBILITY_TIMEOUT_S", "3"},
                                            {"REFINERY_STAGE_TIMEOUT_S", "5"},
                                            {"REFINERY_RECONCILE_INTERVAL_S", "1"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

json WaitForCrawlEnd(const RefineryUp& up, int64_t id) {
  json crawl;
  const bool ended = WaitUntil(
      [&] {
        crawl = up.Get("/crawl/" + std::to_string(id));
        return crawl.value("status", "") == "completed" || crawl.value("status", "") == "failed";
      },
      seconds(180), milliseconds(200));
  EXPECT_TRUE(ended) << crawl.dump(2) << "\n" << up.Log();
  return crawl;
}

// Every page once, each completed page with a document.
void ExpectEachPageOnce(const json& crawl) {
  std::set<std::string> urls;
  for (const json& page : crawl.at("pages_list")) {
    EXPECT_TRUE(urls.insert(page.at("url").get<std::string>()).second) << "page twice: " << page.dump();
    if (page.at("status") == "completed") {
      EXPECT_FALSE(page.at("document_id").is_null()) << page.dump();
    }
    EXPECT_TRUE(page.at("status") == "completed" || page.at("status") == "failed" || page.at("status") == "skipped")
        << page.dump();
  }
}

TEST(CrawlEndToEnd, TwoCrawlWorkersShareTheCrawlPolitelyAndItsPagesComplete) {
  TempDir dir;
  TestSite site;
  AddCrawlTestPages(site, "http://127.0.0.2:9");
  const std::string toml = dir.path() + "/refinery.toml";
  std::ofstream(toml) << "[services.worker-crawl]\nreplicas = 2\n";
  RefineryUp up(dir.path(), CrawlEnv({{"REFINERY_CONFIG", toml}}));
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  long status = 0;
  json queued = up.Post("/crawl", {{"url", site.base_url() + "/"}, {"max_depth", 2}}, &status);
  ASSERT_EQ(status, 200) << queued.dump();
  EXPECT_EQ(queued.at("status"), "queued");
  EXPECT_EQ(queued.at("url"), site.base_url() + "/");
  const int64_t id = queued.at("crawl_id").get<int64_t>();
  const json crawl = WaitForCrawlEnd(up, id);
  EXPECT_EQ(crawl.at("status"), "completed") << crawl.dump(2);
  ExpectEachPageOnce(crawl);
  EXPECT_GT(crawl.at("pages").at("completed").get<int>(), 10) << crawl.dump(2);
  // robots.txt's Crawl-delay of 0.1 s holds across both processes.
  std::vector<std::chrono::steady_clock::time_point> times;
  for (const auto& r : site.Requests()) {
    if (r.target != "/robots.txt") times.push_back(r.received);
  }
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1], milliseconds(95)) << "fetch " << i << " came too soon";
  }
  const json listed = up.Get("/crawl?status=completed");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("id"), id);
  // The pages' documents go through the whole chain.
  const int completed = crawl.at("pages").at("completed").get<int>();
  EXPECT_TRUE(WaitUntil([&] { return up.Get("/stats").at("documents_by_stage").value("complete", 0) >= completed - 1; },
                        seconds(120), milliseconds(250)))
      << up.Get("/stats").dump(2);
  json bad = up.Post("/crawl", {{"url", "ftp://example.org/"}}, &status);
  EXPECT_EQ(status, 400) << bad.dump();
  bad = up.Post("/crawl", {{"url", site.base_url()}, {"max_depth", 9}}, &status);
  EXPECT_EQ(status, 400) << bad.dump();
}

TEST(CrawlEndToEnd, ACrawlWorkerKilledMidFetchLeavesEveryPageDoneOnce) {
  TempDir dir;
  TestSite site;
  AddCrawlTestPages(site, "http://127.0.0.2:9");
  SiteResponse slow = MakeResponse(200, "<html><head><title>Slow</title></head><body><p>" + std::string(300, 'w') +
                                            " a page that takes its time to answer.</p></body></html>");
  slow.delay_s = 2;
  site.Set("/c.html", slow);  // linked from /relnofollow.html and /noindex.html
  RefineryUp up(dir.path(), CrawlEnv());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  CliRun run;
  TempDir scratch;  // its own output file: up.ServicePid runs the CLI meanwhile
  // Joined however the test ends; --timeout bounds it if the crawl hangs.
  std::jthread cli([&] {
    run = RunRefinery(scratch.path(),
                      {"--data-dir", dir.path(), "crawl", site.base_url() + "/relnofollow.html", "--depth", "1",
                       "--wait", "--timeout", "120"},
                      CrawlEnv());
  });
  // The worker holds /c.html's job while the site delays the answer: kill it then.
  ASSERT_TRUE(site.WaitForRequests("/c.html", 1, 60)) << up.Log();
  const pid_t worker = up.ServicePid("worker-crawl");
  ASSERT_GT(worker, 0);
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  cli.join();
  EXPECT_EQ(run.code, 0) << run.output << up.Log();
  EXPECT_NE(run.output.find("completed"), std::string::npos) << run.output;
  EXPECT_GE(site.CountRequests("/c.html"), 2) << "the killed fetch was not redone";
  const json crawls = up.Get("/crawl");
  ASSERT_EQ(crawls.size(), 1u);
  const json crawl = up.Get("/crawl/" + std::to_string(crawls[0].at("id").get<int64_t>()));
  EXPECT_EQ(crawl.at("status"), "completed") << crawl.dump(2);
  ExpectEachPageOnce(crawl);
  EXPECT_EQ(site.CountRequests("/nf-target2.html"), 0) << "followed a rel=nofollow link";
  EXPECT_NE(up.ServicePid("worker-crawl"), worker) << "the supervisor did not restart the crawl worker";
}

TEST(CrawlEndToEnd, TheDefaultRefusesToCrawlLoopback) {
  TempDir dir;
  TestSite site;
  CliRun run = RunRefinery(dir.path(), {"--data-dir", dir.path(), "crawl", site.base_url() + "/"});
  EXPECT_EQ(run.code, 2) << run.output;
  EXPECT_NE(run.output.find("loopback"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("REFINERY_CRAWL_ALLOW"), std::string::npos) << run.output;
  EXPECT_TRUE(site.Requests().empty());
}

}  // namespace
}  // namespace refinery::testing

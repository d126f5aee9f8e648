// Store conformance: crawls and their pages, per-host fetch slots and the
// robots.txt cache (issue 13). Every backend in StoreBackends() must pass.
#include <atomic>
#include <chrono>
#include <thread>

#include "store_backends.h"

namespace refinery {
namespace {

class CrawlConformance : public StoreConformance {
 protected:
  CrawlStore& crawls() { return store().crawls(); }

  CrawlStart Start(const std::string& url, int depth = 1, int max_pages = 1000) {
    auto start = crawls().StartCrawl(NewCrawl{url, depth, max_pages, "", ""});
    EXPECT_TRUE(start.ok()) << start.status().ToString();
    return start.ok() ? *start : CrawlStart{};
  }
  void Finish(int64_t page_id, const std::string& status, const std::string& error = "") {
    PageOutcome o;
    o.page_id = page_id;
    o.status = status;
    o.error_message = error;
    EXPECT_STORE_OK(crawls().FinishPage(o));
  }
  std::string CrawlStatus(int64_t id) {
    auto crawl = crawls().GetCrawl(id);
    return crawl.ok() ? crawl->status : crawl.status().ToString();
  }
};

TEST_P(CrawlConformance, AStartedCrawlHasItsStartPagePending) {
  const CrawlStart s = Start("http://example.org/", 2, 50);
  EXPECT_TRUE(s.restarted);
  auto crawl = crawls().GetCrawl(s.crawl_id);
  ASSERT_STORE_OK(crawl);
  EXPECT_EQ(crawl->url, "http://example.org/");
  EXPECT_EQ(crawl->status, "pending");
  EXPECT_EQ(crawl->max_depth, 2);
  EXPECT_EQ(crawl->max_pages, 50);
  EXPECT_EQ(crawl->pages, 1);
  EXPECT_FALSE(crawl->completed_at.has_value());
  auto pages = crawls().Pages(s.crawl_id);
  ASSERT_STORE_OK(pages);
  ASSERT_EQ(pages->size(), 1u);
  EXPECT_EQ((*pages)[0].id, s.root_page_id);
  EXPECT_EQ((*pages)[0].depth, 0);
  EXPECT_EQ((*pages)[0].status, "pending");
  EXPECT_STORE_CODE(crawls().GetCrawl(s.crawl_id + 1000), kNotFound);
  EXPECT_STORE_CODE(crawls().Pages(s.crawl_id + 1000), kNotFound);
}

TEST_P(CrawlConformance, BadArgumentsAreRejected) {
  EXPECT_STORE_CODE(crawls().StartCrawl(NewCrawl{"", 1, 10, "", ""}), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().StartCrawl(NewCrawl{"http://a/", 4, 10, "", ""}), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().StartCrawl(NewCrawl{"http://a/", -1, 10, "", ""}), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().StartCrawl(NewCrawl{"http://a/", 1, 0, "", ""}), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().StartCrawl(NewCrawl{std::string(9000, 'a'), 1, 10, "", ""}), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().ListCrawls("running", 10), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().ListCrawls("", 0), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().FinishPage(PageOutcome{1, "done", "", std::nullopt, ""}), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().AcquireHostSlot("", 1, 1, 10), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().AcquireHostSlot("h", -1, 1, 10), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().AcquireHostSlot("h", 1, 0, 10), kInvalidArgument);
  EXPECT_STORE_CODE(crawls().PutRobots(RobotsEntry{"", 200, "", 0, 0}), kInvalidArgument);
  auto listed = crawls().ListCrawls("", 10);
  ASSERT_STORE_OK(listed);
  EXPECT_TRUE(listed->empty()) << "a rejected crawl was stored";
}

TEST_P(CrawlConformance, AddPagesKeepsEachUrlOnceWithinTheCapAndReturnsThePendingOnes) {
  const CrawlStart s = Start("http://example.org/", 2, 4);
  auto added = crawls().AddPages(s.crawl_id, {"http://example.org/a", "http://example.org/b",
                                              "http://example.org/a", "http://example.org/"}, 1);
  ASSERT_STORE_OK(added);
  // The start page is still pending, so it is handed back too.
  EXPECT_EQ(added->size(), 3u);
  auto again = crawls().AddPages(s.crawl_id, {"http://example.org/b", "http://example.org/c",
                                              "http://example.org/d", "http://example.org/e"}, 2);
  ASSERT_STORE_OK(again);
  auto pages = crawls().Pages(s.crawl_id);
  ASSERT_STORE_OK(pages);
  ASSERT_EQ(pages->size(), 4u) << "max_pages 4 was exceeded";
  EXPECT_EQ((*pages)[1].url, "http://example.org/a");
  EXPECT_EQ((*pages)[1].depth, 1);
  EXPECT_EQ((*pages)[3].url, "http://example.org/c");
  EXPECT_EQ((*pages)[3].depth, 2);
  EXPECT_EQ(again->size(), 2u) << "b (known, pending) and c (new) are pending; d and e were dropped";
  EXPECT_STORE_CODE(crawls().AddPages(s.crawl_id + 1000, {"http://x/"}, 1), kNotFound);
  EXPECT_STORE_CODE(crawls().AddPages(s.crawl_id, {"http://x/"}, 9), kInvalidArgument);
}

TEST_P(CrawlConformance, AttemptsRetriesAndReleasesMoveThePage) {
  const CrawlStart s = Start("http://example.org/");
  auto attempt = crawls().StartPageAttempt(s.root_page_id, 3);
  ASSERT_STORE_OK(attempt);
  EXPECT_FALSE(attempt->gave_up);
  EXPECT_EQ(attempt->page.status, "fetching");
  EXPECT_EQ(attempt->page.attempts, 1);
  EXPECT_EQ(attempt->crawl.url, "http://example.org/");
  EXPECT_EQ(CrawlStatus(s.crawl_id), "crawling");
  // A politeness wait does not use up an attempt.
  ASSERT_STORE_OK(crawls().ReleasePageAttempt(s.root_page_id));
  auto page = crawls().Pages(s.crawl_id);
  EXPECT_EQ((*page)[0].status, "pending");
  EXPECT_EQ((*page)[0].attempts, 0);
  ASSERT_STORE_OK(crawls().StartPageAttempt(s.root_page_id, 3));
  ASSERT_STORE_OK(crawls().RecordPageRetry(s.root_page_id, "503 from the server"));
  ASSERT_STORE_OK(crawls().StartPageAttempt(s.root_page_id, 3));
  ASSERT_STORE_OK(crawls().StartPageAttempt(s.root_page_id, 3));  // after a crash: still fetching
  ASSERT_STORE_OK(crawls().RecordPageRetry(s.root_page_id, "timed out"));
  auto last = crawls().StartPageAttempt(s.root_page_id, 3);
  ASSERT_STORE_OK(last);
  EXPECT_TRUE(last->gave_up);
  EXPECT_EQ(last->page.status, "failed");
  EXPECT_NE(last->page.error_message.find("gave up after 3 attempts: timed out"), std::string::npos)
      << last->page.error_message;
  auto crawl = crawls().GetCrawl(s.crawl_id);
  EXPECT_EQ(crawl->status, "failed") << "its start page failed";
  EXPECT_NE(crawl->error_message.find("timed out"), std::string::npos);
  EXPECT_TRUE(crawl->completed_at.has_value());
  EXPECT_STORE_CODE(crawls().StartPageAttempt(s.root_page_id, 3), kConflict);
  EXPECT_STORE_CODE(crawls().StartPageAttempt(s.root_page_id + 1000, 3), kNotFound);
  EXPECT_STORE_CODE(crawls().RecordPageRetry(s.root_page_id + 1000, "x"), kNotFound);
}

TEST_P(CrawlConformance, ACrawlEndsWhenItsLastOpenPageEnds) {
  const CrawlStart s = Start("http://example.org/", 1);
  const int64_t doc = Insert("crawled page");
  ASSERT_STORE_OK(crawls().StartPageAttempt(s.root_page_id, 3));
  auto links = crawls().AddPages(s.crawl_id, {"http://example.org/a", "http://example.org/b"}, 1);
  ASSERT_STORE_OK(links);
  Finish(s.root_page_id, "completed");
  EXPECT_EQ(CrawlStatus(s.crawl_id), "crawling");
  ASSERT_EQ(links->size(), 2u);
  PageOutcome done{(*links)[0], "completed", "", doc, "http://example.org/canonical"};
  ASSERT_STORE_OK(crawls().FinishPage(done));
  ASSERT_STORE_OK(crawls().FinishPage(done));  // a re-delivered job: no change
  EXPECT_EQ(CrawlStatus(s.crawl_id), "crawling");
  Finish((*links)[1], "skipped", "disallowed by robots.txt");
  auto crawl = crawls().GetCrawl(s.crawl_id);
  ASSERT_STORE_OK(crawl);
  EXPECT_EQ(crawl->status, "completed") << "a skipped link does not fail the crawl";
  EXPECT_EQ(crawl->pages, 3);
  EXPECT_EQ(crawl->pages_completed, 2);
  EXPECT_EQ(crawl->pages_skipped, 1);
  auto pages = crawls().Pages(s.crawl_id);
  EXPECT_EQ((*pages)[1].document_id, doc);
  EXPECT_EQ((*pages)[1].canonical_url, "http://example.org/canonical");
  EXPECT_EQ((*pages)[2].error_message, "disallowed by robots.txt");
  // Deleting the document leaves the page, without its document.
  ASSERT_STORE_OK(store().documents().Delete(doc));
  pages = crawls().Pages(s.crawl_id);
  EXPECT_FALSE((*pages)[1].document_id.has_value());
}

TEST_P(CrawlConformance, RepostingAFinishedCrawlStartsItAgainAndAnActiveOneIsLeft) {
  const CrawlStart s = Start("http://example.org/", 1);
  const CrawlStart same = Start("http://example.org/", 3);
  EXPECT_FALSE(same.restarted);
  EXPECT_EQ(same.crawl_id, s.crawl_id);
  EXPECT_EQ(same.root_page_id, s.root_page_id);
  ASSERT_STORE_OK(crawls().AddPages(s.crawl_id, {"http://example.org/a"}, 1));
  auto pages = crawls().Pages(s.crawl_id);
  for (const auto& p : *pages) Finish(p.id, "completed");
  EXPECT_EQ(CrawlStatus(s.crawl_id), "completed");
  const CrawlStart again = Start("http://example.org/", 3);
  EXPECT_TRUE(again.restarted);
  EXPECT_EQ(again.crawl_id, s.crawl_id);
  auto crawl = crawls().GetCrawl(s.crawl_id);
  EXPECT_EQ(crawl->status, "pending");
  EXPECT_EQ(crawl->max_depth, 3);
  EXPECT_EQ(crawl->pages, 1);
  EXPECT_FALSE(crawl->completed_at.has_value());
  EXPECT_STORE_CODE(crawls().StartPageAttempt(s.root_page_id, 3), kNotFound) << "an old page's job finds nothing";
}

TEST_P(CrawlConformance, ListCrawlsIsNewestFirstAndFiltersByStatus) {
  const CrawlStart a = Start("http://a.example/");
  const CrawlStart b = Start("http://b.example/");
  const CrawlStart c = Start("http://c.example/");
  Finish(b.root_page_id, "completed");
  auto all = crawls().ListCrawls("", 50);
  ASSERT_STORE_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, c.crawl_id);
  EXPECT_EQ((*all)[2].id, a.crawl_id);
  EXPECT_EQ((*all)[1].pages_completed, 1);
  auto completed = crawls().ListCrawls("completed", 50);
  ASSERT_EQ(completed->size(), 1u);
  EXPECT_EQ((*completed)[0].id, b.crawl_id);
  auto limited = crawls().ListCrawls("pending", 1);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].id, c.crawl_id);
}

TEST_P(CrawlConformance, StalePagesAreTheOpenOnesUntouchedLongEnough) {
  const CrawlStart a = Start("http://a.example/");
  const CrawlStart b = Start("http://b.example/");
  Finish(b.root_page_id, "completed");
  auto none = crawls().StalePages(3600, 100);
  ASSERT_STORE_OK(none);
  EXPECT_TRUE(none->empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto stale = crawls().StalePages(0, 100);
  ASSERT_STORE_OK(stale);
  EXPECT_EQ(*stale, std::vector<int64_t>{a.root_page_id});
}

TEST_P(CrawlConformance, AHostSlotHoldsTheIntervalAndTheConcurrency) {
  auto first = crawls().AcquireHostSlot("example.org", 30, 1, 60);
  ASSERT_STORE_OK(first);
  ASSERT_TRUE(first->granted);
  EXPECT_FALSE(first->token.empty());
  auto busy = crawls().AcquireHostSlot("example.org", 30, 1, 60);
  ASSERT_STORE_OK(busy);
  EXPECT_FALSE(busy->granted);
  EXPECT_GT(busy->wait_s, 0);
  auto other = crawls().AcquireHostSlot("other.example", 30, 1, 60);
  EXPECT_TRUE(other->granted) << "hosts are independent";
  ASSERT_STORE_OK(crawls().ReleaseHostSlot("example.org", first->token, 30));
  auto early = crawls().AcquireHostSlot("example.org", 30, 1, 60);
  ASSERT_STORE_OK(early);
  EXPECT_FALSE(early->granted) << "the interval runs from the end of the last fetch";
  EXPECT_GT(early->wait_s, 25);
  EXPECT_LE(early->wait_s, 60) << "after the waiter before it";
  // Two at a time, no interval.
  auto x = crawls().AcquireHostSlot("pair.example", 0, 2, 60);
  auto y = crawls().AcquireHostSlot("pair.example", 0, 2, 60);
  auto z = crawls().AcquireHostSlot("pair.example", 0, 2, 60);
  EXPECT_TRUE(x->granted && y->granted);
  EXPECT_FALSE(z->granted);
}

TEST_P(CrawlConformance, WaitersGetTurnsOneIntervalApart) {
  ASSERT_TRUE(crawls().AcquireHostSlot("queue.example", 10, 1, 60)->granted);
  double previous = 0;
  for (int i = 1; i <= 4; ++i) {
    auto waiter = crawls().AcquireHostSlot("queue.example", 10, 1, 60);
    ASSERT_STORE_OK(waiter);
    EXPECT_FALSE(waiter->granted);
    EXPECT_NEAR(waiter->wait_s, 10.0 * i, 1.0) << "waiter " << i;
    EXPECT_GT(waiter->wait_s, previous);
    previous = waiter->wait_s;
  }
}

TEST_P(CrawlConformance, AHeldSlotExpiresWhenItsHolderDied) {
  auto held = crawls().AcquireHostSlot("dead.example", 0, 1, 0.2);
  ASSERT_TRUE(held.ok() && held->granted);
  EXPECT_FALSE(crawls().AcquireHostSlot("dead.example", 0, 1, 0.2)->granted);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(crawls().AcquireHostSlot("dead.example", 0, 1, 0.2)->granted);
}

TEST_P(CrawlConformance, ConcurrentCallersGetOneSlotAndEndTheCrawlOnce) {
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto slot = crawls().AcquireHostSlot("race.example", 10, 1, 60);
      if (slot.ok() && slot->granted) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1);

  const CrawlStart s = Start("http://race.example/");
  std::vector<std::string> urls;
  for (int i = 0; i < 6; ++i) urls.push_back("http://race.example/" + std::to_string(i));
  auto ids = crawls().AddPages(s.crawl_id, urls, 1);
  ASSERT_STORE_OK(ids);
  Finish(s.root_page_id, "completed");
  threads.clear();
  for (int64_t id : *ids) threads.emplace_back([&, id] { Finish(id, "completed"); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(CrawlStatus(s.crawl_id), "completed") << "the last of concurrent page ends must end the crawl";
}

TEST_P(CrawlConformance, RobotsEntriesRoundTripAndAreReplaced) {
  auto none = crawls().GetRobots("http://example.org");
  ASSERT_STORE_OK(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_STORE_OK(crawls().PutRobots(RobotsEntry{"http://example.org", 200, "User-agent: *\nDisallow: /x\n", 10, 20}));
  ASSERT_STORE_OK(crawls().PutRobots(RobotsEntry{"http://example.org", 404, "", 30, 40}));
  auto got = crawls().GetRobots("http://example.org");
  ASSERT_STORE_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->status, 404);
  EXPECT_EQ((*got)->fetched_at, 30);
  EXPECT_EQ((*got)->expires_at, 40);
  // Stray bytes of a hostile file are dropped, its rules kept.
  ASSERT_STORE_OK(crawls().PutRobots(
      RobotsEntry{"http://bad.example", 200, std::string("Disallow: /a\xff\xfe\0\n", 16) + "Allow: /b", 1, 2}));
  auto bad = crawls().GetRobots("http://bad.example");
  ASSERT_STORE_OK(bad);
  EXPECT_EQ((*bad)->body, "Disallow: /a\nAllow: /b");
}

INSTANTIATE_TEST_SUITE_P(Backends, CrawlConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

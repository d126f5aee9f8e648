// CrawlStore: crawls and their pages as rows (issue 13), and the state that
// makes crawling polite across every worker process and machine: per-host
// fetch slots (a minimum interval and a concurrency cap) and the robots.txt
// cache. A crawl is keyed by its normalised start URL; each page by
// (crawl, normalised URL), so a URL is fetched at most once per crawl however
// many pages link to it and however often a job is re-delivered.
//
// Page life: pending -> fetching (an attempt) -> completed | failed |
// skipped; an attempt that must wait (politeness, a 429) goes back to
// pending. A crawl is pending until its first attempt, crawling while any
// page is open (pending or fetching), then completed -- or failed when its
// start page failed.
//
// Public methods validate once, then call the backend's Do* method.
// Errors common to every method: Unavailable or Timeout while the database
// is down or busy. Thread-safety: any number of callers in any number of
// processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace refinery {

inline constexpr int kMaxCrawlDepth = 3;
inline constexpr int kMaxCrawlPages = 100000;
inline constexpr size_t kMaxCrawlUrlBytes = 8192;

struct NewCrawl {
  std::string url;  // normalised by the caller (crawl/url.h)
  int max_depth = 1;
  int max_pages = 1000;
  std::string path_prefix;  // "": any path of the site
  std::string extra_hosts;  // comma-separated hosts also in scope; "": none
};

struct CrawlRecord {
  int64_t id = 0;
  std::string url;
  std::string status;  // pending crawling completed failed
  int max_depth = 1;
  int max_pages = 1000;
  std::string path_prefix;
  std::string extra_hosts;
  std::string error_message;
  double created_at = 0;
  std::optional<double> completed_at;
  int64_t pages = 0;  // every page row, by status below
  int64_t pages_completed = 0;
  int64_t pages_failed = 0;
  int64_t pages_skipped = 0;
};

struct CrawlPage {
  int64_t id = 0;
  int64_t crawl_id = 0;
  std::string url;
  int depth = 0;
  std::string status;  // pending fetching completed failed skipped
  int attempts = 0;
  std::string error_message;
  std::optional<int64_t> document_id;  // the document its text became (or already was)
  std::string canonical_url;           // its rel=canonical, "" when none
  double updated_at = 0;
};

struct CrawlStart {
  int64_t crawl_id = 0;
  int64_t root_page_id = 0;
  // False: the crawl was already pending or crawling and is left as it is.
  bool restarted = true;
};

// One attempt at a page, as StartPageAttempt hands it over.
struct PageAttempt {
  CrawlPage page;    // status fetching, attempts counted
  CrawlRecord crawl;
  // True: the page had used up its attempts and is now failed (its last
  // error kept); there is nothing to fetch.
  bool gave_up = false;
};

// How a page ended.
struct PageOutcome {
  int64_t page_id = 0;
  std::string status;  // completed failed skipped
  std::string error_message;
  std::optional<int64_t> document_id;
  std::string canonical_url;
};

// A fetch slot for one host. Not granted: ask again after wait_s.
struct HostSlot {
  bool granted = false;
  std::string token;  // pass to ReleaseHostSlot
  double wait_s = 0;
};

// A robots.txt as fetched for one origin ("https://example.org").
struct RobotsEntry {
  std::string origin;
  int status = 0;     // HTTP status; 0 when unreachable
  std::string body;   // at most kMaxRobotsBytes
  double fetched_at = 0;
  double expires_at = 0;
};
inline constexpr size_t kMaxRobotsBytes = 512 * 1024;

class CrawlStore {
 public:
  virtual ~CrawlStore() = default;

  // Creates the crawl of `c.url` with its start page (depth 0) pending, or,
  // for a URL crawled before and now completed or failed, starts it again:
  // its settings replaced, its pages removed, a new start page. A crawl
  // still pending or crawling is returned as it is (restarted false).
  // InvalidArgument: empty or over-long URL, max_depth outside
  // 0..kMaxCrawlDepth, max_pages outside 1..kMaxCrawlPages.
  Result<CrawlStart> StartCrawl(const NewCrawl& c);
  // NotFound for an unknown id.
  Result<CrawlRecord> GetCrawl(int64_t id);
  // Newest first; `status` "" for every status. InvalidArgument: an
  // unknown status or a limit outside 1..1000.
  Result<std::vector<CrawlRecord>> ListCrawls(const std::string& status, int limit);
  // The crawl's pages in the order they were found. NotFound: no crawl.
  Result<std::vector<CrawlPage>> Pages(int64_t crawl_id);

  // Adds the pages of `urls` not yet in the crawl, at `depth`, while the
  // crawl has fewer than max_pages pages (the rest are dropped). Returns
  // the ids of every page of `urls` still pending, new or not, so a
  // re-delivered job enqueues any a crash left unqueued. NotFound: no crawl.
  Result<std::vector<int64_t>> AddPages(int64_t crawl_id, const std::vector<std::string>& urls, int depth);

  // Starts an attempt: the page (pending, or fetching after a crash) moves
  // to fetching with its attempts counted, the crawl to crawling. With
  // max_attempts already used, the page fails instead (gave_up). NotFound:
  // no such page (its crawl was restarted); Conflict: already finished.
  Result<PageAttempt> StartPageAttempt(int64_t page_id, int max_attempts);
  // The attempt never fetched (it had to wait for its host): back to
  // pending, the attempt not counted.
  Status ReleasePageAttempt(int64_t page_id);
  // The attempt failed in a way worth retrying (timeout, 429, 5xx): back to
  // pending with the error kept; the attempt stays counted.
  Status RecordPageRetry(int64_t page_id, const std::string& error);
  // Ends the page and, when no page of its crawl is open any more, the
  // crawl. InvalidArgument: a status other than completed, failed, skipped.
  Status FinishPage(const PageOutcome& outcome);
  // Open pages (pending or fetching) untouched for older_than_s, oldest
  // first: the reconciler re-enqueues those without a live job.
  Result<std::vector<int64_t>> StalePages(double older_than_s, int limit);

  // A fetch slot for `host`: granted when fewer than max_in_flight slots
  // are held and min_interval_s has passed since the last fetch began and
  // ended; a held slot expires after hold_s (its holder died).
  // InvalidArgument: empty host, negative or non-finite times,
  // max_in_flight < 1.
  Result<HostSlot> AcquireHostSlot(const std::string& host, double min_interval_s, int max_in_flight, double hold_s);
  // Frees the slot; the host's next fetch waits min_interval_s from now.
  Status ReleaseHostSlot(const std::string& host, const std::string& token, double min_interval_s);

  // The cached robots.txt of `origin`, expired or not; nullopt if none.
  Result<std::optional<RobotsEntry>> GetRobots(const std::string& origin);
  // InvalidArgument: empty origin, body over kMaxRobotsBytes.
  Status PutRobots(const RobotsEntry& entry);

 protected:
  virtual Result<CrawlStart> DoStartCrawl(const NewCrawl& c) = 0;
  virtual Result<CrawlRecord> DoGetCrawl(int64_t id) = 0;
  virtual Result<std::vector<CrawlRecord>> DoListCrawls(const std::string& status, int limit) = 0;
  virtual Result<std::vector<CrawlPage>> DoPages(int64_t crawl_id) = 0;
  virtual Result<std::vector<int64_t>> DoAddPages(int64_t crawl_id, const std::vector<std::string>& urls,
                                                  int depth) = 0;
  virtual Result<PageAttempt> DoStartPageAttempt(int64_t page_id, int max_attempts) = 0;
  virtual Status DoReleasePageAttempt(int64_t page_id) = 0;
  virtual Status DoRecordPageRetry(int64_t page_id, const std::string& error) = 0;
  virtual Status DoFinishPage(const PageOutcome& outcome) = 0;
  virtual Result<std::vector<int64_t>> DoStalePages(double older_than_s, int limit) = 0;
  virtual Result<HostSlot> DoAcquireHostSlot(const std::string& host, double min_interval_s, int max_in_flight,
                                             double hold_s) = 0;
  virtual Status DoReleaseHostSlot(const std::string& host, const std::string& token, double min_interval_s) = 0;
  virtual Result<std::optional<RobotsEntry>> DoGetRobots(const std::string& origin) = 0;
  virtual Status DoPutRobots(const RobotsEntry& entry) = 0;
};

}  // namespace refinery

// The crawl stage's job: one page, from its attempt to its outcome.
#include "pipeline/crawl_stage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <thread>

#include "core/backoff.h"
#include "crawl/page_content.h"
#include "crawl/robots_cache.h"
#include "pipeline/crawl_ingest.h"

namespace refinery {
namespace {

using crawl::Url;
using Kind = JobVerdict::Kind;

constexpr JobVerdict kDone{Kind::kDone, 0};
constexpr JobVerdict kDependencyDown{Kind::kDependencyDown, 0};
constexpr double kMaxRetryAfterS = 3600;

// Held fetch slot of one host, freed (with the interval then known) however
// the job ends.
class HostSlotHold {
 public:
  HostSlotHold(CrawlStore& store, std::string host, std::string token, double interval_s)
      : store_(store), host_(std::move(host)), token_(std::move(token)), interval_s_(interval_s) {}
  ~HostSlotHold() {
    Status freed = store_.ReleaseHostSlot(host_, token_, interval_s_);
    if (!freed.ok()) spdlog::warn("crawl: host slot of {} not freed (it expires): {}", host_, freed.ToString());
  }
  HostSlotHold(const HostSlotHold&) = delete;
  HostSlotHold& operator=(const HostSlotHold&) = delete;
  void raise_interval(double s) { interval_s_ = std::max(interval_s_, s); }
  double interval_s() const { return interval_s_; }

 private:
  CrawlStore& store_;
  std::string host_;
  std::string token_;
  double interval_s_;
};

// One page job in hand.
struct PageJob {
  Services& s;
  PageAttempt attempt;
  CrawlStore& crawls() { return s.store->crawls(); }
  int64_t id() const { return attempt.page.id; }

  JobVerdict Finish(const std::string& status, const std::string& error, std::optional<int64_t> document = {},
                    const std::string& canonical = "") {
    if (!error.empty()) spdlog::info("crawl page {} ({}): {}: {}", id(), attempt.page.url, status, error);
    Status s_ = crawls().FinishPage(PageOutcome{id(), status, error, document, canonical});
    if (s_.transient()) return kDependencyDown;  // the job comes back and finishes it then
    return kDone;
  }
  // A failure worth another attempt, after `delay_s` (0: the backoff).
  JobVerdict Retry(const std::string& why, double delay_s = 0) {
    if (delay_s <= 0) delay_s = JitteredBackoff({s.config.retry_base_delay_s, s.config.retry_max_delay_s},
                                                attempt.page.attempts);
    spdlog::warn("crawl page {} ({}): attempt {} failed, retrying in {:.1f} s: {}", id(), attempt.page.url,
                 attempt.page.attempts, delay_s, why);
    Status kept = crawls().RecordPageRetry(id(), why);
    if (kept.transient()) return kDependencyDown;
    return {Kind::kLater, delay_s};
  }
  // Nothing was fetched: the attempt is given back uncounted.
  JobVerdict Wait(double delay_s, Kind kind = Kind::kLater) {
    (void)crawls().ReleasePageAttempt(id());  // if this fails, one attempt is spent
    return {kind, delay_s};
  }
};

// Retry-After in seconds (the HTTP-date form falls back to the backoff).
double RetryAfterSeconds(const crawl::FetchedPage& page) {
  auto header = page.headers.find("retry-after");
  if (header == page.headers.end()) return 0;
  double seconds = 0;
  const std::string& v = header->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || seconds < 0) return 0;
  return std::min(std::max(seconds, 0.05), kMaxRetryAfterS);
}

// The Crawl-delay of the origin's cached robots.txt, 0 when unknown.
double CachedCrawlDelay(CrawlStore& store, const Url& url) {
  auto cached = store.GetRobots(crawl::Origin(url));
  if (!cached.ok() || !*cached || (*cached)->status < 200 || (*cached)->status >= 300) return 0;
  return crawl::RobotsRules::Parse((*cached)->body, crawl::kRobotsToken).crawl_delay_s();
}

// A redirect hop must be allowed by its own origin's robots.txt, and a hop
// to the same host waits its interval as any other fetch (the slot is held).
crawl::HopCheck RobotsHopCheck(crawl::RobotsCache& robots, const Url& first, const HostSlotHold& hold) {
  return [&robots, &first, &hold, hops = 0](const Url& hop) mutable -> Status {
    if (hops++ > 0 && hop.host == first.host) {
      std::this_thread::sleep_for(std::chrono::duration<double>(hold.interval_s()));
    }
    auto answer = robots.For(hop);
    if (!answer.ok()) return answer.status();
    if (answer->wait) return Status::Unavailable(answer->why);
    if (!answer->rules.Allowed(crawl::PathAndQuery(hop))) {
      return Status::InvalidArgument(crawl::ToString(hop) + " is disallowed by robots.txt");
    }
    return Status::Ok();
  };
}

// After the fetch: what the response means for the page.
JobVerdict OnFetched(PageJob& job, const Url& start, const crawl::FetchedPage& page) {
  const long status = page.status;
  if (status == 429) return job.Retry("HTTP 429 Too Many Requests", RetryAfterSeconds(page));
  if (status >= 500) return job.Retry("HTTP " + std::to_string(status), RetryAfterSeconds(page));
  if (status < 200 || status >= 300) return job.Finish("failed", "HTTP " + std::to_string(status));
  auto content = crawl::ExtractContent(page);
  if (!content.ok()) return job.Finish("failed", content.status().message());
  auto linked = FollowLinks(job.s, job.attempt, start, *content);
  if (!linked.ok()) return job.Wait(0, Kind::kDependencyDown);
  if (content->noindex) return job.Finish("skipped", "noindex: not stored (<meta name=\"robots\">)");
  if (content->text.size() < crawl::kMinPageTextChars) {
    return job.Finish("failed", "under " + std::to_string(crawl::kMinPageTextChars) + " characters of text");
  }
  auto document = IngestPage(job.s, job.attempt, page, *content);
  if (!document.ok()) {
    if (document.status().transient()) return job.Wait(0, Kind::kDependencyDown);
    return job.Finish("failed", document.status().message());
  }
  return job.Finish("completed", "", *document, content->canonical);
}

// Robots, politeness and the fetch itself, with a host slot held.
JobVerdict FetchPage(PageJob& job, const Url& url, const Url& start) {
  const auto& cfg = job.s.config.crawl;
  CrawlStore& store = job.crawls();
  const double interval = std::max(cfg.host_interval_s, CachedCrawlDelay(store, url));
  // A dead holder's slot frees after its longest possible use: robots.txt,
  // then the page and its redirects, an interval apart.
  const double hold_s = (2 + cfg.max_redirects) * cfg.timeout_s + cfg.max_redirects * interval + 5;
  auto slot = store.AcquireHostSlot(url.host, interval, cfg.host_concurrency, hold_s);
  if (!slot.ok()) return job.Wait(0, Kind::kDependencyDown);
  if (!slot->granted) return job.Wait(slot->wait_s);
  HostSlotHold hold(store, url.host, slot->token, interval);
  crawl::RobotsCache robots(store, *job.s.fetcher, cfg);
  auto answer = robots.For(url);
  if (!answer.ok()) return job.Wait(0, Kind::kDependencyDown);
  if (answer->wait) return job.Retry(answer->why);
  hold.raise_interval(answer->rules.crawl_delay_s());
  if (!answer->rules.Allowed(crawl::PathAndQuery(url))) return job.Finish("skipped", "disallowed by robots.txt");
  auto page = job.s.fetcher->Fetch(url, RobotsHopCheck(robots, url, hold));
  if (!page.ok()) {
    const Status& e = page.status();
    if (e.code() == StatusCode::kInvalidArgument) return job.Finish("failed", e.message());
    if (e.code() == StatusCode::kTimeout && job.attempt.page.attempts >= 2) {
      return job.Finish("failed", "timed out again: " + e.message());
    }
    return job.Retry(e.message());
  }
  return OnFetched(job, start, *page);
}

JobVerdict ProcessPage(Services& s, int64_t page_id) {
  auto attempt = s.store->crawls().StartPageAttempt(page_id, s.config.max_attempts);
  if (!attempt.ok()) {
    const StatusCode code = attempt.status().code();
    // Its crawl was restarted, or a duplicate job: nothing to do.
    if (code == StatusCode::kNotFound || code == StatusCode::kConflict) return kDone;
    spdlog::warn("crawl page {}: attempt not started: {}", page_id, attempt.status().ToString());
    return kDependencyDown;
  }
  if (attempt->gave_up) {
    spdlog::error("crawl page {} ({}): {}", page_id, attempt->page.url, attempt->page.error_message);
    return kDone;
  }
  PageJob job{s, std::move(attempt).value()};
  auto url = crawl::ParseUrl(job.attempt.page.url);
  if (!url.ok()) return job.Finish("failed", url.status().message());
  auto start = crawl::ParseUrl(job.attempt.crawl.url);
  if (!start.ok()) return job.Finish("failed", "the crawl's start URL: " + start.status().message());
  return FetchPage(job, *url, *start);
}

// Open pages left without a job (a queue wiped, a crash between the store
// and the queue) are enqueued again.
Result<int> ReconcilePages(Services& s, double) {
  auto stale = s.store->crawls().StalePages(s.config.stage_timeout_s, 1000);
  if (!stale.ok()) return stale.status();
  int requeued = 0;
  for (int64_t id : *stale) {
    auto live = s.queue->HasLiveJob("crawl", id);
    if (!live.ok()) return live.status();
    if (*live) continue;
    REFINERY_RETURN_IF_ERROR(s.queue->Enqueue("crawl", id));
    spdlog::info("crawl page {}: re-enqueued by the reconciler", id);
    ++requeued;
  }
  return requeued;
}

}  // namespace

const StageDef& CrawlStage() {
  static const StageDef kCrawl = {"crawl", "", "", "chunk", nullptr, ProcessPage, ReconcilePages};
  return kCrawl;
}

const std::vector<StageDef>& WorkerStages() {
  static const std::vector<StageDef> kStages = [] {
    std::vector<StageDef> stages = {CrawlStage()};
    for (const auto& stage : StageChain()) stages.push_back(stage);
    return stages;
  }();
  return kStages;
}

const StageDef* FindWorkerStage(const std::string& name) {
  for (const auto& stage : WorkerStages()) {
    if (stage.name == name) return &stage;
  }
  return nullptr;
}

}  // namespace refinery

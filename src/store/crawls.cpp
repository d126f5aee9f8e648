// CrawlStore's shared front: the argument checks every backend relies on.
#include "store/crawls.h"

#include <cmath>

#include "core/utf8.h"

namespace refinery {
namespace {

Status CheckUrl(const std::string& url, const char* what) {
  if (url.empty() || url.size() > kMaxCrawlUrlBytes) {
    return Status::InvalidArgument(std::string(what) + ": a URL must be 1.." + std::to_string(kMaxCrawlUrlBytes) +
                                   " bytes");
  }
  return Status::Ok();
}

bool FiniteNonNegative(double v) { return std::isfinite(v) && v >= 0; }

}  // namespace

Result<CrawlStart> CrawlStore::StartCrawl(const NewCrawl& c) {
  REFINERY_RETURN_IF_ERROR(CheckUrl(c.url, "crawl"));
  if (c.max_depth < 0 || c.max_depth > kMaxCrawlDepth) {
    return Status::InvalidArgument("crawl: max_depth must be 0.." + std::to_string(kMaxCrawlDepth));
  }
  if (c.max_pages < 1 || c.max_pages > kMaxCrawlPages) {
    return Status::InvalidArgument("crawl: max_pages must be 1.." + std::to_string(kMaxCrawlPages));
  }
  if (c.path_prefix.size() > kMaxCrawlUrlBytes || c.extra_hosts.size() > kMaxCrawlUrlBytes) {
    return Status::InvalidArgument("crawl: path_prefix and hosts must be at most 8192 bytes");
  }
  return DoStartCrawl(c);
}

Result<CrawlRecord> CrawlStore::GetCrawl(int64_t id) { return DoGetCrawl(id); }

Result<std::vector<CrawlRecord>> CrawlStore::ListCrawls(const std::string& status, int limit) {
  if (!status.empty() && status != "pending" && status != "crawling" && status != "completed" &&
      status != "failed") {
    return Status::InvalidArgument("crawl status must be one of pending, crawling, completed, failed");
  }
  if (limit < 1 || limit > 1000) return Status::InvalidArgument("limit must be 1..1000");
  return DoListCrawls(status, limit);
}

Result<std::vector<CrawlPage>> CrawlStore::Pages(int64_t crawl_id) { return DoPages(crawl_id); }

Result<std::vector<int64_t>> CrawlStore::AddPages(int64_t crawl_id, const std::vector<std::string>& urls, int depth) {
  for (const auto& url : urls) REFINERY_RETURN_IF_ERROR(CheckUrl(url, "crawl page"));
  if (depth < 0 || depth > kMaxCrawlDepth) {
    return Status::InvalidArgument("crawl page: depth must be 0.." + std::to_string(kMaxCrawlDepth));
  }
  return DoAddPages(crawl_id, urls, depth);
}

Result<PageAttempt> CrawlStore::StartPageAttempt(int64_t page_id, int max_attempts) {
  if (max_attempts < 1) return Status::InvalidArgument("crawl page: max_attempts must be at least 1");
  return DoStartPageAttempt(page_id, max_attempts);
}

Status CrawlStore::ReleasePageAttempt(int64_t page_id) { return DoReleasePageAttempt(page_id); }

Status CrawlStore::RecordPageRetry(int64_t page_id, const std::string& error) {
  return DoRecordPageRetry(page_id, error.substr(0, 2000));
}

Status CrawlStore::FinishPage(const PageOutcome& outcome) {
  if (outcome.status != "completed" && outcome.status != "failed" && outcome.status != "skipped") {
    return Status::InvalidArgument("crawl page: an outcome must be completed, failed or skipped");
  }
  if (outcome.canonical_url.size() > kMaxCrawlUrlBytes) {
    return Status::InvalidArgument("crawl page: the canonical URL is over 8192 bytes");
  }
  PageOutcome bounded = outcome;
  bounded.error_message = bounded.error_message.substr(0, 2000);
  return DoFinishPage(bounded);
}

Result<std::vector<int64_t>> CrawlStore::StalePages(double older_than_s, int limit) {
  if (!FiniteNonNegative(older_than_s)) return Status::InvalidArgument("stale pages: older_than_s must be >= 0");
  if (limit < 1 || limit > 10000) return Status::InvalidArgument("stale pages: limit must be 1..10000");
  return DoStalePages(older_than_s, limit);
}

Result<HostSlot> CrawlStore::AcquireHostSlot(const std::string& host, double min_interval_s, int max_in_flight,
                                             double hold_s) {
  if (host.empty() || host.size() > 300) return Status::InvalidArgument("host slot: a host must be 1..300 bytes");
  if (!FiniteNonNegative(min_interval_s) || !FiniteNonNegative(hold_s) || hold_s == 0) {
    return Status::InvalidArgument("host slot: the interval must be >= 0 and the hold time > 0 seconds");
  }
  if (max_in_flight < 1) return Status::InvalidArgument("host slot: max_in_flight must be at least 1");
  return DoAcquireHostSlot(host, min_interval_s, max_in_flight, hold_s);
}

Status CrawlStore::ReleaseHostSlot(const std::string& host, const std::string& token, double min_interval_s) {
  if (host.empty() || token.empty()) return Status::InvalidArgument("host slot: host and token are required");
  if (!FiniteNonNegative(min_interval_s)) return Status::InvalidArgument("host slot: the interval must be >= 0");
  return DoReleaseHostSlot(host, token, min_interval_s);
}

Result<std::optional<RobotsEntry>> CrawlStore::GetRobots(const std::string& origin) {
  if (origin.empty()) return Status::InvalidArgument("robots: an origin is required");
  return DoGetRobots(origin);
}

Status CrawlStore::PutRobots(const RobotsEntry& entry) {
  if (entry.origin.empty() || entry.origin.size() > kMaxCrawlUrlBytes) {
    return Status::InvalidArgument("robots: an origin must be 1..8192 bytes");
  }
  if (entry.body.size() > kMaxRobotsBytes) return Status::InvalidArgument("robots: a body over 512 KiB");
  if (IsValidUtf8(entry.body) && entry.body.find('\0') == std::string::npos) return DoPutRobots(entry);
  // Stored as text: a hostile file's stray bytes go (its rules are ASCII paths).
  RobotsEntry ascii = entry;
  std::erase_if(ascii.body, [](char c) { return c == '\0' || static_cast<unsigned char>(c) >= 0x80; });
  return DoPutRobots(ascii);
}

}  // namespace refinery

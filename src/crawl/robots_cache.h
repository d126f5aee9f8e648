// robots.txt per origin, through the store's cache (shared by every crawl
// worker, kept for CrawlConfig::robots_ttl_s) and fetched when missing or
// expired, with RFC 9309's reading of the fetch: 2xx is the file, 4xx means
// no rules, 5xx or an unreachable server means wait and ask again.
#pragma once

#include <string>

#include "core/config.h"
#include "core/status.h"
#include "crawl/fetcher.h"
#include "crawl/robots.h"
#include "crawl/url.h"
#include "store/crawls.h"

namespace refinery::crawl {

struct RobotsAnswer {
  RobotsRules rules = RobotsRules::AllowAll();
  // True: robots.txt could not be read (5xx, timeout, unreachable); fetch
  // nothing from the origin yet. `why` says what happened.
  bool wait = false;
  std::string why;
};

class RobotsCache {
 public:
  RobotsCache(CrawlStore& store, const Fetcher& fetcher, const CrawlConfig& config)
      : store_(store), fetcher_(fetcher), ttl_s_(config.robots_ttl_s) {}

  // The rules of url's origin. Errors: only the store's (Unavailable,
  // Timeout): a site's failure is an answer, never an error.
  Result<RobotsAnswer> For(const Url& url);

 private:
  Result<RobotsAnswer> FetchAndKeep(const Url& url);

  CrawlStore& store_;
  const Fetcher& fetcher_;
  double ttl_s_;
};

}  // namespace refinery::crawl

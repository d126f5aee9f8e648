// The crawl stage: the first of the chain, before `chunk`. A crawl is a row
// in the store (store/crawls.h) and each page of it a row; a job of the
// "crawl" queue is one page (its id), leased, retried, reconciled and
// surviving kill -9 like every other job. A page that yields text becomes a
// document entering the chain at `chunk` (identical text links to the
// document already stored); its in-scope links become pages of the crawl
// down to max_depth.
//
// What a site does wrong is the page's problem, never an outage: a timeout
// (retried once), 429 (after its Retry-After), 5xx and an unreachable host
// are page retries within config.max_attempts; a refused address, a
// redirect loop, an oversized body or an unsupported type fail the page with
// the reason. Only the store and the queue being down pause the worker.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "store/crawls.h"

namespace refinery {

struct CrawlRequest {
  std::string url;
  int max_depth = 1;
  int max_pages = 0;        // 0: config.crawl.max_pages
  std::string path_prefix;  // "": the whole site
  std::vector<std::string> hosts;  // further hosts in scope
};

struct CrawlStarted {
  CrawlStart start;
  std::string url;  // normalised
};

// Normalises and checks the URL (InvalidArgument: not an absolute http(s)
// URL, or a host the address policy refuses), starts the crawl in the store
// (a finished crawl of the same URL starts again) and enqueues its start page.
Result<CrawlStarted> StartCrawl(Services& services, const CrawlRequest& request);

// The stage `refinery worker crawl` runs (its `process` and `reconcile`).
const StageDef& CrawlStage();

}  // namespace refinery

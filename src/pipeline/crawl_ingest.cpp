#include "pipeline/crawl_ingest.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "pipeline/crawl_stage.h"
#include "pipeline/documents.h"

namespace refinery {

Status FollowLinks(Services& s, const PageAttempt& attempt, const crawl::Url& start,
                   const crawl::PageContent& content) {
  if (content.nofollow || attempt.page.depth >= attempt.crawl.max_depth) return Status::Ok();
  std::vector<std::string> urls;
  for (const auto& link : content.links) {
    if (crawl::InScope(link, start, attempt.crawl)) urls.push_back(crawl::ToString(link));
  }
  if (urls.empty()) return Status::Ok();
  auto pending = s.store->crawls().AddPages(attempt.crawl.id, urls, attempt.page.depth + 1);
  if (!pending.ok()) return pending.status();
  for (int64_t id : *pending) {
    Status queued = s.queue->Enqueue("crawl", id);
    if (!queued.ok()) spdlog::warn("crawl page {}: not enqueued (the reconciler will): {}", id, queued.ToString());
  }
  return Status::Ok();
}

Result<int64_t> IngestPage(Services& s, const PageAttempt& attempt, const crawl::FetchedPage& page,
                           const crawl::PageContent& content) {
  const std::string url = crawl::ToString(page.url);
  nlohmann::json metadata = {{"crawl_id", attempt.crawl.id}, {"url", url}, {"depth", attempt.page.depth}};
  if (!content.canonical.empty()) metadata["canonical_url"] = content.canonical;
  if (!content.language.empty()) metadata["language"] = content.language;
  if (!content.charset.empty()) metadata["charset"] = content.charset;
  if (!page.redirects.empty()) metadata["redirected_from"] = page.redirects;
  IngestRequest request;
  request.title = content.title.empty() ? url : content.title.substr(0, 1000);
  request.content = content.text;
  request.source_url = url;
  request.mime_type = content.mime_type;
  request.metadata_json = metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto outcome = IngestDocument(s, request);
  if (!outcome.ok()) return outcome.status();
  return outcome->id;
}

Result<CrawlStarted> StartCrawl(Services& s, const CrawlRequest& request) {
  auto url = crawl::ParseUrl(request.url);
  if (!url.ok()) return url.status();
  REFINERY_RETURN_IF_ERROR(s.fetcher->policy().CheckHost(url->host));
  NewCrawl crawl;
  crawl.url = crawl::ToString(*url);
  crawl.max_depth = request.max_depth;
  crawl.max_pages = request.max_pages > 0 ? request.max_pages : s.config.crawl.max_pages;
  crawl.path_prefix = request.path_prefix;
  for (const auto& host : request.hosts) crawl.extra_hosts += (crawl.extra_hosts.empty() ? "" : ",") + host;
  auto started = s.store->crawls().StartCrawl(crawl);
  if (!started.ok()) return started.status();
  // Enqueue is idempotent: a crawl already running keeps its one job.
  REFINERY_RETURN_IF_ERROR(s.queue->Enqueue("crawl", started->root_page_id));
  return CrawlStarted{*started, crawl.url};
}

}  // namespace refinery

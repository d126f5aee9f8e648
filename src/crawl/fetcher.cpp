#include "crawl/fetcher.h"

#include <algorithm>
#include <utility>

#include "core/http_client.h"
#include "core/version.h"

namespace refinery::crawl {
namespace {

bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string MiB(int64_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

}  // namespace

std::string DefaultUserAgent() {
  return std::string(kRobotsToken) + "/" + kVersion + " (+https://github.com/refinery/refinery)";
}

Fetcher::Fetcher(const CrawlConfig& config, AddressPolicy policy)
    : config_(config),
      policy_(std::move(policy)),
      user_agent_(config.user_agent.empty() ? DefaultUserAgent() : config.user_agent) {}

Result<FetchedPage> Fetcher::Fetch(const Url& start, const HopCheck& check,
                                   const std::map<std::string, std::string>& headers) const {
  Url url = start;
  std::vector<std::string> seen;
  for (int hop = 0;; ++hop) {
    const std::string text = ToString(url);
    if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
      return Status::InvalidArgument("redirect loop at " + text);
    }
    REFINERY_RETURN_IF_ERROR(policy_.CheckHost(url.host));
    if (check) REFINERY_RETURN_IF_ERROR(check(url));
    auto page = FetchOnce(url, headers);
    if (!page.ok()) return page.status();
    if (!IsRedirect(page->status)) {
      page->redirects = std::move(seen);
      return page;
    }
    seen.push_back(text);
    if (hop >= config_.max_redirects) {
      return Status::InvalidArgument("more than " + std::to_string(config_.max_redirects) + " redirects from " +
                                     ToString(start));
    }
    auto location = page->headers.find("location");
    if (location == page->headers.end() || location->second.empty()) {
      return Status::InvalidArgument("redirect " + std::to_string(page->status) + " from " + text +
                                     " without a Location");
    }
    auto next = ResolveUrl(url, location->second);
    if (!next.ok()) return Status::InvalidArgument("redirect from " + text + ": " + next.status().message());
    url = std::move(*next);
  }
}

Result<FetchedPage> Fetcher::FetchOnce(const Url& url, const std::map<std::string, std::string>& headers) const {
  HttpRequest request;
  request.url = ToString(url);
  request.headers = headers;
  request.headers["User-Agent"] = user_agent_;
  request.timeout_s = config_.timeout_s;
  request.connect_timeout_s = config_.connect_timeout_s;
  request.stall_timeout_s = config_.low_speed_time_s;
  request.stall_min_bytes_per_s = static_cast<long>(config_.low_speed_bytes_per_s);
  request.max_body_bytes = static_cast<size_t>(config_.max_bytes);
  request.decode_content = true;
  request.direct = true;
  const std::string host = url.host;
  request.check_address = [this, &host](const std::string& ip) { return policy_.CheckAddress(host, ip); };
  auto response = HttpCall(request);
  if (!response.ok()) return response.status();
  if (response->too_large) {
    return Status::InvalidArgument(request.url + ": the body is over " + MiB(config_.max_bytes) +
                                   " (REFINERY_CRAWL_MAX_BYTES)");
  }
  FetchedPage page;
  page.url = url;
  page.status = response->status;
  page.headers = std::move(response->headers);
  auto type = page.headers.find("content-type");
  if (type != page.headers.end()) page.content_type = type->second;
  page.body = std::move(response->body);
  return page;
}

}  // namespace refinery::crawl

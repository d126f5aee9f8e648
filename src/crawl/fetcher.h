// Fetcher: one page over HTTP(S) the way a polite, careful crawler fetches
// it -- the timeouts, low-speed cut, size cap and content decoding of
// CrawlConfig, redirects followed by hand (at most max_redirects, loops
// detected) so that every hop is checked twice: its URL against the
// AddressPolicy and the caller's HopCheck (robots.txt) before the request,
// and the address actually connected to at connect time.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "crawl/address_policy.h"
#include "crawl/url.h"

namespace refinery::crawl {

// "Refinery/0.1.0 (+https://github.com/refinery/refinery)": what sites see
// unless REFINERY_CRAWL_USER_AGENT says otherwise.
std::string DefaultUserAgent();
// The product token robots.txt groups are matched against.
inline constexpr const char* kRobotsToken = "Refinery";

struct FetchedPage {
  Url url;                 // the final URL, after redirects
  long status = 0;         // the final response's HTTP status
  std::string content_type;  // as sent, "" when none
  std::string body;        // decoded (gzip, deflate, br)
  std::map<std::string, std::string> headers;  // the final response's, lower-case names
  std::vector<std::string> redirects;  // the URLs redirected from, in order
};

// A hop about to be requested; non-OK stops the fetch with that status
// (robots.txt disallowing a redirect target).
using HopCheck = std::function<Status(const Url&)>;

class Fetcher {
 public:
  Fetcher(const CrawlConfig& config, AddressPolicy policy);

  // Any HTTP status is a FetchedPage (the caller decides on 404, 429, 5xx).
  // Errors: InvalidArgument for what no retry changes -- a refused host or
  // address, a redirect loop, more than max_redirects, a bad Location, a
  // body over max_bytes; Timeout for a connect, total or low-speed timeout;
  // Unavailable for a failed connection or DNS lookup.
  Result<FetchedPage> Fetch(const Url& url, const HopCheck& check,
                            const std::map<std::string, std::string>& headers = {}) const;
  const AddressPolicy& policy() const { return policy_; }

 private:
  Result<FetchedPage> FetchOnce(const Url& url, const std::map<std::string, std::string>& headers) const;

  CrawlConfig config_;
  AddressPolicy policy_;
  std::string user_agent_;
};

}  // namespace refinery::crawl

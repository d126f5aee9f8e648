// What the crawl stage keeps of a fetched page: its text as UTF-8, title,
// canonical URL, language, the robots meta flags and the links worth
// following (absolute, normalised, in the crawl's scope), plus the rule of
// which links are in scope. Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "crawl/charset.h"
#include "crawl/fetcher.h"
#include "crawl/url.h"
#include "store/crawls.h"

namespace refinery::crawl {

// The least text a page must yield to become a document.
inline constexpr size_t kMinPageTextChars = 50;

struct PageContent {
  ContentKind kind = ContentKind::kOther;
  std::string mime_type;  // "text/html", "text/plain", "text/markdown"
  std::string title;
  std::string text;
  std::string canonical;  // absolute and normalised; "" when none or unusable
  std::string language;
  std::string charset;    // what the bytes were decoded as
  bool noindex = false;   // <meta name="robots" content="noindex">: do not store
  bool nofollow = false;  // <meta name="robots" content="nofollow">: follow no link
  // Absolute, normalised http(s) links without rel="nofollow", each once, in
  // document order; not yet scoped (see InScope).
  std::vector<Url> links;
};

// InvalidArgument naming the reason for what is not a page Refinery reads:
// a content type other than HTML, XHTML, plain text and markdown (PDF
// included, until its extractor lands).
Result<PageContent> ExtractContent(const FetchedPage& page);

// Whether `link` belongs to the crawl started at `start`: the same site
// (crawl/url.h SameSite) or one of crawl.extra_hosts, and under
// crawl.path_prefix when one is set.
bool InScope(const Url& link, const Url& start, const CrawlRecord& crawl);

}  // namespace refinery::crawl

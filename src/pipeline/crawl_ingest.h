// The crawl stage's writes beyond the page row: the page's links as new
// pages of its crawl (and their jobs), and the page's text as a document.
// Private to the pipeline's crawl files.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "crawl/page_content.h"
#include "pipeline/services.h"
#include "store/crawls.h"

namespace refinery {

// Adds the page's in-scope links one level deeper, unless the page is at
// max_depth or says nofollow, and enqueues every one still pending (a
// re-delivered job re-enqueues what a crash left unqueued). Errors: the
// store's (an enqueue that fails is left to the reconciler).
Status FollowLinks(Services& services, const PageAttempt& attempt, const crawl::Url& start,
                   const crawl::PageContent& content);

// The document the page's text became (or already was: identical text).
// InvalidArgument: text the documents refuse; Unavailable: a dependency.
Result<int64_t> IngestPage(Services& services, const PageAttempt& attempt, const crawl::FetchedPage& page,
                           const crawl::PageContent& content);

}  // namespace refinery

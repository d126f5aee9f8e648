// What the CrawlStore backends share besides SQL: the host-slot decision,
// the messages and the rule that ends a crawl. Not for other modules.
#pragma once

#include <cstdint>
#include <string>

#include "store/crawls.h"

namespace refinery::crawl_common {

// The columns every page query selects, in this order (both backends).
#define REFINERY_CRAWL_PAGE_COLUMNS \
  "id, crawl_id, url, depth, status, attempts, error_message, document_id, canonical_url, updated_at"
// The crawl columns before the page counts.
#define REFINERY_CRAWL_COLUMNS \
  "c.id, c.url, c.status, c.max_depth, c.max_pages, c.path_prefix, c.extra_hosts, c.error_message," \
  " c.created_at, c.completed_at"

// The host's state as read inside the caller's transaction, expired slots
// already removed.
struct HostState {
  double now = 0;
  double next_fetch_at = 0;   // 0: never fetched
  int64_t in_flight = 0;      // held slots
  double earliest_expiry = 0;  // of the held slots, when in_flight > 0
  double reserved_until = 0;   // the latest turn handed to a waiter
};
// Granted (token left empty for the caller), or how long to wait. A waiter
// is given its own turn, one interval after the previous waiter's, and
// `*reserve` is set to it (the caller stores it as reserved_until): a
// thousand pages waiting for one host come back one at a time, not all at
// once at every interval.
HostSlot DecideHostSlot(const HostState& host, int max_in_flight, double min_interval_s, double* reserve);

std::string PageNotFound(int64_t page_id);
std::string CrawlNotFound(int64_t crawl_id);
// Conflict: the page already ended as `status`.
Status PageFinished(int64_t page_id, const std::string& status);
// The error a page keeps when its attempts ran out.
std::string GaveUpMessage(int attempts, const std::string& last_error);
// The status a crawl ends with, from its start page's status.
inline const char* EndStatusFor(const std::string& start_page_status) {
  return start_page_status == "failed" ? "failed" : "completed";
}

}  // namespace refinery::crawl_common

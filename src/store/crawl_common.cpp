#include "store/crawl_common.h"

#include <algorithm>

namespace refinery::crawl_common {

HostSlot DecideHostSlot(const HostState& host, int max_in_flight, double min_interval_s, double* reserve) {
  HostSlot slot;
  double wait = 0;
  // A full host is asked again soon: a slot is usually freed long before it expires.
  if (host.in_flight >= max_in_flight) wait = std::clamp(host.earliest_expiry - host.now, 0.05, 1.0);
  if (host.next_fetch_at > host.now) wait = std::max(wait, host.next_fetch_at - host.now);
  if (host.in_flight < max_in_flight && wait <= 0) {
    slot.granted = true;
    *reserve = host.reserved_until;
    return slot;
  }
  const double turn = std::max(host.now + wait, host.reserved_until + std::max(min_interval_s, 0.05));
  *reserve = turn;
  slot.wait_s = std::max(turn - host.now, 0.001);
  return slot;
}

std::string PageNotFound(int64_t page_id) { return "crawl page " + std::to_string(page_id) + " does not exist"; }

std::string CrawlNotFound(int64_t crawl_id) { return "crawl " + std::to_string(crawl_id) + " does not exist"; }

Status PageFinished(int64_t page_id, const std::string& status) {
  return Status::Conflict("crawl page " + std::to_string(page_id) + " is already " + status);
}

std::string GaveUpMessage(int attempts, const std::string& last_error) {
  return "gave up after " + std::to_string(attempts) + " attempts" + (last_error.empty() ? "" : ": " + last_error);
}

}  // namespace refinery::crawl_common

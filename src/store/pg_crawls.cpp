// PostgresStore's CrawlStore. Writes that decide from what they read lock
// the row they decide on (the crawl for page ends and the page cap, the host
// for its slots), so workers on every machine see one order.
#include <algorithm>

#include "core/clock.h"
#include "core/random.h"
#include "store/crawl_common.h"
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::Rows;
using pg::TxMode;
namespace cc = crawl_common;

namespace {

constexpr const char* kInsertCrawl =
    "INSERT INTO refinery.crawls (url, status, max_depth, max_pages, path_prefix, extra_hosts, created_at,"
    " updated_at) VALUES ($1, 'pending', $2, $3, $4, $5, $6, $6) ON CONFLICT (url) DO NOTHING RETURNING id";
constexpr const char* kLockCrawlByUrl = "SELECT id, status FROM refinery.crawls WHERE url = $1 FOR UPDATE";
constexpr const char* kLockCrawl = "SELECT max_pages FROM refinery.crawls WHERE id = $1 FOR UPDATE";
constexpr const char* kRestartCrawl =
    "UPDATE refinery.crawls SET status = 'pending', max_depth = $2, max_pages = $3, path_prefix = $4,"
    " extra_hosts = $5, error_message = '', updated_at = $6, completed_at = NULL WHERE id = $1";
constexpr const char* kDeletePages = "DELETE FROM refinery.crawl_pages WHERE crawl_id = $1";
constexpr const char* kInsertPage =
    "INSERT INTO refinery.crawl_pages (crawl_id, url, depth, updated_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (crawl_id, url) DO NOTHING";
constexpr const char* kFirstPage = "SELECT MIN(id) FROM refinery.crawl_pages WHERE crawl_id = $1";
#define REFINERY_PG_PAGE_COUNTS                                                                  \
  ", COUNT(p.id), COUNT(p.id) FILTER (WHERE p.status = 'completed'),"                            \
  " COUNT(p.id) FILTER (WHERE p.status = 'failed'), COUNT(p.id) FILTER (WHERE p.status = 'skipped')"
constexpr const char* kCrawlWithCounts =
    "SELECT " REFINERY_CRAWL_COLUMNS REFINERY_PG_PAGE_COUNTS
    " FROM refinery.crawls c LEFT JOIN refinery.crawl_pages p ON p.crawl_id = c.id WHERE c.id = $1 GROUP BY c.id";
constexpr const char* kListCrawls =
    "SELECT " REFINERY_CRAWL_COLUMNS REFINERY_PG_PAGE_COUNTS
    " FROM (SELECT * FROM refinery.crawls WHERE $1 = '' OR status = $1 ORDER BY id DESC LIMIT $2) c"
    " LEFT JOIN refinery.crawl_pages p ON p.crawl_id = c.id"
    " GROUP BY c.id, c.url, c.status, c.max_depth, c.max_pages, c.path_prefix, c.extra_hosts, c.error_message,"
    " c.created_at, c.completed_at ORDER BY c.id DESC";
constexpr const char* kCrawlSettings = "SELECT " REFINERY_CRAWL_COLUMNS " FROM refinery.crawls c WHERE c.id = $1";
constexpr const char* kCrawlExists = "SELECT 1 FROM refinery.crawls WHERE id = $1";
constexpr const char* kCrawlPages =
    "SELECT " REFINERY_CRAWL_PAGE_COLUMNS " FROM refinery.crawl_pages WHERE crawl_id = $1 ORDER BY id";
constexpr const char* kPage = "SELECT " REFINERY_CRAWL_PAGE_COLUMNS " FROM refinery.crawl_pages WHERE id = $1";
constexpr const char* kPageCount = "SELECT COUNT(*) FROM refinery.crawl_pages WHERE crawl_id = $1";
constexpr const char* kPendingPages =
    "SELECT id FROM refinery.crawl_pages WHERE crawl_id = $1 AND url = $2 AND status = 'pending'";
constexpr const char* kStartAttempt =
    "UPDATE refinery.crawl_pages SET status = 'fetching', attempts = attempts + 1, updated_at = $2 WHERE id = $1";
constexpr const char* kCrawlCrawling =
    "UPDATE refinery.crawls SET status = 'crawling', updated_at = $2 WHERE id = $1 AND status = 'pending'";
constexpr const char* kReleaseAttempt =
    "UPDATE refinery.crawl_pages SET status = 'pending', attempts = GREATEST(attempts - 1, 0), updated_at = $2"
    " WHERE id = $1 AND status = 'fetching'";
constexpr const char* kRetryPage =
    "UPDATE refinery.crawl_pages SET status = 'pending', error_message = $2, updated_at = $3"
    " WHERE id = $1 AND status IN ('pending', 'fetching')";
constexpr const char* kFinishPage =
    "UPDATE refinery.crawl_pages SET status = $2, error_message = $3, document_id = $4, canonical_url = $5,"
    " updated_at = $6 WHERE id = $1 AND status IN ('pending', 'fetching')";
constexpr const char* kOpenPages =
    "SELECT COUNT(*) FROM refinery.crawl_pages WHERE crawl_id = $1 AND status IN ('pending', 'fetching')";
constexpr const char* kEndCrawl =
    "UPDATE refinery.crawls SET status = $2, error_message = $3, completed_at = $4, updated_at = $4"
    " WHERE id = $1 AND status IN ('pending', 'crawling')";
constexpr const char* kStalePages =
    "SELECT id FROM refinery.crawl_pages WHERE status IN ('pending', 'fetching') AND updated_at < $1"
    " ORDER BY updated_at LIMIT $2";
constexpr const char* kLockHost =
    "INSERT INTO refinery.crawl_hosts (host, next_fetch_at) VALUES ($1, 0)"
    " ON CONFLICT (host) DO UPDATE SET host = EXCLUDED.host RETURNING next_fetch_at, reserved_until";
constexpr const char* kReserve = "UPDATE refinery.crawl_hosts SET reserved_until = $2 WHERE host = $1";
constexpr const char* kExpireSlots = "DELETE FROM refinery.crawl_host_slots WHERE host = $1 AND expires_at <= $2";
constexpr const char* kHeldSlots = "SELECT COUNT(*), MIN(expires_at) FROM refinery.crawl_host_slots WHERE host = $1";
constexpr const char* kTakeSlot =
    "INSERT INTO refinery.crawl_host_slots (host, token, expires_at) VALUES ($1, $2, $3)";
constexpr const char* kSetNextFetch =
    "INSERT INTO refinery.crawl_hosts (host, next_fetch_at) VALUES ($1, $2) ON CONFLICT (host)"
    " DO UPDATE SET next_fetch_at = GREATEST(refinery.crawl_hosts.next_fetch_at, EXCLUDED.next_fetch_at)";
constexpr const char* kFreeSlot = "DELETE FROM refinery.crawl_host_slots WHERE host = $1 AND token = $2";
constexpr const char* kGetRobots =
    "SELECT origin, status, body, fetched_at, expires_at FROM refinery.crawl_robots WHERE origin = $1";
constexpr const char* kPutRobots =
    "INSERT INTO refinery.crawl_robots (origin, status, body, fetched_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (origin) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body,"
    " fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at";

CrawlRecord ReadCrawl(const Rows& r, int i) {
  CrawlRecord c;
  c.id = r.Int(i, 0);
  c.url = r.Text(i, 1);
  c.status = r.Text(i, 2);
  c.max_depth = static_cast<int>(r.Int(i, 3));
  c.max_pages = static_cast<int>(r.Int(i, 4));
  c.path_prefix = r.Text(i, 5);
  c.extra_hosts = r.Text(i, 6);
  c.error_message = r.Text(i, 7);
  c.created_at = r.Real(i, 8);
  if (!r.IsNull(i, 9)) c.completed_at = r.Real(i, 9);
  return c;
}

CrawlRecord ReadCrawlWithCounts(const Rows& r, int i) {
  CrawlRecord c = ReadCrawl(r, i);
  c.pages = r.Int(i, 10);
  c.pages_completed = r.Int(i, 11);
  c.pages_failed = r.Int(i, 12);
  c.pages_skipped = r.Int(i, 13);
  return c;
}

CrawlPage ReadPage(const Rows& r, int i) {
  CrawlPage p;
  p.id = r.Int(i, 0);
  p.crawl_id = r.Int(i, 1);
  p.url = r.Text(i, 2);
  p.depth = static_cast<int>(r.Int(i, 3));
  p.status = r.Text(i, 4);
  p.attempts = static_cast<int>(r.Int(i, 5));
  p.error_message = r.Text(i, 6);
  if (!r.IsNull(i, 7)) p.document_id = r.Int(i, 7);
  p.canonical_url = r.Text(i, 8);
  p.updated_at = r.Real(i, 9);
  return p;
}

// The first value of the first row (0 when NULL or no row).
Result<int64_t> ScalarInt(Conn& c, const char* sql, const Params& params) {
  auto rows = c.Exec(sql, params);
  if (!rows.ok()) return rows.status();
  return rows->size() > 0 ? rows->Int(0, 0) : 0;
}

Result<std::optional<CrawlPage>> FindPage(Conn& c, int64_t page_id, bool lock) {
  auto rows = c.Exec(lock ? std::string(kPage) + " FOR UPDATE" : std::string(kPage), Params(page_id));
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return std::optional<CrawlPage>();
  return std::optional<CrawlPage>(ReadPage(*rows, 0));
}

// Locks the crawl row: page ends and the page cap of one crawl serialise.
Result<int64_t> LockCrawl(Conn& c, int64_t crawl_id) {
  auto max_pages = ScalarInt(c, kLockCrawl, Params(crawl_id));
  if (!max_pages.ok()) return max_pages.status();
  if (*max_pages == 0) return Status::NotFound(cc::CrawlNotFound(crawl_id));
  return *max_pages;
}

// Ends the crawl once none of its pages is open. The caller holds its lock.
Status MaybeEndCrawl(Conn& c, int64_t crawl_id, double now) {
  auto open = ScalarInt(c, kOpenPages, Params(crawl_id));
  if (!open.ok()) return open.status();
  if (*open > 0) return Status::Ok();
  auto first = ScalarInt(c, kFirstPage, Params(crawl_id));
  if (!first.ok()) return first.status();
  auto start = FindPage(c, *first, false);
  if (!start.ok()) return start.status();
  const std::string start_status = *start ? (*start)->status : "completed";
  const std::string error = start_status == "failed" ? (*start)->error_message : "";
  return c.Run(kEndCrawl, Params(crawl_id, cc::EndStatusFor(start_status), error, now));
}

// Locks the page and then its crawl; NotFound for no page.
Result<CrawlPage> LockPage(Conn& c, int64_t page_id) {
  auto page = FindPage(c, page_id, false);
  if (!page.ok()) return page.status();
  if (!*page) return Status::NotFound(cc::PageNotFound(page_id));
  auto crawl = LockCrawl(c, (*page)->crawl_id);
  if (!crawl.ok()) return crawl.status();
  auto locked = FindPage(c, page_id, true);  // re-read under the crawl lock
  if (!locked.ok()) return locked.status();
  if (!*locked) return Status::NotFound(cc::PageNotFound(page_id));
  return **locked;
}

class PgCrawls final : public CrawlStore {
 public:
  explicit PgCrawls(pg::Pool& pool) : pool_(pool) {}

 protected:
  Result<CrawlStart> DoStartCrawl(const NewCrawl& n) override {
    CrawlStart start;
    const double now = NowSeconds();
    Status s = pool_.Run("start crawl", TxMode::kWrite, [&](Conn& c) -> Status {
      start = CrawlStart{};
      auto inserted = c.Exec(kInsertCrawl, Params(n.url, n.max_depth, n.max_pages, n.path_prefix, n.extra_hosts, now));
      if (!inserted.ok()) return inserted.status();
      if (inserted->size() > 0) {
        start.crawl_id = inserted->Int(0, 0);
      } else {
        auto known = c.Exec(kLockCrawlByUrl, Params(n.url));
        if (!known.ok()) return known.status();
        if (known->size() == 0) return Status::Unavailable("crawl of " + n.url + " vanished while starting");
        start.crawl_id = known->Int(0, 0);
        const std::string status = known->Text(0, 1);
        if (status == "pending" || status == "crawling") {
          start.restarted = false;
        } else {
          REFINERY_RETURN_IF_ERROR(c.Run(
              kRestartCrawl, Params(start.crawl_id, n.max_depth, n.max_pages, n.path_prefix, n.extra_hosts, now)));
          REFINERY_RETURN_IF_ERROR(c.Run(kDeletePages, Params(start.crawl_id)));
        }
      }
      REFINERY_RETURN_IF_ERROR(c.Run(kInsertPage, Params(start.crawl_id, n.url, 0, now)));
      auto root = ScalarInt(c, kFirstPage, Params(start.crawl_id));
      if (!root.ok()) return root.status();
      start.root_page_id = *root;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return start;
  }

  Result<CrawlRecord> DoGetCrawl(int64_t id) override {
    std::optional<CrawlRecord> crawl;
    Status s = pool_.Run("get crawl", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kCrawlWithCounts, Params(id));
      if (!rows.ok()) return rows.status();
      crawl.reset();
      if (rows->size() > 0) crawl = ReadCrawlWithCounts(*rows, 0);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    if (!crawl) return Status::NotFound(cc::CrawlNotFound(id));
    return *crawl;
  }

  Result<std::vector<CrawlRecord>> DoListCrawls(const std::string& status, int limit) override {
    std::vector<CrawlRecord> crawls;
    Status s = pool_.Run("list crawls", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kListCrawls, Params(status, limit));
      if (!rows.ok()) return rows.status();
      crawls.clear();
      for (int i = 0; i < rows->size(); ++i) crawls.push_back(ReadCrawlWithCounts(*rows, i));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return crawls;
  }

  Result<std::vector<CrawlPage>> DoPages(int64_t crawl_id) override {
    std::vector<CrawlPage> pages;
    Status s = pool_.Run("list crawl pages", TxMode::kSnapshot, [&](Conn& c) -> Status {
      auto exists = c.Exec(kCrawlExists, Params(crawl_id));
      if (!exists.ok()) return exists.status();
      if (exists->size() == 0) return Status::NotFound(cc::CrawlNotFound(crawl_id));
      auto rows = c.Exec(kCrawlPages, Params(crawl_id));
      if (!rows.ok()) return rows.status();
      pages.clear();
      for (int i = 0; i < rows->size(); ++i) pages.push_back(ReadPage(*rows, i));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return pages;
  }

  Result<std::vector<int64_t>> DoAddPages(int64_t crawl_id, const std::vector<std::string>& urls,
                                          int depth) override {
    std::vector<int64_t> pending;
    const double now = NowSeconds();
    Status s = pool_.Run("add crawl pages", TxMode::kWrite, [&](Conn& c) -> Status {
      pending.clear();
      auto max_pages = LockCrawl(c, crawl_id);
      if (!max_pages.ok()) return max_pages.status();
      auto count = ScalarInt(c, kPageCount, Params(crawl_id));
      if (!count.ok()) return count.status();
      for (const auto& url : urls) {
        if (*count >= *max_pages) break;
        auto rows = c.Exec(kInsertPage, Params(crawl_id, url, depth, now));
        if (!rows.ok()) return rows.status();
        *count += rows->Affected();
      }
      for (const auto& url : urls) {
        auto id = ScalarInt(c, kPendingPages, Params(crawl_id, url));
        if (!id.ok()) return id.status();
        if (*id != 0 && std::find(pending.begin(), pending.end(), *id) == pending.end()) pending.push_back(*id);
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return pending;
  }

  Result<PageAttempt> DoStartPageAttempt(int64_t page_id, int max_attempts) override {
    PageAttempt attempt;
    const double now = NowSeconds();
    Status s = pool_.Run("start page attempt", TxMode::kWrite, [&](Conn& c) -> Status {
      attempt = PageAttempt{};
      auto page = LockPage(c, page_id);
      if (!page.ok()) return page.status();
      if (page->status != "pending" && page->status != "fetching") return cc::PageFinished(page_id, page->status);
      attempt.gave_up = page->attempts >= max_attempts;
      if (attempt.gave_up) {
        REFINERY_RETURN_IF_ERROR(c.Run(kFinishPage, Params(page_id, "failed",
                                                           cc::GaveUpMessage(page->attempts, page->error_message),
                                                           nullptr, "", now)));
        REFINERY_RETURN_IF_ERROR(MaybeEndCrawl(c, page->crawl_id, now));
      } else {
        REFINERY_RETURN_IF_ERROR(c.Run(kStartAttempt, Params(page_id, now)));
        REFINERY_RETURN_IF_ERROR(c.Run(kCrawlCrawling, Params(page->crawl_id, now)));
      }
      auto updated = FindPage(c, page_id, false);
      if (!updated.ok()) return updated.status();
      attempt.page = **updated;
      auto crawl = c.Exec(kCrawlSettings, Params(page->crawl_id));
      if (!crawl.ok()) return crawl.status();
      if (crawl->size() > 0) attempt.crawl = ReadCrawl(*crawl, 0);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return attempt;
  }

  Status DoReleasePageAttempt(int64_t page_id) override {
    const double now = NowSeconds();
    return ChangePage("release page attempt", page_id, kReleaseAttempt, Params(page_id, now));
  }

  Status DoRecordPageRetry(int64_t page_id, const std::string& error) override {
    const double now = NowSeconds();
    return ChangePage("record page retry", page_id, kRetryPage, Params(page_id, error, now));
  }

  Status DoFinishPage(const PageOutcome& o) override {
    const double now = NowSeconds();
    return pool_.Run("finish page", TxMode::kWrite, [&](Conn& c) -> Status {
      auto page = LockPage(c, o.page_id);
      if (!page.ok()) return page.status();
      // Finishing twice (a re-delivered job) changes nothing.
      REFINERY_RETURN_IF_ERROR(
          c.Run(kFinishPage, Params(o.page_id, o.status, o.error_message, o.document_id, o.canonical_url, now)));
      return MaybeEndCrawl(c, page->crawl_id, now);
    });
  }

  Result<std::vector<int64_t>> DoStalePages(double older_than_s, int limit) override {
    std::vector<int64_t> ids;
    const double before = NowSeconds() - older_than_s;
    Status s = pool_.Run("stale crawl pages", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kStalePages, Params(before, limit));
      if (!rows.ok()) return rows.status();
      ids = IdsOf(*rows);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return ids;
  }

  Result<HostSlot> DoAcquireHostSlot(const std::string& host, double min_interval_s, int max_in_flight,
                                     double hold_s) override {
    HostSlot slot;
    Status s = pool_.Run("acquire host slot", TxMode::kWrite, [&](Conn& c) -> Status {
      cc::HostState state;
      auto next = c.Exec(kLockHost, Params(host));  // locks the host's row
      if (!next.ok()) return next.status();
      state.next_fetch_at = next->Real(0, 0);
      state.reserved_until = next->Real(0, 1);
      state.now = NowSeconds();
      REFINERY_RETURN_IF_ERROR(c.Run(kExpireSlots, Params(host, state.now)));
      auto held = c.Exec(kHeldSlots, Params(host));
      if (!held.ok()) return held.status();
      state.in_flight = held->Int(0, 0);
      state.earliest_expiry = held->Real(0, 1);
      double reserve = 0;
      slot = cc::DecideHostSlot(state, max_in_flight, min_interval_s, &reserve);
      if (!slot.granted) return c.Run(kReserve, Params(host, reserve));
      slot.token = RandomHex(64);
      REFINERY_RETURN_IF_ERROR(c.Run(kTakeSlot, Params(host, slot.token, state.now + hold_s)));
      return c.Run(kSetNextFetch, Params(host, state.now + min_interval_s));
    });
    if (!s.ok()) return s;
    return slot;
  }

  Status DoReleaseHostSlot(const std::string& host, const std::string& token, double min_interval_s) override {
    return pool_.Run("release host slot", TxMode::kWrite, [&](Conn& c) -> Status {
      REFINERY_RETURN_IF_ERROR(c.Run(kFreeSlot, Params(host, token)));
      return c.Run(kSetNextFetch, Params(host, NowSeconds() + min_interval_s));
    });
  }

  Result<std::optional<RobotsEntry>> DoGetRobots(const std::string& origin) override {
    std::optional<RobotsEntry> entry;
    Status s = pool_.Run("get robots", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kGetRobots, Params(origin));
      if (!rows.ok()) return rows.status();
      entry.reset();
      if (rows->size() > 0) {
        entry = RobotsEntry{rows->Text(0, 0), static_cast<int>(rows->Int(0, 1)), rows->Text(0, 2),
                            rows->Real(0, 3), rows->Real(0, 4)};
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return entry;
  }

  Status DoPutRobots(const RobotsEntry& e) override {
    return pool_.Run("put robots", TxMode::kNone, [&](Conn& c) {
      return c.Run(kPutRobots, Params(e.origin, e.status, e.body, e.fetched_at, e.expires_at));
    });
  }

 private:
  // Runs `sql` on an open page: NotFound for no page, OK (nothing changed)
  // for a finished one.
  Status ChangePage(const char* what, int64_t page_id, const char* sql, const Params& params) {
    return pool_.Run(what, TxMode::kWrite, [&](Conn& c) -> Status {
      auto rows = c.Exec(sql, params);
      if (!rows.ok()) return rows.status();
      if (rows->Affected() > 0) return Status::Ok();
      auto page = FindPage(c, page_id, false);
      if (!page.ok()) return page.status();
      return *page ? Status::Ok() : Status::NotFound(cc::PageNotFound(page_id));
    });
  }

  pg::Pool& pool_;
};

}  // namespace

std::unique_ptr<CrawlStore> NewCrawls(pg::Pool& pool) { return std::make_unique<PgCrawls>(pool); }

}  // namespace refinery::postgres_store_internal

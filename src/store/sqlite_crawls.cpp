// SqliteStore's CrawlStore. Every write is one BEGIN IMMEDIATE transaction,
// so page and host-slot decisions are serialised across processes.
#include <algorithm>

#include "core/clock.h"
#include "core/random.h"
#include "store/crawl_common.h"
#include "store/sqlite_store_internal.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;
using sqlite::Statement;
namespace cc = crawl_common;

namespace {

constexpr const char* kFindCrawl = "SELECT id, status FROM crawls WHERE url = ?1";
constexpr const char* kInsertCrawl =
    "INSERT INTO crawls (url, status, max_depth, max_pages, path_prefix, extra_hosts, created_at, updated_at)"
    " VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?6)";
constexpr const char* kRestartCrawl =
    "UPDATE crawls SET status = 'pending', max_depth = ?2, max_pages = ?3, path_prefix = ?4, extra_hosts = ?5,"
    " error_message = '', updated_at = ?6, completed_at = NULL WHERE id = ?1";
constexpr const char* kDeletePages = "DELETE FROM crawl_pages WHERE crawl_id = ?1";
constexpr const char* kInsertPage =
    "INSERT INTO crawl_pages (crawl_id, url, depth, updated_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (crawl_id, url) DO NOTHING";
constexpr const char* kFirstPage = "SELECT MIN(id) FROM crawl_pages WHERE crawl_id = ?1";
constexpr const char* kCrawlWithCounts =
    "SELECT " REFINERY_CRAWL_COLUMNS ", COUNT(p.id), COALESCE(SUM(p.status = 'completed'), 0),"
    " COALESCE(SUM(p.status = 'failed'), 0), COALESCE(SUM(p.status = 'skipped'), 0)"
    " FROM crawls c LEFT JOIN crawl_pages p ON p.crawl_id = c.id WHERE c.id = ?1 GROUP BY c.id";
constexpr const char* kListCrawls =
    "SELECT " REFINERY_CRAWL_COLUMNS ", COUNT(p.id), COALESCE(SUM(p.status = 'completed'), 0),"
    " COALESCE(SUM(p.status = 'failed'), 0), COALESCE(SUM(p.status = 'skipped'), 0)"
    " FROM (SELECT * FROM crawls WHERE ?1 = '' OR status = ?1 ORDER BY id DESC LIMIT ?2) c"
    " LEFT JOIN crawl_pages p ON p.crawl_id = c.id GROUP BY c.id ORDER BY c.id DESC";
constexpr const char* kCrawlSettings = "SELECT " REFINERY_CRAWL_COLUMNS " FROM crawls c WHERE c.id = ?1";
constexpr const char* kCrawlPages =
    "SELECT " REFINERY_CRAWL_PAGE_COLUMNS " FROM crawl_pages WHERE crawl_id = ?1 ORDER BY id";
constexpr const char* kPage = "SELECT " REFINERY_CRAWL_PAGE_COLUMNS " FROM crawl_pages WHERE id = ?1";
constexpr const char* kPageCount = "SELECT COUNT(*) FROM crawl_pages WHERE crawl_id = ?1";
constexpr const char* kPendingPage =
    "SELECT id FROM crawl_pages WHERE crawl_id = ?1 AND url = ?2 AND status = 'pending'";
constexpr const char* kStartAttempt =
    "UPDATE crawl_pages SET status = 'fetching', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1";
constexpr const char* kCrawlCrawling =
    "UPDATE crawls SET status = 'crawling', updated_at = ?2 WHERE id = ?1 AND status = 'pending'";
constexpr const char* kReleaseAttempt =
    "UPDATE crawl_pages SET status = 'pending', attempts = MAX(attempts - 1, 0), updated_at = ?2"
    " WHERE id = ?1 AND status = 'fetching'";
constexpr const char* kRetryPage =
    "UPDATE crawl_pages SET status = 'pending', error_message = ?2, updated_at = ?3"
    " WHERE id = ?1 AND status IN ('pending', 'fetching')";
constexpr const char* kFinishPage =
    "UPDATE crawl_pages SET status = ?2, error_message = ?3, document_id = ?4, canonical_url = ?5, updated_at = ?6"
    " WHERE id = ?1 AND status IN ('pending', 'fetching')";
constexpr const char* kOpenPages =
    "SELECT COUNT(*) FROM crawl_pages WHERE crawl_id = ?1 AND status IN ('pending', 'fetching')";
constexpr const char* kEndCrawl =
    "UPDATE crawls SET status = ?2, error_message = ?3, completed_at = ?4, updated_at = ?4"
    " WHERE id = ?1 AND status IN ('pending', 'crawling')";
constexpr const char* kStalePages =
    "SELECT id FROM crawl_pages WHERE status IN ('pending', 'fetching') AND updated_at < ?1"
    " ORDER BY updated_at LIMIT ?2";
constexpr const char* kExpireSlots = "DELETE FROM crawl_host_slots WHERE host = ?1 AND expires_at <= ?2";
constexpr const char* kHeldSlots = "SELECT COUNT(*), MIN(expires_at) FROM crawl_host_slots WHERE host = ?1";
constexpr const char* kNextFetch = "SELECT next_fetch_at, reserved_until FROM crawl_hosts WHERE host = ?1";
constexpr const char* kReserve =
    "INSERT INTO crawl_hosts (host, next_fetch_at, reserved_until) VALUES (?1, 0, ?2)"
    " ON CONFLICT (host) DO UPDATE SET reserved_until = excluded.reserved_until";
constexpr const char* kTakeSlot = "INSERT INTO crawl_host_slots (host, token, expires_at) VALUES (?1, ?2, ?3)";
constexpr const char* kSetNextFetch =
    "INSERT INTO crawl_hosts (host, next_fetch_at) VALUES (?1, ?2)"
    " ON CONFLICT (host) DO UPDATE SET next_fetch_at = MAX(next_fetch_at, excluded.next_fetch_at)";
constexpr const char* kFreeSlot = "DELETE FROM crawl_host_slots WHERE host = ?1 AND token = ?2";
constexpr const char* kGetRobots =
    "SELECT origin, status, body, fetched_at, expires_at FROM crawl_robots WHERE origin = ?1";
constexpr const char* kPutRobots =
    "INSERT INTO crawl_robots (origin, status, body, fetched_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (origin) DO UPDATE SET status = excluded.status, body = excluded.body,"
    " fetched_at = excluded.fetched_at, expires_at = excluded.expires_at";

CrawlRecord ReadCrawl(const Statement& s) {
  CrawlRecord c;
  c.id = s.Int(0);
  c.url = s.Text(1);
  c.status = s.Text(2);
  c.max_depth = static_cast<int>(s.Int(3));
  c.max_pages = static_cast<int>(s.Int(4));
  c.path_prefix = s.Text(5);
  c.extra_hosts = s.Text(6);
  c.error_message = s.Text(7);
  c.created_at = s.Real(8);
  if (!s.IsNull(9)) c.completed_at = s.Real(9);
  if (s.Columns() > 10) {
    c.pages = s.Int(10);
    c.pages_completed = s.Int(11);
    c.pages_failed = s.Int(12);
    c.pages_skipped = s.Int(13);
  }
  return c;
}

CrawlPage ReadPage(const Statement& s) {
  CrawlPage p;
  p.id = s.Int(0);
  p.crawl_id = s.Int(1);
  p.url = s.Text(2);
  p.depth = static_cast<int>(s.Int(3));
  p.status = s.Text(4);
  p.attempts = static_cast<int>(s.Int(5));
  p.error_message = s.Text(6);
  if (!s.IsNull(7)) p.document_id = s.Int(7);
  p.canonical_url = s.Text(8);
  p.updated_at = s.Real(9);
  return p;
}

// The one value of a one-row, one-column query (0 for NULL or no row).
template <typename... Args>
Result<int64_t> ScalarInt(Connection& c, const char* sql, const Args&... args) {
  auto stmt = c.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  int64_t value = 0;
  REFINERY_RETURN_IF_ERROR(ForEachRow(stmt->Bind(args...), [&](const Statement& row) { value = row.Int(0); }));
  return value;
}

Result<std::optional<CrawlPage>> FindPage(Connection& c, int64_t page_id) {
  auto stmt = c.Prepare(kPage);
  if (!stmt.ok()) return stmt.status();
  std::optional<CrawlPage> page;
  REFINERY_RETURN_IF_ERROR(ForEachRow(stmt->Bind(page_id), [&](const Statement& row) { page = ReadPage(row); }));
  return page;
}

Result<int64_t> InsertStartPage(Connection& c, int64_t crawl_id, const std::string& url, double now) {
  auto stmt = c.Prepare(kInsertPage);
  if (!stmt.ok()) return stmt.status();
  REFINERY_RETURN_IF_ERROR(stmt->Bind(crawl_id, url, 0, now).Run());
  return ScalarInt(c, kFirstPage, crawl_id);
}

// Ends the crawl once none of its pages is open.
Status MaybeEndCrawl(Connection& c, int64_t crawl_id, double now) {
  auto open = ScalarInt(c, kOpenPages, crawl_id);
  if (!open.ok()) return open.status();
  if (*open > 0) return Status::Ok();
  auto first = ScalarInt(c, kFirstPage, crawl_id);
  if (!first.ok()) return first.status();
  auto start = FindPage(c, *first);
  if (!start.ok()) return start.status();
  const std::string start_status = *start ? (*start)->status : "completed";
  const std::string error = start_status == "failed" ? (*start)->error_message : "";
  auto stmt = c.Prepare(kEndCrawl);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(crawl_id, cc::EndStatusFor(start_status), error, now).Run();
}

template <typename... Args>
Status Exec(Connection& c, const char* sql, const Args&... args) {
  auto stmt = c.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(args...).Run();
}

class SqliteCrawls final : public CrawlStore {
 public:
  explicit SqliteCrawls(SqliteDb& db) : db_(db) {}

 protected:
  Result<CrawlStart> DoStartCrawl(const NewCrawl& n) override {
    CrawlStart start;
    const double now = NowSeconds();
    Status s = db_.Write([&](Connection& c) -> Status {
      auto find = c.Prepare(kFindCrawl);
      if (!find.ok()) return find.status();
      std::optional<std::pair<int64_t, std::string>> known;
      REFINERY_RETURN_IF_ERROR(ForEachRow(find->Bind(n.url), [&](const Statement& row) {
        known.emplace(row.Int(0), row.Text(1));
      }));
      start = CrawlStart{};
      if (known && (known->second == "pending" || known->second == "crawling")) {
        start.crawl_id = known->first;
        start.restarted = false;
      } else if (known) {
        start.crawl_id = known->first;
        REFINERY_RETURN_IF_ERROR(Exec(c, kRestartCrawl, known->first, n.max_depth, n.max_pages, n.path_prefix,
                                      n.extra_hosts, now));
        REFINERY_RETURN_IF_ERROR(Exec(c, kDeletePages, known->first));
      } else {
        REFINERY_RETURN_IF_ERROR(
            Exec(c, kInsertCrawl, n.url, n.max_depth, n.max_pages, n.path_prefix, n.extra_hosts, now));
        start.crawl_id = c.LastInsertId();
      }
      auto root = InsertStartPage(c, start.crawl_id, n.url, now);
      if (!root.ok()) return root.status();
      start.root_page_id = *root;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return start;
  }

  Result<CrawlRecord> DoGetCrawl(int64_t id) override {
    std::optional<CrawlRecord> crawl;
    Status s = db_.Read([&](Connection& c) -> Status {
      auto stmt = c.Prepare(kCrawlWithCounts);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(id), [&](const Statement& row) { crawl = ReadCrawl(row); });
    });
    if (!s.ok()) return s;
    if (!crawl) return Status::NotFound(cc::CrawlNotFound(id));
    return *crawl;
  }

  Result<std::vector<CrawlRecord>> DoListCrawls(const std::string& status, int limit) override {
    std::vector<CrawlRecord> crawls;
    Status s = db_.Read([&](Connection& c) -> Status {
      crawls.clear();
      auto stmt = c.Prepare(kListCrawls);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(status, limit), [&](const Statement& row) { crawls.push_back(ReadCrawl(row)); });
    });
    if (!s.ok()) return s;
    return crawls;
  }

  Result<std::vector<CrawlPage>> DoPages(int64_t crawl_id) override {
    std::vector<CrawlPage> pages;
    Status s = db_.Read([&](Connection& c) -> Status {
      pages.clear();
      auto exists = ScalarInt(c, "SELECT COUNT(*) FROM crawls WHERE id = ?1", crawl_id);
      if (!exists.ok()) return exists.status();
      if (*exists == 0) return Status::NotFound(cc::CrawlNotFound(crawl_id));
      auto stmt = c.Prepare(kCrawlPages);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(crawl_id), [&](const Statement& row) { pages.push_back(ReadPage(row)); });
    });
    if (!s.ok()) return s;
    return pages;
  }

  Result<std::vector<int64_t>> DoAddPages(int64_t crawl_id, const std::vector<std::string>& urls,
                                          int depth) override {
    std::vector<int64_t> pending;
    const double now = NowSeconds();
    Status s = db_.Write([&](Connection& c) -> Status {
      pending.clear();
      auto max_pages = ScalarInt(c, "SELECT max_pages FROM crawls WHERE id = ?1", crawl_id);
      if (!max_pages.ok()) return max_pages.status();
      if (*max_pages == 0) return Status::NotFound(cc::CrawlNotFound(crawl_id));
      auto count = ScalarInt(c, kPageCount, crawl_id);
      if (!count.ok()) return count.status();
      for (const auto& url : urls) {
        if (*count >= *max_pages) break;
        REFINERY_RETURN_IF_ERROR(Exec(c, kInsertPage, crawl_id, url, depth, now));
        *count += c.Changes();
      }
      for (const auto& url : urls) {
        auto id = ScalarInt(c, kPendingPage, crawl_id, url);
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
    Status s = db_.Write([&](Connection& c) -> Status {
      auto page = FindPage(c, page_id);
      if (!page.ok()) return page.status();
      if (!*page) return Status::NotFound(cc::PageNotFound(page_id));
      const CrawlPage& p = **page;
      if (p.status != "pending" && p.status != "fetching") return cc::PageFinished(page_id, p.status);
      attempt.gave_up = p.attempts >= max_attempts;
      if (attempt.gave_up) {
        REFINERY_RETURN_IF_ERROR(Exec(c, kFinishPage, page_id, "failed", cc::GaveUpMessage(p.attempts, p.error_message),
                                      nullptr, "", now));
        REFINERY_RETURN_IF_ERROR(MaybeEndCrawl(c, p.crawl_id, now));
      } else {
        REFINERY_RETURN_IF_ERROR(Exec(c, kStartAttempt, page_id, now));
        REFINERY_RETURN_IF_ERROR(Exec(c, kCrawlCrawling, p.crawl_id, now));
      }
      auto updated = FindPage(c, page_id);
      if (!updated.ok()) return updated.status();
      attempt.page = **updated;
      auto crawl = c.Prepare(kCrawlSettings);
      if (!crawl.ok()) return crawl.status();
      return ForEachRow(crawl->Bind(p.crawl_id), [&](const Statement& row) { attempt.crawl = ReadCrawl(row); });
    });
    if (!s.ok()) return s;
    return attempt;
  }

  Status DoReleasePageAttempt(int64_t page_id) override {
    return ChangePage(page_id, [&](Connection& c, double now) { return Exec(c, kReleaseAttempt, page_id, now); });
  }

  Status DoRecordPageRetry(int64_t page_id, const std::string& error) override {
    return ChangePage(page_id, [&](Connection& c, double now) { return Exec(c, kRetryPage, page_id, error, now); });
  }

  Status DoFinishPage(const PageOutcome& o) override {
    const double now = NowSeconds();
    return db_.Write([&](Connection& c) -> Status {
      auto page = FindPage(c, o.page_id);
      if (!page.ok()) return page.status();
      if (!*page) return Status::NotFound(cc::PageNotFound(o.page_id));
      // Finishing twice (a re-delivered job) changes nothing.
      REFINERY_RETURN_IF_ERROR(
          Exec(c, kFinishPage, o.page_id, o.status, o.error_message, o.document_id, o.canonical_url, now));
      return MaybeEndCrawl(c, (*page)->crawl_id, now);
    });
  }

  Result<std::vector<int64_t>> DoStalePages(double older_than_s, int limit) override {
    std::vector<int64_t> ids;
    const double before = NowSeconds() - older_than_s;
    Status s = db_.Read([&](Connection& c) -> Status {
      ids.clear();
      auto stmt = c.Prepare(kStalePages);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(before, limit), [&](const Statement& row) { ids.push_back(row.Int(0)); });
    });
    if (!s.ok()) return s;
    return ids;
  }

  Result<HostSlot> DoAcquireHostSlot(const std::string& host, double min_interval_s, int max_in_flight,
                                     double hold_s) override {
    HostSlot slot;
    Status s = db_.Write([&](Connection& c) -> Status {
      cc::HostState state;
      state.now = NowSeconds();
      REFINERY_RETURN_IF_ERROR(Exec(c, kExpireSlots, host, state.now));
      auto held = c.Prepare(kHeldSlots);
      if (!held.ok()) return held.status();
      REFINERY_RETURN_IF_ERROR(ForEachRow(held->Bind(host), [&](const Statement& row) {
        state.in_flight = row.Int(0);
        state.earliest_expiry = row.Real(1);
      }));
      auto next = c.Prepare(kNextFetch);
      if (!next.ok()) return next.status();
      REFINERY_RETURN_IF_ERROR(
          ForEachRow(next->Bind(host), [&](const Statement& row) {
            state.next_fetch_at = row.Real(0);
            state.reserved_until = row.Real(1);
          }));
      double reserve = 0;
      slot = cc::DecideHostSlot(state, max_in_flight, min_interval_s, &reserve);
      if (!slot.granted) return Exec(c, kReserve, host, reserve);
      slot.token = RandomHex(64);
      REFINERY_RETURN_IF_ERROR(Exec(c, kTakeSlot, host, slot.token, state.now + hold_s));
      return Exec(c, kSetNextFetch, host, state.now + min_interval_s);
    });
    if (!s.ok()) return s;
    return slot;
  }

  Status DoReleaseHostSlot(const std::string& host, const std::string& token, double min_interval_s) override {
    return db_.Write([&](Connection& c) -> Status {
      REFINERY_RETURN_IF_ERROR(Exec(c, kFreeSlot, host, token));
      return Exec(c, kSetNextFetch, host, NowSeconds() + min_interval_s);
    });
  }

  Result<std::optional<RobotsEntry>> DoGetRobots(const std::string& origin) override {
    std::optional<RobotsEntry> entry;
    Status s = db_.Read([&](Connection& c) -> Status {
      auto stmt = c.Prepare(kGetRobots);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(origin), [&](const Statement& row) {
        entry = RobotsEntry{row.Text(0), static_cast<int>(row.Int(1)), row.Text(2), row.Real(3), row.Real(4)};
      });
    });
    if (!s.ok()) return s;
    return entry;
  }

  Status DoPutRobots(const RobotsEntry& e) override {
    return db_.Write(
        [&](Connection& c) { return Exec(c, kPutRobots, e.origin, e.status, e.body, e.fetched_at, e.expires_at); });
  }

 private:
  // Runs `change` on an open page: NotFound for no page, OK (nothing
  // changed) for a finished one.
  template <typename Change>
  Status ChangePage(int64_t page_id, Change change) {
    const double now = NowSeconds();
    return db_.Write([&](Connection& c) -> Status {
      REFINERY_RETURN_IF_ERROR(change(c, now));
      if (c.Changes() > 0) return Status::Ok();
      auto page = FindPage(c, page_id);
      if (!page.ok()) return page.status();
      return *page ? Status::Ok() : Status::NotFound(cc::PageNotFound(page_id));
    });
  }

  SqliteDb& db_;
};

}  // namespace

std::unique_ptr<CrawlStore> NewCrawls(SqliteDb& db) { return std::make_unique<SqliteCrawls>(db); }

}  // namespace refinery::sqlite_store_internal

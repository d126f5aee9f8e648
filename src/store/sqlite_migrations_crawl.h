// Schema migration 14 (issue 13: the crawler), kept apart from the older
// ones so each file stays readable. Included by sqlite_schema.cpp only.
// Append only, as there.
#pragma once

namespace refinery::sqlite {

// Crawls and their pages as rows, per-host fetch slots shared by every
// worker process, and the robots.txt cache. The v1 crawl_jobs table was
// never written to: dropped.
inline constexpr const char* kMigration14 = R"sql(
DROP TABLE crawl_jobs;
CREATE TABLE crawls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  max_depth INTEGER NOT NULL,
  max_pages INTEGER NOT NULL,
  path_prefix TEXT NOT NULL DEFAULT '',
  extra_hosts TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  completed_at REAL
);
CREATE INDEX crawls_status ON crawls (status, id);
CREATE TABLE crawl_pages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  crawl_id INTEGER NOT NULL REFERENCES crawls (id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  depth INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  document_id INTEGER REFERENCES documents (id) ON DELETE SET NULL,
  canonical_url TEXT NOT NULL DEFAULT '',
  updated_at REAL NOT NULL,
  UNIQUE (crawl_id, url)
);
CREATE INDEX crawl_pages_open ON crawl_pages (updated_at) WHERE status IN ('pending', 'fetching');
CREATE INDEX crawl_pages_document ON crawl_pages (document_id) WHERE document_id IS NOT NULL;
CREATE TABLE crawl_hosts (
  host TEXT PRIMARY KEY,
  next_fetch_at REAL NOT NULL,
  -- the last turn handed to a waiting fetch: waiters come back one interval apart
  reserved_until REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE crawl_host_slots (
  host TEXT NOT NULL,
  token TEXT NOT NULL,
  expires_at REAL NOT NULL,
  PRIMARY KEY (host, token)
) WITHOUT ROWID;
CREATE TABLE crawl_robots (
  origin TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  fetched_at REAL NOT NULL,
  expires_at REAL NOT NULL
) WITHOUT ROWID;
)sql";

}  // namespace refinery::sqlite

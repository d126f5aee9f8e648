// Schema migration 14 (issue 13: the crawler), kept apart from the older
// ones so each file stays readable. Included by pg_schema.cpp only.
// Append only, as there.
#pragma once

namespace refinery::pg {

// Crawls and their pages as rows, per-host fetch slots shared by every
// worker process, and the robots.txt cache. The v1 crawl_jobs table was
// never written to: dropped.
inline constexpr const char* kMigration14 = R"sql(
DROP TABLE refinery.crawl_jobs;
CREATE TABLE refinery.crawls (
  id BIGSERIAL PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  max_depth INTEGER NOT NULL,
  max_pages INTEGER NOT NULL,
  path_prefix TEXT NOT NULL DEFAULT '',
  extra_hosts TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL,
  completed_at DOUBLE PRECISION
);
CREATE INDEX crawls_status ON refinery.crawls (status, id);
CREATE TABLE refinery.crawl_pages (
  id BIGSERIAL PRIMARY KEY,
  crawl_id BIGINT NOT NULL REFERENCES refinery.crawls (id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  depth INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  document_id BIGINT REFERENCES refinery.documents (id) ON DELETE SET NULL,
  canonical_url TEXT NOT NULL DEFAULT '',
  updated_at DOUBLE PRECISION NOT NULL,
  UNIQUE (crawl_id, url)
);
CREATE INDEX crawl_pages_open ON refinery.crawl_pages (updated_at) WHERE status IN ('pending', 'fetching');
CREATE INDEX crawl_pages_document ON refinery.crawl_pages (document_id) WHERE document_id IS NOT NULL;
CREATE TABLE refinery.crawl_hosts (
  host TEXT PRIMARY KEY,
  next_fetch_at DOUBLE PRECISION NOT NULL,
  -- the last turn handed to a waiting fetch: waiters come back one interval apart
  reserved_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE refinery.crawl_host_slots (
  host TEXT NOT NULL,
  token TEXT NOT NULL,
  expires_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (host, token)
);
CREATE TABLE refinery.crawl_robots (
  origin TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  fetched_at DOUBLE PRECISION NOT NULL,
  expires_at DOUBLE PRECISION NOT NULL
);
)sql";

}  // namespace refinery::pg

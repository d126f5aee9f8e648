#include "store/sqlite_schema.h"

#include <iterator>

#include "core/clock.h"
#include "store/sqlite_migrations_crawl.h"
#include "store/sqlite_migrations_knowledge.h"
#include "store/sqlite_migrations_llm.h"
#include "store/store.h"

namespace refinery::sqlite {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// AUTOINCREMENT: ids are never reused after a delete, so a stale queue
// message or a cached chunk id can never name a different row (matching
// PostgreSQL sequences).
constexpr const char* kMigration1 = R"sql(
CREATE TABLE documents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL DEFAULT '',
  source_url TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL UNIQUE,
  mime_type TEXT NOT NULL DEFAULT 'text/plain',
  blob_key TEXT NOT NULL DEFAULT '',
  stage TEXT NOT NULL,
  error_message TEXT NOT NULL DEFAULT '',
  error_stage TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  chunk_count INTEGER NOT NULL DEFAULT 0,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  stage_changed_at REAL NOT NULL
);
CREATE INDEX documents_stage_changed ON documents(stage, stage_changed_at);
CREATE INDEX documents_created ON documents(created_at, id);

CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,
  content TEXT NOT NULL,
  char_start INTEGER NOT NULL,
  char_end INTEGER NOT NULL,
  token_count INTEGER NOT NULL DEFAULT 0,
  embedding BLOB,
  UNIQUE (document_id, chunk_index)
);

CREATE TABLE processing_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  duration_ms REAL NOT NULL DEFAULT 0,
  created_at REAL NOT NULL
);
CREATE INDEX processing_log_document ON processing_log(document_id, id);

CREATE TABLE crawl_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  max_depth INTEGER NOT NULL DEFAULT 0,
  max_pages INTEGER NOT NULL DEFAULT 0,
  pages_found INTEGER NOT NULL DEFAULT 0,
  pages_processed INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
)sql";

// embedded_count: how many of the document's chunks have an embedding, kept
// in the transactions that change chunks, so Stats() reads documents only.
// The backfill also resyncs chunk_count with the rows actually present; both
// subqueries use the UNIQUE (document_id, chunk_index) index.
constexpr const char* kMigration2 = R"sql(
ALTER TABLE documents ADD COLUMN embedded_count INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET
  chunk_count = (SELECT COUNT(*) FROM chunks WHERE document_id = documents.id),
  embedded_count = (SELECT COUNT(*) FROM chunks
                    WHERE document_id = documents.id AND embedding IS NOT NULL);
)sql";

// stage_metrics: the processing log counted per (stage, status) and
// duration bucket `le` (seconds, 9e999 = +Inf), one row per bucket, kept in
// AppendLog's transaction so /metrics reads a few rows, never the log. The
// backfill counts the log written so far under StageDurationBuckets().
constexpr const char* kMigration3 = R"sql(
CREATE TABLE stage_metrics (
  stage TEXT NOT NULL,
  status TEXT NOT NULL,
  le REAL NOT NULL,
  events INTEGER NOT NULL,
  duration_sum_s REAL NOT NULL,
  PRIMARY KEY (stage, status, le)
) WITHOUT ROWID;
INSERT INTO stage_metrics (stage, status, le, events, duration_sum_s)
  SELECT stage, status, le, COUNT(*), SUM(duration_ms) / 1000.0 FROM (
    SELECT stage, status, duration_ms, CASE
      WHEN duration_ms / 1000.0 <= 0.005 THEN 0.005
      WHEN duration_ms / 1000.0 <= 0.01 THEN 0.01
      WHEN duration_ms / 1000.0 <= 0.025 THEN 0.025
      WHEN duration_ms / 1000.0 <= 0.05 THEN 0.05
      WHEN duration_ms / 1000.0 <= 0.1 THEN 0.1
      WHEN duration_ms / 1000.0 <= 0.25 THEN 0.25
      WHEN duration_ms / 1000.0 <= 0.5 THEN 0.5
      WHEN duration_ms / 1000.0 <= 1 THEN 1
      WHEN duration_ms / 1000.0 <= 2.5 THEN 2.5
      WHEN duration_ms / 1000.0 <= 5 THEN 5
      WHEN duration_ms / 1000.0 <= 10 THEN 10
      WHEN duration_ms / 1000.0 <= 30 THEN 30
      WHEN duration_ms / 1000.0 <= 60 THEN 60
      WHEN duration_ms / 1000.0 <= 120 THEN 120
      WHEN duration_ms / 1000.0 <= 300 THEN 300
      ELSE 9e999 END AS le
    FROM processing_log) AS entries
  GROUP BY stage, status, le;
)sql";

// chunks_fts: the full-text index behind LexicalSearch. External content
// (content='chunks'): the index stores no second copy of the text; triggers
// keep it in step in the very transaction that writes chunks (also for the
// ON DELETE CASCADE from documents). Porter stemming over unicode61 scored
// best on SciFact (docs/benchmarks.md). 'rebuild' indexes existing chunks.
constexpr const char* kMigration4 = R"sql(
CREATE VIRTUAL TABLE chunks_fts USING fts5(
  content, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61');
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF content ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO chunks_fts (rowid, content) VALUES (new.id, new.content);
END;
INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
)sql";

// stage_totals: documents, chunks and embedded chunks per stage, kept by
// triggers in the transaction that changes a document, so Stats() reads a
// few rows instead of every document. SQLite has one writer at a time: no
// shards needed (see the PostgreSQL twin).
constexpr const char* kMigration5 = R"sql(
CREATE TABLE stage_totals (
  stage TEXT PRIMARY KEY,
  documents INTEGER NOT NULL,
  chunks INTEGER NOT NULL,
  embedded INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER stage_totals_insert AFTER INSERT ON documents BEGIN
  INSERT INTO stage_totals (stage, documents, chunks, embedded)
    VALUES (new.stage, 1, new.chunk_count, new.embedded_count)
    ON CONFLICT (stage) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded;
END;
CREATE TRIGGER stage_totals_delete AFTER DELETE ON documents BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count WHERE stage = old.stage;
END;
CREATE TRIGGER stage_totals_update AFTER UPDATE OF stage, chunk_count, embedded_count ON documents
  WHEN new.stage IS NOT old.stage OR new.chunk_count IS NOT old.chunk_count
    OR new.embedded_count IS NOT old.embedded_count
BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count WHERE stage = old.stage;
  INSERT INTO stage_totals (stage, documents, chunks, embedded)
    VALUES (new.stage, 1, new.chunk_count, new.embedded_count)
    ON CONFLICT (stage) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded;
END;
INSERT INTO stage_totals (stage, documents, chunks, embedded)
  SELECT stage, COUNT(*), SUM(chunk_count), SUM(embedded_count) FROM documents GROUP BY stage;
)sql";

// stage_totals keys documents in "error" by the stage that gave up on them
// ('error:chunk'), so Stats() reports each stage's dead letters from the
// same few rows; the totals are rebuilt under the new key. health_probe is
// the row CheckWritable rewrites. error_stage joins the columns the update
// trigger watches.
constexpr const char* kMigration6 = R"sql(
DROP TRIGGER stage_totals_insert;
DROP TRIGGER stage_totals_delete;
DROP TRIGGER stage_totals_update;
CREATE TRIGGER stage_totals_insert AFTER INSERT ON documents BEGIN
  INSERT INTO stage_totals (stage, documents, chunks, embedded)
    VALUES (CASE WHEN new.stage = 'error' THEN 'error:' || new.error_stage ELSE new.stage END,
            1, new.chunk_count, new.embedded_count)
    ON CONFLICT (stage) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded;
END;
CREATE TRIGGER stage_totals_delete AFTER DELETE ON documents BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count
    WHERE stage = CASE WHEN old.stage = 'error' THEN 'error:' || old.error_stage ELSE old.stage END;
END;
CREATE TRIGGER stage_totals_update
  AFTER UPDATE OF stage, error_stage, chunk_count, embedded_count ON documents
  WHEN new.stage IS NOT old.stage OR new.error_stage IS NOT old.error_stage
    OR new.chunk_count IS NOT old.chunk_count OR new.embedded_count IS NOT old.embedded_count
BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count
    WHERE stage = CASE WHEN old.stage = 'error' THEN 'error:' || old.error_stage ELSE old.stage END;
  INSERT INTO stage_totals (stage, documents, chunks, embedded)
    VALUES (CASE WHEN new.stage = 'error' THEN 'error:' || new.error_stage ELSE new.stage END,
            1, new.chunk_count, new.embedded_count)
    ON CONFLICT (stage) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded;
END;
DELETE FROM stage_totals;
INSERT INTO stage_totals (stage, documents, chunks, embedded)
  SELECT CASE WHEN stage = 'error' THEN 'error:' || error_stage ELSE stage END AS total_key,
         COUNT(*), SUM(chunk_count), SUM(embedded_count)
  FROM documents GROUP BY total_key;
CREATE TABLE health_probe (id INTEGER PRIMARY KEY, checked_at REAL NOT NULL);
)sql";

// A document has a state; a stage is a step (issue 9): the columns say so.
// The triggers are recreated under the new names rather than trusting
// RENAME COLUMN to rewrite their bodies; stage_totals' key (a state, or
// 'error:<stage>') becomes state_key.
constexpr const char* kMigration7 = R"sql(
DROP TRIGGER stage_totals_insert;
DROP TRIGGER stage_totals_delete;
DROP TRIGGER stage_totals_update;
DROP INDEX documents_stage_changed;
ALTER TABLE documents RENAME COLUMN stage TO state;
ALTER TABLE documents RENAME COLUMN stage_changed_at TO state_changed_at;
ALTER TABLE stage_totals RENAME COLUMN stage TO state_key;
CREATE INDEX documents_state_changed ON documents(state, state_changed_at);
CREATE TRIGGER stage_totals_insert AFTER INSERT ON documents BEGIN
  INSERT INTO stage_totals (state_key, documents, chunks, embedded)
    VALUES (CASE WHEN new.state = 'error' THEN 'error:' || new.error_stage ELSE new.state END,
            1, new.chunk_count, new.embedded_count)
    ON CONFLICT (state_key) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded;
END;
CREATE TRIGGER stage_totals_delete AFTER DELETE ON documents BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count
    WHERE state_key = CASE WHEN old.state = 'error' THEN 'error:' || old.error_stage ELSE old.state END;
END;
CREATE TRIGGER stage_totals_update
  AFTER UPDATE OF state, error_stage, chunk_count, embedded_count ON documents
  WHEN new.state IS NOT old.state OR new.error_stage IS NOT old.error_stage
    OR new.chunk_count IS NOT old.chunk_count OR new.embedded_count IS NOT old.embedded_count
BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count
    WHERE state_key = CASE WHEN old.state = 'error' THEN 'error:' || old.error_stage ELSE old.state END;
  INSERT INTO stage_totals (state_key, documents, chunks, embedded)
    VALUES (CASE WHEN new.state = 'error' THEN 'error:' || new.error_stage ELSE new.state END,
            1, new.chunk_count, new.embedded_count)
    ON CONFLICT (state_key) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded;
END;
)sql";

// Append only: a released migration is never edited, a change is a new one.
constexpr Migration kMigrations[] = {
    {1, kMigration1}, {2, kMigration2}, {3, kMigration3}, {4, kMigration4},
    {5, kMigration5}, {6, kMigration6}, {7, kMigration7}, {8, kMigration8}, {9, kMigration9}, {10, kMigration10}, {11, kMigration11}, {12, kMigration12}, {13, kMigration13},
    {14, kMigration14},
};

static_assert(kMigrations[std::size(kMigrations) - 1].version == kSchemaVersion);

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)";

Result<int> MaxVersion(Connection& conn) {
  auto stmt = conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(stmt->Int(0));
}

Status Apply(Connection& conn, const Migration& m) {
  REFINERY_RETURN_IF_ERROR(conn.Exec(m.sql));
  auto stmt = conn.Prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(m.version, NowSeconds()).Run();
}

}  // namespace

Status MigrateSchema(Connection& conn) {
  return MigrateSchemaTo(conn, kMigrations[std::size(kMigrations) - 1].version);
}

Status MigrateSchemaTo(Connection& conn, int max_version) {
  auto txn = Transaction::Begin(conn, Transaction::Kind::kWrite);
  if (!txn.ok()) return txn.status();
  REFINERY_RETURN_IF_ERROR(conn.Exec(kCreateMigrationsTable));
  auto current = MaxVersion(conn);
  if (!current.ok()) return current.status();
  for (const Migration& m : kMigrations) {
    if (m.version > *current && m.version <= max_version) {
      REFINERY_RETURN_IF_ERROR(Apply(conn, m));
    }
  }
  return txn->Commit();
}

Result<int> AppliedSchemaVersion(Connection& conn) {
  auto exists = conn.Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (!exists.ok()) return exists.status();
  auto row = exists->Step();
  if (!row.ok()) return row.status();
  if (exists->Int(0) == 0) return 0;
  return MaxVersion(conn);
}

}  // namespace refinery::sqlite

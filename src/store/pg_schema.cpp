#include "store/pg_schema.h"

#include <iterator>
#include <string>

#include "core/clock.h"
#include "store/pg_migrations_crawl.h"
#include "store/pg_migrations_knowledge.h"
#include "store/pg_migrations_llm.h"
#include "store/store.h"

namespace refinery::pg {
namespace {

struct Migration {
  int version;
  const char* sql;
};

// Mirrors the SQLite schema (same columns, same meaning):
// - BIGSERIAL ids are never reused, like SQLite's AUTOINCREMENT.
// - Timestamps are DOUBLE PRECISION epoch seconds, as the Store interface has them.
// - metadata is JSON, not JSONB: the interface stores the caller's text
//   verbatim (JSONB would reformat it); the CHECK keeps it an object, and
//   queries can still cast it to jsonb.
// - embedding is BYTEA float32 little-endian, the same bytes as in SQLite.
// - tsv feeds PostgreSQL full-text (lexical) search; the GIN index serves it.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE refinery.documents (
  id BIGSERIAL PRIMARY KEY,
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
  metadata JSON NOT NULL DEFAULT '{}' CONSTRAINT metadata_is_object
    CHECK (json_typeof(metadata) = 'object'),
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL,
  stage_changed_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX documents_stage_changed ON refinery.documents (stage, stage_changed_at);
CREATE INDEX documents_created ON refinery.documents (created_at, id);

CREATE TABLE refinery.chunks (
  id BIGSERIAL PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES refinery.documents (id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,
  content TEXT NOT NULL,
  char_start BIGINT NOT NULL,
  char_end BIGINT NOT NULL,
  token_count INTEGER NOT NULL DEFAULT 0,
  embedding BYTEA,
  tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
  UNIQUE (document_id, chunk_index)
);
CREATE INDEX chunks_tsv ON refinery.chunks USING GIN (tsv);
CREATE INDEX chunks_embedded ON refinery.chunks (id) WHERE embedding IS NOT NULL;

CREATE TABLE refinery.processing_log (
  id BIGSERIAL PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES refinery.documents (id) ON DELETE CASCADE,
  stage TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  duration_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX processing_log_document ON refinery.processing_log (document_id, id);

CREATE TABLE refinery.crawl_jobs (
  id BIGSERIAL PRIMARY KEY,
  url TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  max_depth INTEGER NOT NULL DEFAULT 0,
  max_pages INTEGER NOT NULL DEFAULT 0,
  pages_found INTEGER NOT NULL DEFAULT 0,
  pages_processed INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL
);
)sql";

// embedded_count: how many of the document's chunks have an embedding, kept
// in the transactions that change chunks, so Stats() reads documents only
// (counting chunk rows scans every TOASTed embedding row). The backfill also
// resyncs chunk_count with the rows actually present.
constexpr const char* kMigration2 = R"sql(
ALTER TABLE refinery.documents ADD COLUMN embedded_count INTEGER NOT NULL DEFAULT 0;
UPDATE refinery.documents d SET chunk_count = c.total, embedded_count = c.embedded
  FROM (SELECT document_id, COUNT(*) AS total, COUNT(embedding) AS embedded
        FROM refinery.chunks GROUP BY document_id) c
  WHERE c.document_id = d.id;
)sql";

// stage_metrics: the processing log counted per (stage, status) and
// duration bucket `le` (seconds, 'Infinity' = +Inf), kept in AppendLog's
// statement so /metrics reads a few rows, never the log. `shard`
// (pg_backend_pid() % 8 of the writer) spreads one hot counter over rows,
// so concurrent workers rarely wait on one row lock; readers sum the
// shards. fillfactor leaves room for HOT updates of these few, hot rows.
// The backfill counts the log written so far (shard 0).
constexpr const char* kMigration3 = R"sql(
CREATE TABLE refinery.stage_metrics (
  stage TEXT NOT NULL,
  status TEXT NOT NULL,
  le DOUBLE PRECISION NOT NULL,
  shard SMALLINT NOT NULL,
  events BIGINT NOT NULL,
  duration_sum_s DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (stage, status, le, shard)
) WITH (fillfactor = 50);
INSERT INTO refinery.stage_metrics (stage, status, le, shard, events, duration_sum_s)
  SELECT stage, status, le, 0, COUNT(*), SUM(duration_ms) / 1000.0 FROM (
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
      ELSE 'Infinity'::float8 END AS le
    FROM refinery.processing_log) AS entries
  GROUP BY stage, status, le;
)sql";

// v4 is SQLite's full-text index. Here chunks.tsv (a generated column, so
// always in step and filled for existing rows) and its GIN index exist
// since v1; the version only keeps both backends' numbering in step.
constexpr const char* kMigration4 = "SELECT 1";

// stage_totals: documents, chunks and embedded chunks per stage, kept by a
// trigger in the very transaction that changes a document, so Stats() sums
// a few rows instead of reading every document (it ran ~1 core at 5,000
// /stats per second with only 1,000 documents). `shard` (document id % 16)
// spreads the hot rows -- every ingest adds to its first stage -- over 16
// rows each. The trigger first takes a transaction advisory lock on the
// shard: two transactions that each change one document then never wait on
// each other's counter rows in opposite orders (a stage change touches two
// rows: old stage, new stage), so no deadlock. The trigger is created before
// the backfill: its lock keeps writers out until this transaction commits,
// so no change falls between the two.
constexpr const char* kMigration5 = R"sql(
CREATE TABLE refinery.stage_totals (
  stage TEXT NOT NULL,
  shard SMALLINT NOT NULL,
  documents BIGINT NOT NULL,
  chunks BIGINT NOT NULL,
  embedded BIGINT NOT NULL,
  PRIMARY KEY (stage, shard)
) WITH (fillfactor = 50);
CREATE FUNCTION refinery.count_stage_totals() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  s SMALLINT;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.stage = OLD.stage AND NEW.chunk_count = OLD.chunk_count
     AND NEW.embedded_count = OLD.embedded_count THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN s := NEW.id % 16; ELSE s := OLD.id % 16; END IF;
  PERFORM pg_advisory_xact_lock(1919247987, s);  -- class 'refs': stage_totals shards
  IF TG_OP <> 'INSERT' THEN
    UPDATE refinery.stage_totals SET documents = documents - 1, chunks = chunks - OLD.chunk_count,
      embedded = embedded - OLD.embedded_count
      WHERE stage = OLD.stage AND shard = s;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO refinery.stage_totals AS t (stage, shard, documents, chunks, embedded)
      VALUES (NEW.stage, s, 1, NEW.chunk_count, NEW.embedded_count)
      ON CONFLICT (stage, shard) DO UPDATE SET documents = t.documents + 1,
        chunks = t.chunks + EXCLUDED.chunks, embedded = t.embedded + EXCLUDED.embedded;
  END IF;
  RETURN NULL;
END
$body$;
CREATE TRIGGER documents_stage_totals
  AFTER INSERT OR DELETE OR UPDATE OF stage, chunk_count, embedded_count ON refinery.documents
  FOR EACH ROW EXECUTE FUNCTION refinery.count_stage_totals();
INSERT INTO refinery.stage_totals (stage, shard, documents, chunks, embedded)
  SELECT stage, id % 16, COUNT(*), SUM(chunk_count), SUM(embedded_count)
  FROM refinery.documents GROUP BY stage, id % 16;
)sql";

// As SQLite's v6: stage_totals keys documents in "error" by the stage that
// gave up on them ('error:chunk'); the trigger also watches error_stage; the
// totals are rebuilt under the new key (DROP TRIGGER locks the table until
// commit, so no change falls in between). health_probe is the row
// CheckWritable rewrites.
constexpr const char* kMigration6 = R"sql(
CREATE OR REPLACE FUNCTION refinery.count_stage_totals() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  s SMALLINT;
  old_key TEXT;
  new_key TEXT;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.stage = OLD.stage AND NEW.error_stage = OLD.error_stage
     AND NEW.chunk_count = OLD.chunk_count AND NEW.embedded_count = OLD.embedded_count THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN s := NEW.id % 16; ELSE s := OLD.id % 16; END IF;
  PERFORM pg_advisory_xact_lock(1919247987, s);  -- class 'refs': stage_totals shards
  IF TG_OP <> 'INSERT' THEN
    old_key := CASE WHEN OLD.stage = 'error' THEN 'error:' || OLD.error_stage ELSE OLD.stage END;
    UPDATE refinery.stage_totals SET documents = documents - 1, chunks = chunks - OLD.chunk_count,
      embedded = embedded - OLD.embedded_count
      WHERE stage = old_key AND shard = s;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    new_key := CASE WHEN NEW.stage = 'error' THEN 'error:' || NEW.error_stage ELSE NEW.stage END;
    INSERT INTO refinery.stage_totals AS t (stage, shard, documents, chunks, embedded)
      VALUES (new_key, s, 1, NEW.chunk_count, NEW.embedded_count)
      ON CONFLICT (stage, shard) DO UPDATE SET documents = t.documents + 1,
        chunks = t.chunks + EXCLUDED.chunks, embedded = t.embedded + EXCLUDED.embedded;
  END IF;
  RETURN NULL;
END
$body$;
DROP TRIGGER documents_stage_totals ON refinery.documents;
CREATE TRIGGER documents_stage_totals
  AFTER INSERT OR DELETE OR UPDATE OF stage, error_stage, chunk_count, embedded_count ON refinery.documents
  FOR EACH ROW EXECUTE FUNCTION refinery.count_stage_totals();
DELETE FROM refinery.stage_totals;
INSERT INTO refinery.stage_totals (stage, shard, documents, chunks, embedded)
  SELECT CASE WHEN stage = 'error' THEN 'error:' || error_stage ELSE stage END AS total_key,
         id % 16 AS total_shard, COUNT(*), SUM(chunk_count), SUM(embedded_count)
  FROM refinery.documents GROUP BY total_key, total_shard;
CREATE TABLE refinery.health_probe (id INTEGER PRIMARY KEY, checked_at DOUBLE PRECISION NOT NULL);
)sql";

// As SQLite's v7: a document has a state, a stage is a step. Renamed
// columns keep their indexes and the trigger's column list (both refer to
// columns by number); the trigger function's body is text, so it is
// replaced with the new names.
constexpr const char* kMigration7 = R"sql(
ALTER TABLE refinery.documents RENAME COLUMN stage TO state;
ALTER TABLE refinery.documents RENAME COLUMN stage_changed_at TO state_changed_at;
ALTER TABLE refinery.stage_totals RENAME COLUMN stage TO state_key;
ALTER INDEX refinery.documents_stage_changed RENAME TO documents_state_changed;
CREATE OR REPLACE FUNCTION refinery.count_stage_totals() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  s SMALLINT;
  old_key TEXT;
  new_key TEXT;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.state = OLD.state AND NEW.error_stage = OLD.error_stage
     AND NEW.chunk_count = OLD.chunk_count AND NEW.embedded_count = OLD.embedded_count THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN s := NEW.id % 16; ELSE s := OLD.id % 16; END IF;
  PERFORM pg_advisory_xact_lock(1919247987, s);  -- class 'refs': stage_totals shards
  IF TG_OP <> 'INSERT' THEN
    old_key := CASE WHEN OLD.state = 'error' THEN 'error:' || OLD.error_stage ELSE OLD.state END;
    UPDATE refinery.stage_totals SET documents = documents - 1, chunks = chunks - OLD.chunk_count,
      embedded = embedded - OLD.embedded_count
      WHERE state_key = old_key AND shard = s;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    new_key := CASE WHEN NEW.state = 'error' THEN 'error:' || NEW.error_stage ELSE NEW.state END;
    INSERT INTO refinery.stage_totals AS t (state_key, shard, documents, chunks, embedded)
      VALUES (new_key, s, 1, NEW.chunk_count, NEW.embedded_count)
      ON CONFLICT (state_key, shard) DO UPDATE SET documents = t.documents + 1,
        chunks = t.chunks + EXCLUDED.chunks, embedded = t.embedded + EXCLUDED.embedded;
  END IF;
  RETURN NULL;
END
$body$;
)sql";

// Append only: a released migration is never edited, a change is a new one.
constexpr Migration kMigrations[] = {
    {1, kMigration1}, {2, kMigration2}, {3, kMigration3}, {4, kMigration4},
    {5, kMigration5}, {6, kMigration6}, {7, kMigration7}, {8, kMigration8}, {9, kMigration9}, {10, kMigration10}, {11, kMigration11}, {12, kMigration12}, {13, kMigration13},
    {14, kMigration14},
};

static_assert(kMigrations[std::size(kMigrations) - 1].version == kSchemaVersion);

// Any constant works; it only has to be the same in every Refinery process.
constexpr int64_t kMigrationLockKey = 0x7265666e6d6967;  // "refnmig"

// Relations (tables, views, ...) in schema refinery, and whether
// schema_migrations is one of them.
constexpr const char* kOwnership =
    "SELECT COALESCE(string_agg(c.relname, ', ' ORDER BY c.relname), ''),"
    " COUNT(*), COALESCE(bool_or(c.relname = 'schema_migrations'), false)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'refinery' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')";

struct Ownership {
  bool has_migrations = false;
};

// InvalidArgument when the schema holds tables without our migrations table.
Result<Ownership> CheckOwnership(Conn& conn) {
  auto rows = conn.Exec(kOwnership);
  if (!rows.ok()) return rows.status();
  const bool has_migrations = rows->Text(0, 2) == "t";
  if (rows->Int(0, 1) > 0 && !has_migrations) {
    std::string names = rows->Text(0, 0);
    if (names.size() > 200) names = names.substr(0, 200) + "...";
    return Status::InvalidArgument(
        "DATABASE_URL: schema \"refinery\" in this database holds tables Refinery does not own (" + names +
        "); use another database or schema");
  }
  return Ownership{has_migrations};
}

Result<int> MaxVersion(Conn& conn) {
  auto rows = conn.Exec("SELECT COALESCE(MAX(version), 0) FROM refinery.schema_migrations");
  if (!rows.ok()) return rows.status();
  return static_cast<int>(rows->Int(0, 0));
}

Status Apply(Conn& conn, const Migration& m) {
  REFINERY_RETURN_IF_ERROR(conn.Run(m.sql));
  return conn.Run("INSERT INTO refinery.schema_migrations (version, applied_at) VALUES ($1, $2)",
                  Params(m.version, NowSeconds()));
}

}  // namespace

Status MigrateSchema(Conn& conn) { return MigrateSchemaTo(conn, kMigrations[std::size(kMigrations) - 1].version); }

Status MigrateSchemaTo(Conn& conn, int max_version) {
  // First, so that even CREATE SCHEMA IF NOT EXISTS (which can fail on a
  // race) runs in one process at a time.
  REFINERY_RETURN_IF_ERROR(conn.Run("SELECT pg_advisory_xact_lock($1)", Params(kMigrationLockKey)));
  auto owned = CheckOwnership(conn);
  if (!owned.ok()) return owned.status();
  REFINERY_RETURN_IF_ERROR(conn.Run("CREATE SCHEMA IF NOT EXISTS refinery"));
  REFINERY_RETURN_IF_ERROR(
      conn.Run("CREATE TABLE IF NOT EXISTS refinery.schema_migrations ("
               " version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"));
  auto current = MaxVersion(conn);
  if (!current.ok()) return current.status();
  for (const Migration& m : kMigrations) {
    if (m.version > *current && m.version <= max_version) {
      REFINERY_RETURN_IF_ERROR(Apply(conn, m));
    }
  }
  return Status::Ok();
}

Result<int> AppliedSchemaVersion(Conn& conn) {
  auto owned = CheckOwnership(conn);
  if (!owned.ok()) return owned.status();
  if (!owned->has_migrations) return 0;
  return MaxVersion(conn);
}

}  // namespace refinery::pg

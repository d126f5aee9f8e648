// Schema migrations 10 and 11 (issue 12: LLM services), kept apart from the older
// ones so each file stays readable. Included by pg_schema.cpp only. Append
// only, as there.
#pragma once

namespace refinery::pg {

// As SQLite's v10: the embedding cache and the model of each chunk's vector
// (older vectors can only be the built-in embedder's).
inline constexpr const char* kMigration10 = R"sql(
CREATE TABLE refinery.embedding_cache (
  model TEXT NOT NULL,
  text_hash TEXT NOT NULL,
  vector BYTEA NOT NULL,
  created_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (model, text_hash)
);
ALTER TABLE refinery.chunks ADD COLUMN embedding_model TEXT;
UPDATE refinery.chunks SET embedding_model = 'builtin-hash-' || (octet_length(embedding) / 4)
  WHERE embedding IS NOT NULL;
CREATE INDEX chunks_embedding_model ON refinery.chunks (embedding_model, document_id) WHERE embedding IS NOT NULL;
)sql";

// The reasoning cache (checked answers by request hash) and the failed
// evaluations: a chunk whose evaluation was unusable after a repair keeps
// the reason instead of a score (never a default), counted in /stats.
inline constexpr const char* kMigration11 = R"sql(
CREATE TABLE refinery.llm_answers (
  request_hash TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  answer TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL
);
ALTER TABLE refinery.chunks ADD COLUMN eval_failure TEXT;
CREATE INDEX chunks_eval_failed ON refinery.chunks (document_id) WHERE eval_failure IS NOT NULL;
)sql";

// The failed extractions: a chunk whose extraction answer was unusable
// after a repair keeps the reason (it yielded no facts), counted in /stats.
inline constexpr const char* kMigration12 = R"sql(
ALTER TABLE refinery.chunks ADD COLUMN extract_failure TEXT;
CREATE INDEX chunks_extract_failed ON refinery.chunks (document_id) WHERE extract_failure IS NOT NULL;
)sql";

// As SQLite's v13: the failed chunks of each stage as counters (/stats
// stays O(stages)). The triggers fire only when a failure record appears
// or goes, so the one counter row is touched only by failures.
inline constexpr const char* kMigration13 = R"sql(
CREATE TABLE refinery.chunk_failure_totals (
  stage TEXT PRIMARY KEY,
  chunks BIGINT NOT NULL
);
INSERT INTO refinery.chunk_failure_totals (stage, chunks) VALUES
  ('evaluate', (SELECT COUNT(*) FROM refinery.chunks WHERE eval_failure IS NOT NULL)),
  ('extract', (SELECT COUNT(*) FROM refinery.chunks WHERE extract_failure IS NOT NULL));
CREATE FUNCTION refinery.count_chunk_failures() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  eval_delta INTEGER := 0;
  extract_delta INTEGER := 0;
BEGIN
  IF TG_OP = 'DELETE' THEN
    eval_delta := CASE WHEN OLD.eval_failure IS NULL THEN 0 ELSE -1 END;
    extract_delta := CASE WHEN OLD.extract_failure IS NULL THEN 0 ELSE -1 END;
  ELSE
    eval_delta := (NEW.eval_failure IS NOT NULL)::integer - (OLD.eval_failure IS NOT NULL)::integer;
    extract_delta := (NEW.extract_failure IS NOT NULL)::integer - (OLD.extract_failure IS NOT NULL)::integer;
  END IF;
  IF eval_delta <> 0 THEN
    UPDATE refinery.chunk_failure_totals SET chunks = chunks + eval_delta WHERE stage = 'evaluate';
  END IF;
  IF extract_delta <> 0 THEN
    UPDATE refinery.chunk_failure_totals SET chunks = chunks + extract_delta WHERE stage = 'extract';
  END IF;
  RETURN NULL;
END
$body$;
CREATE TRIGGER chunks_failure_update AFTER UPDATE OF eval_failure, extract_failure ON refinery.chunks
  FOR EACH ROW
  WHEN ((OLD.eval_failure IS NULL) <> (NEW.eval_failure IS NULL)
        OR (OLD.extract_failure IS NULL) <> (NEW.extract_failure IS NULL))
  EXECUTE FUNCTION refinery.count_chunk_failures();
CREATE TRIGGER chunks_failure_delete AFTER DELETE ON refinery.chunks
  FOR EACH ROW WHEN (OLD.eval_failure IS NOT NULL OR OLD.extract_failure IS NOT NULL)
  EXECUTE FUNCTION refinery.count_chunk_failures();
)sql";

}  // namespace refinery::pg

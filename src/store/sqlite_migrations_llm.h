// Schema migrations 10 to 13 (issue 12: LLM services), kept apart from the older
// ones so each file stays readable. Included by sqlite_schema.cpp only.
// Append only, as there.
#pragma once

namespace refinery::sqlite {

// The embedding cache (vectors by model and text hash, so no text is paid
// for twice) and the model of each chunk's vector, so search never compares
// vectors of two models. Vectors stored before this version can only have
// come from the built-in embedder, whose name carries the dimension.
inline constexpr const char* kMigration10 = R"sql(
CREATE TABLE embedding_cache (
  model TEXT NOT NULL,
  text_hash TEXT NOT NULL,
  vector BLOB NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
ALTER TABLE chunks ADD COLUMN embedding_model TEXT;
UPDATE chunks SET embedding_model = 'builtin-hash-' || (length(embedding) / 4) WHERE embedding IS NOT NULL;
CREATE INDEX chunks_embedding_model ON chunks(embedding_model, document_id) WHERE embedding IS NOT NULL;
)sql";

// The reasoning cache (checked answers by request hash) and the failed
// evaluations: a chunk whose evaluation was unusable after a repair keeps
// the reason instead of a score (never a default), counted in /stats.
inline constexpr const char* kMigration11 = R"sql(
CREATE TABLE llm_answers (
  request_hash TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  answer TEXT NOT NULL,
  created_at REAL NOT NULL
) WITHOUT ROWID;
ALTER TABLE chunks ADD COLUMN eval_failure TEXT;
CREATE INDEX chunks_eval_failed ON chunks (document_id) WHERE eval_failure IS NOT NULL;
)sql";

// The failed extractions: a chunk whose extraction answer was unusable
// after a repair keeps the reason (it yielded no facts), counted in /stats.
inline constexpr const char* kMigration12 = R"sql(
ALTER TABLE chunks ADD COLUMN extract_failure TEXT;
CREATE INDEX chunks_extract_failed ON chunks (document_id) WHERE extract_failure IS NOT NULL;
)sql";

// The failed chunks of each stage as counters, so /stats stays O(stages)
// and never counts rows: triggers move them only when a chunk's failure
// record appears or goes (by an update or with the chunk).
inline constexpr const char* kMigration13 = R"sql(
CREATE TABLE chunk_failure_totals (
  stage TEXT PRIMARY KEY,
  chunks INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO chunk_failure_totals (stage, chunks) VALUES
  ('evaluate', (SELECT COUNT(*) FROM chunks WHERE eval_failure IS NOT NULL)),
  ('extract', (SELECT COUNT(*) FROM chunks WHERE extract_failure IS NOT NULL));
CREATE TRIGGER chunks_eval_failure_count AFTER UPDATE OF eval_failure ON chunks
  WHEN (old.eval_failure IS NULL) != (new.eval_failure IS NULL) BEGIN
  UPDATE chunk_failure_totals SET chunks = chunks + (CASE WHEN new.eval_failure IS NULL THEN -1 ELSE 1 END)
    WHERE stage = 'evaluate';
END;
CREATE TRIGGER chunks_extract_failure_count AFTER UPDATE OF extract_failure ON chunks
  WHEN (old.extract_failure IS NULL) != (new.extract_failure IS NULL) BEGIN
  UPDATE chunk_failure_totals SET chunks = chunks + (CASE WHEN new.extract_failure IS NULL THEN -1 ELSE 1 END)
    WHERE stage = 'extract';
END;
CREATE TRIGGER chunks_failure_gone AFTER DELETE ON chunks
  WHEN old.eval_failure IS NOT NULL OR old.extract_failure IS NOT NULL BEGIN
  UPDATE chunk_failure_totals SET chunks = chunks - 1
    WHERE (stage = 'evaluate' AND old.eval_failure IS NOT NULL) OR (stage = 'extract' AND old.extract_failure IS NOT NULL);
END;
)sql";

}  // namespace refinery::sqlite

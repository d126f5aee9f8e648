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

}  // namespace refinery::pg

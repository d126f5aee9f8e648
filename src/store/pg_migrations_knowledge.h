// Schema migrations 8 and 9 (issue 11: chunk evaluations, the knowledge
// base), kept apart from the older ones so each file stays readable.
// Included by pg_schema.cpp only. Append only, as there.
#pragma once

namespace refinery::pg {

// The evaluate stage (issue 11), as in SQLite's v8: chunk evaluations,
// evaluated_count, stage_totals.evaluated (the trigger function counts it),
// and documents completed before the stage existed sent to it.
inline constexpr const char* kMigration8 = R"sql(
ALTER TABLE refinery.chunks ADD COLUMN trust_score DOUBLE PRECISION,
  ADD COLUMN relevance_score DOUBLE PRECISION, ADD COLUMN domain TEXT, ADD COLUMN eval_reasoning TEXT,
  ADD COLUMN evaluator TEXT;
ALTER TABLE refinery.documents ADD COLUMN evaluated_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refinery.stage_totals ADD COLUMN evaluated BIGINT NOT NULL DEFAULT 0;
CREATE OR REPLACE FUNCTION refinery.count_stage_totals() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  s SMALLINT;
  old_key TEXT;
  new_key TEXT;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.state = OLD.state AND NEW.error_stage = OLD.error_stage
     AND NEW.chunk_count = OLD.chunk_count AND NEW.embedded_count = OLD.embedded_count
     AND NEW.evaluated_count = OLD.evaluated_count THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN s := NEW.id % 16; ELSE s := OLD.id % 16; END IF;
  PERFORM pg_advisory_xact_lock(1919247987, s);  -- class 'refs': stage_totals shards
  IF TG_OP <> 'INSERT' THEN
    old_key := CASE WHEN OLD.state = 'error' THEN 'error:' || OLD.error_stage ELSE OLD.state END;
    UPDATE refinery.stage_totals SET documents = documents - 1, chunks = chunks - OLD.chunk_count,
      embedded = embedded - OLD.embedded_count, evaluated = evaluated - OLD.evaluated_count
      WHERE state_key = old_key AND shard = s;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    new_key := CASE WHEN NEW.state = 'error' THEN 'error:' || NEW.error_stage ELSE NEW.state END;
    INSERT INTO refinery.stage_totals AS t (state_key, shard, documents, chunks, embedded, evaluated)
      VALUES (new_key, s, 1, NEW.chunk_count, NEW.embedded_count, NEW.evaluated_count)
      ON CONFLICT (state_key, shard) DO UPDATE SET documents = t.documents + 1,
        chunks = t.chunks + EXCLUDED.chunks, embedded = t.embedded + EXCLUDED.embedded,
        evaluated = t.evaluated + EXCLUDED.evaluated;
  END IF;
  RETURN NULL;
END
$body$;
DROP TRIGGER documents_stage_totals ON refinery.documents;
CREATE TRIGGER documents_stage_totals
  AFTER INSERT OR DELETE OR UPDATE OF state, error_stage, chunk_count, embedded_count, evaluated_count
  ON refinery.documents FOR EACH ROW EXECUTE FUNCTION refinery.count_stage_totals();
UPDATE refinery.documents SET state = 'evaluating', state_changed_at = 0 WHERE state = 'complete';
)sql";

// The knowledge base (issue 11), as in SQLite's v9. Per-type totals are
// kept by a trigger; resolvers take every entity lock they need before
// their first write, so waiting on a totals row can never close a cycle.
inline constexpr const char* kMigration9 = R"sql(
CREATE TABLE refinery.mentions (
  id BIGSERIAL PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES refinery.documents (id) ON DELETE CASCADE,
  chunk_id BIGINT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  attributes TEXT NOT NULL DEFAULT '{}',
  span_start BIGINT NOT NULL,
  span_end BIGINT NOT NULL,
  trust DOUBLE PRECISION NOT NULL,
  parent_type TEXT NOT NULL DEFAULT '',
  parent_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mentions_entity ON refinery.mentions (entity_type, entity_key, document_id);
CREATE INDEX mentions_document ON refinery.mentions (document_id);
CREATE TABLE refinery.pending_resolution (
  document_id BIGINT NOT NULL REFERENCES refinery.documents (id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  PRIMARY KEY (document_id, entity_type, entity_key)
);
CREATE TABLE refinery.entities (
  id BIGSERIAL PRIMARY KEY,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  attributes TEXT NOT NULL DEFAULT '{}',
  confidence DOUBLE PRECISION NOT NULL,
  source_count BIGINT NOT NULL,
  conflict_count BIGINT NOT NULL DEFAULT 0,
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL,
  UNIQUE (entity_type, entity_key)
);
CREATE INDEX entities_confidence ON refinery.entities (confidence DESC, id);
CREATE TABLE refinery.entity_conflicts (
  id BIGSERIAL PRIMARY KEY,
  entity_id BIGINT NOT NULL REFERENCES refinery.entities (id) ON DELETE CASCADE,
  field TEXT NOT NULL,
  candidates TEXT NOT NULL,
  resolved_value TEXT NOT NULL,
  reason TEXT NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL,
  UNIQUE (entity_id, field)
);
CREATE TABLE refinery.entity_relations (
  from_type TEXT NOT NULL,
  from_key TEXT NOT NULL,
  to_type TEXT NOT NULL,
  to_key TEXT NOT NULL,
  PRIMARY KEY (from_type, from_key, to_type, to_key)
);
CREATE INDEX entity_relations_to ON refinery.entity_relations (to_type, to_key);
CREATE TABLE refinery.knowledge_totals (
  entity_type TEXT PRIMARY KEY,
  entities BIGINT NOT NULL,
  conflicts BIGINT NOT NULL
);
CREATE FUNCTION refinery.count_knowledge_totals() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.conflict_count = OLD.conflict_count THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO refinery.knowledge_totals AS t (entity_type, entities, conflicts)
      VALUES (NEW.entity_type, 1, NEW.conflict_count)
      ON CONFLICT (entity_type) DO UPDATE SET entities = t.entities + 1, conflicts = t.conflicts + EXCLUDED.conflicts;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE refinery.knowledge_totals SET entities = entities - 1, conflicts = conflicts - OLD.conflict_count
      WHERE entity_type = OLD.entity_type;
  ELSE
    UPDATE refinery.knowledge_totals SET conflicts = conflicts + NEW.conflict_count - OLD.conflict_count
      WHERE entity_type = NEW.entity_type;
  END IF;
  RETURN NULL;
END
$body$;
CREATE TRIGGER entities_knowledge_totals
  AFTER INSERT OR DELETE OR UPDATE OF conflict_count ON refinery.entities
  FOR EACH ROW EXECUTE FUNCTION refinery.count_knowledge_totals();
UPDATE refinery.documents SET state = 'extracting', state_changed_at = 0 WHERE state = 'complete';
)sql";

}  // namespace refinery::pg

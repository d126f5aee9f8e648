// Schema migrations 8 and 9 (issue 11: chunk evaluations, the knowledge
// base), kept apart from the older ones so each file stays readable.
// Included by sqlite_schema.cpp only. Append only, as there.
#pragma once

namespace refinery::sqlite {

// The evaluate stage (issue 11): each chunk's evaluation (NULL until it
// ran), evaluated_count per document and `evaluated` in stage_totals, kept
// as embedded is. Documents that completed before the stage existed go back
// to 'evaluating' with an old state_changed_at, so the reconciler hands them
// to the new stage at once instead of leaving them unevaluated.
inline constexpr const char* kMigration8 = R"sql(
ALTER TABLE chunks ADD COLUMN trust_score REAL;
ALTER TABLE chunks ADD COLUMN relevance_score REAL;
ALTER TABLE chunks ADD COLUMN domain TEXT;
ALTER TABLE chunks ADD COLUMN eval_reasoning TEXT;
ALTER TABLE chunks ADD COLUMN evaluator TEXT;
ALTER TABLE documents ADD COLUMN evaluated_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stage_totals ADD COLUMN evaluated INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER stage_totals_insert;
DROP TRIGGER stage_totals_delete;
DROP TRIGGER stage_totals_update;
CREATE TRIGGER stage_totals_insert AFTER INSERT ON documents BEGIN
  INSERT INTO stage_totals (state_key, documents, chunks, embedded, evaluated)
    VALUES (CASE WHEN new.state = 'error' THEN 'error:' || new.error_stage ELSE new.state END,
            1, new.chunk_count, new.embedded_count, new.evaluated_count)
    ON CONFLICT (state_key) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded,
      evaluated = evaluated + excluded.evaluated;
END;
CREATE TRIGGER stage_totals_delete AFTER DELETE ON documents BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count, evaluated = evaluated - old.evaluated_count
    WHERE state_key = CASE WHEN old.state = 'error' THEN 'error:' || old.error_stage ELSE old.state END;
END;
CREATE TRIGGER stage_totals_update
  AFTER UPDATE OF state, error_stage, chunk_count, embedded_count, evaluated_count ON documents
  WHEN new.state IS NOT old.state OR new.error_stage IS NOT old.error_stage
    OR new.chunk_count IS NOT old.chunk_count OR new.embedded_count IS NOT old.embedded_count
    OR new.evaluated_count IS NOT old.evaluated_count
BEGIN
  UPDATE stage_totals SET documents = documents - 1, chunks = chunks - old.chunk_count,
    embedded = embedded - old.embedded_count, evaluated = evaluated - old.evaluated_count
    WHERE state_key = CASE WHEN old.state = 'error' THEN 'error:' || old.error_stage ELSE old.state END;
  INSERT INTO stage_totals (state_key, documents, chunks, embedded, evaluated)
    VALUES (CASE WHEN new.state = 'error' THEN 'error:' || new.error_stage ELSE new.state END,
            1, new.chunk_count, new.embedded_count, new.evaluated_count)
    ON CONFLICT (state_key) DO UPDATE SET documents = documents + 1,
      chunks = chunks + excluded.chunks, embedded = embedded + excluded.embedded,
      evaluated = evaluated + excluded.evaluated;
END;
UPDATE documents SET state = 'evaluating', state_changed_at = 0 WHERE state = 'complete';
)sql";

// The knowledge base (issue 11): mentions (the provenance each document
// contributes; chunk_id is no foreign key, so re-chunking keeps them until
// the document is extracted again), the entities recomputed from them,
// their conflicts and relations (by key: a parent may be resolved later),
// the entities a document's resolve must recompute, and per-type totals
// kept by triggers so Stats() reads a few rows. Documents completed before
// the stages existed go on to extract.
inline constexpr const char* kMigration9 = R"sql(
CREATE TABLE mentions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  chunk_id INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  attributes TEXT NOT NULL DEFAULT '{}',
  span_start INTEGER NOT NULL,
  span_end INTEGER NOT NULL,
  trust REAL NOT NULL,
  parent_type TEXT NOT NULL DEFAULT '',
  parent_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mentions_entity ON mentions(entity_type, entity_key, document_id);
CREATE INDEX mentions_document ON mentions(document_id);
CREATE TABLE pending_resolution (
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  PRIMARY KEY (document_id, entity_type, entity_key)
) WITHOUT ROWID;
CREATE TABLE entities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  attributes TEXT NOT NULL DEFAULT '{}',
  confidence REAL NOT NULL,
  source_count INTEGER NOT NULL,
  conflict_count INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  UNIQUE (entity_type, entity_key)
);
CREATE INDEX entities_confidence ON entities(confidence DESC, id);
CREATE TABLE entity_conflicts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
  field TEXT NOT NULL,
  candidates TEXT NOT NULL,
  resolved_value TEXT NOT NULL,
  reason TEXT NOT NULL,
  updated_at REAL NOT NULL,
  UNIQUE (entity_id, field)
);
CREATE TABLE entity_relations (
  from_type TEXT NOT NULL,
  from_key TEXT NOT NULL,
  to_type TEXT NOT NULL,
  to_key TEXT NOT NULL,
  PRIMARY KEY (from_type, from_key, to_type, to_key)
) WITHOUT ROWID;
CREATE INDEX entity_relations_to ON entity_relations(to_type, to_key);
CREATE TABLE knowledge_totals (
  entity_type TEXT PRIMARY KEY,
  entities INTEGER NOT NULL,
  conflicts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER knowledge_totals_insert AFTER INSERT ON entities BEGIN
  INSERT INTO knowledge_totals (entity_type, entities, conflicts) VALUES (new.entity_type, 1, new.conflict_count)
    ON CONFLICT (entity_type) DO UPDATE SET entities = entities + 1, conflicts = conflicts + excluded.conflicts;
END;
CREATE TRIGGER knowledge_totals_delete AFTER DELETE ON entities BEGIN
  UPDATE knowledge_totals SET entities = entities - 1, conflicts = conflicts - old.conflict_count
    WHERE entity_type = old.entity_type;
END;
CREATE TRIGGER knowledge_totals_update AFTER UPDATE OF conflict_count ON entities
  WHEN new.conflict_count IS NOT old.conflict_count
BEGIN
  UPDATE knowledge_totals SET conflicts = conflicts + new.conflict_count - old.conflict_count
    WHERE entity_type = new.entity_type;
END;
UPDATE documents SET state = 'extracting', state_changed_at = 0 WHERE state = 'complete';
)sql";

}  // namespace refinery::sqlite

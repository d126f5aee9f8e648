// SqliteStore's KnowledgeStore: mentions, entities, conflicts, relations.
// Every write is one BEGIN IMMEDIATE transaction: SQLite's single writer
// serializes resolvers, so recounts never interleave.
#include "store/knowledge_common.h"
#include "store/sqlite_store_internal.h"

#include "core/clock.h"

namespace refinery::sqlite_store_internal {

using knowledge_common::EntityTables;
using sqlite::Connection;
using sqlite::Statement;

namespace {

#define REFINERY_MENTION_COLUMNS                                                                     \
  "m.id, m.document_id, m.chunk_id, m.entity_type, m.entity_key, m.attributes, m.span_start, m.span_end," \
  " m.trust, m.parent_type, m.parent_key"
#define REFINERY_ENTITY_COLUMNS \
  "e.id, e.entity_type, e.entity_key, e.attributes, e.confidence, e.source_count, e.conflict_count, e.created_at, e.updated_at"
#define REFINERY_CONFLICT_COLUMNS \
  "c.id, c.entity_id, e.entity_type, e.entity_key, c.field, c.candidates, c.resolved_value, c.reason, c.updated_at"

constexpr const char* kInsertMention =
    "INSERT INTO mentions (document_id, chunk_id, entity_type, entity_key, attributes, span_start, span_end, trust,"
    " parent_type, parent_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr const char* kDocumentKeys =
    "SELECT DISTINCT entity_type, entity_key FROM mentions WHERE document_id = ?1"
    " UNION SELECT entity_type, entity_key FROM pending_resolution WHERE document_id = ?1";
// Extraction failures are the document's last extract run's (v12).
constexpr const char* kClearExtractFailures =
    "UPDATE chunks SET extract_failure = NULL WHERE document_id = ?1 AND extract_failure IS NOT NULL";
constexpr const char* kSetExtractFailure =
    "UPDATE chunks SET extract_failure = substr(?1, 1, 2000) WHERE id = ?2 AND document_id = ?3";
constexpr const char* kAddPending =
    "INSERT OR IGNORE INTO pending_resolution (document_id, entity_type, entity_key) VALUES (?1, ?2, ?3)";
constexpr const char* kUpsertEntity =
    "INSERT INTO entities (entity_type, entity_key, attributes, confidence, source_count, conflict_count,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
    " ON CONFLICT (entity_type, entity_key) DO UPDATE SET attributes = excluded.attributes,"
    " confidence = excluded.confidence, source_count = excluded.source_count,"
    " conflict_count = excluded.conflict_count, updated_at = excluded.updated_at RETURNING id";
constexpr const char* kEntityFilter =
    " FROM entities e WHERE (?1 = '' OR e.entity_type = ?1) AND e.confidence >= ?2"
    " AND (?3 = '' OR instr(lower(e.entity_key), lower(?3)) > 0 OR instr(lower(e.attributes), lower(?3)) > 0)"
    " AND (?4 = '' OR substr(e.entity_key, 1, length(?4)) = ?4)"
    " AND (?5 = '' OR EXISTS (SELECT 1 FROM entity_relations r WHERE r.to_type = ?5 AND r.to_key = ?6"
    " AND r.from_type = e.entity_type AND r.from_key = e.entity_key))";

Mention ReadMention(const Statement& s, int at = 0) {
  Mention m;
  m.id = s.Int(at);
  m.document_id = s.Int(at + 1);
  m.chunk_id = s.Int(at + 2);
  m.entity = {s.Text(at + 3), s.Text(at + 4)};
  m.attributes_json = s.Text(at + 5);
  m.start = s.Int(at + 6);
  m.end = s.Int(at + 7);
  m.trust = s.Real(at + 8);
  m.parent = {s.Text(at + 9), s.Text(at + 10)};
  return m;
}

Entity ReadEntity(const Statement& s) {
  return {s.Int(0), {s.Text(1), s.Text(2)}, s.Text(3), s.Real(4), s.Int(5), s.Int(6), s.Real(7), s.Real(8)};
}

EntityConflict ReadConflict(const Statement& s) {
  return {s.Int(0), s.Int(1), {s.Text(2), s.Text(3)}, s.Text(4), s.Text(5), s.Text(6), s.Text(7), s.Real(8)};
}

// Runs a prepared query, handing each row to `on_row`.
template <typename OnRow, typename... Args>
Status Query(Connection& c, const char* sql, OnRow on_row, const Args&... args) {
  auto stmt = c.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  if constexpr (sizeof...(Args) > 0) stmt->Bind(args...);
  return ForEachRow(*stmt, on_row);
}

template <typename... Args>
Status Exec(Connection& c, const char* sql, const Args&... args) {
  auto stmt = c.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(args...).Run();
}

Result<std::vector<EntityKey>> DocumentKeys(Connection& c, int64_t document_id) {
  std::vector<EntityKey> keys;
  Status s = Query(c, kDocumentKeys, [&](const Statement& row) { keys.push_back({row.Text(0), row.Text(1)}); },
                   document_id);
  if (!s.ok()) return s;
  return keys;
}

class SqliteEntityTables final : public EntityTables {
 public:
  explicit SqliteEntityTables(Connection& c) : c_(c) {}

  Result<std::vector<Mention>> MentionsOf(const EntityKey& key) override {
    std::vector<Mention> out;
    Status s = Query(
        c_, "SELECT " REFINERY_MENTION_COLUMNS " FROM mentions m WHERE m.entity_type = ?1 AND m.entity_key = ?2"
            " ORDER BY m.document_id, m.id",
        [&](const Statement& row) { out.push_back(ReadMention(row)); }, key.type, key.key);
    if (!s.ok()) return s;
    return out;
  }
  Status DeleteEntity(const EntityKey& key) override {
    REFINERY_RETURN_IF_ERROR(Exec(c_, "DELETE FROM entities WHERE entity_type = ?1 AND entity_key = ?2", key.type,
                                  key.key));  // conflicts: ON DELETE CASCADE
    return ReplaceRelations(key, {});
  }
  Result<int64_t> UpsertEntity(const EntityKey& key, const ResolvedEntity& r) override {
    auto stmt = c_.Prepare(kUpsertEntity);
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Bind(key.type, key.key, r.attributes_json, r.confidence, r.source_count,
                          static_cast<int64_t>(r.conflicts.size()), NowSeconds())
                   .Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Internal("entity upsert returned no id");
    return stmt->Int(0);
  }
  Status ReplaceConflicts(int64_t entity_id, const std::vector<EntityConflict>& conflicts) override {
    REFINERY_RETURN_IF_ERROR(Exec(c_, "DELETE FROM entity_conflicts WHERE entity_id = ?1", entity_id));
    for (const EntityConflict& k : conflicts) {
      REFINERY_RETURN_IF_ERROR(Exec(c_,
                                    "INSERT INTO entity_conflicts (entity_id, field, candidates, resolved_value,"
                                    " reason, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                    entity_id, k.field, k.candidates_json, k.resolved_value, k.reason, NowSeconds()));
    }
    return Status::Ok();
  }
  Status ReplaceRelations(const EntityKey& key, const std::vector<EntityKey>& parents) override {
    REFINERY_RETURN_IF_ERROR(
        Exec(c_, "DELETE FROM entity_relations WHERE from_type = ?1 AND from_key = ?2", key.type, key.key));
    for (const EntityKey& p : parents) {
      REFINERY_RETURN_IF_ERROR(Exec(c_,
                                    "INSERT OR IGNORE INTO entity_relations (from_type, from_key, to_type, to_key)"
                                    " VALUES (?1, ?2, ?3, ?4)",
                                    key.type, key.key, p.type, p.key));
    }
    return Status::Ok();
  }

 private:
  Connection& c_;
};

Status RecomputeAll(Connection& c, const std::vector<EntityKey>& keys, const EntityResolver& resolve) {
  SqliteEntityTables tables(c);
  return knowledge_common::RecomputeEntities(tables, keys, resolve);
}

}  // namespace

class SqliteKnowledge final : public KnowledgeStore {
 public:
  explicit SqliteKnowledge(SqliteDb& db) : db_(db) {}

 protected:
  Status DoReplaceMentions(int64_t id, const std::vector<Mention>& mentions, const ChunkExtractionFailures& failures,
                           const StateTransition& t) override {
    return db_.Write([&](Connection& c) -> Status {
      REFINERY_RETURN_IF_ERROR(CheckState(c, id, t.from));
      auto old_keys = DocumentKeys(c, id);
      if (!old_keys.ok()) return old_keys.status();
      REFINERY_RETURN_IF_ERROR(Exec(c, "DELETE FROM mentions WHERE document_id = ?1", id));
      for (const Mention& m : mentions) {
        REFINERY_RETURN_IF_ERROR(Exec(c, kInsertMention, id, m.chunk_id, m.entity.type, m.entity.key,
                                      m.attributes_json, m.start, m.end, m.trust, m.parent.type, m.parent.key));
      }
      std::vector<EntityKey> touched = std::move(old_keys).value();
      for (EntityKey& k : knowledge_common::KeysOf(mentions)) touched.push_back(std::move(k));
      for (const EntityKey& k : touched) REFINERY_RETURN_IF_ERROR(Exec(c, kAddPending, id, k.type, k.key));
      REFINERY_RETURN_IF_ERROR(Exec(c, kClearExtractFailures, id));
      for (const auto& [chunk_id, why] : failures) {
        REFINERY_RETURN_IF_ERROR(Exec(c, kSetExtractFailure, why, chunk_id, id));
      }
      return ApplyTransition(c, id, t, std::nullopt);
    });
  }

  Status DoResolvePending(int64_t id, const EntityResolver& resolve, const StateTransition& t) override {
    return db_.Write([&](Connection& c) -> Status {
      REFINERY_RETURN_IF_ERROR(CheckState(c, id, t.from));
      std::vector<EntityKey> keys;
      REFINERY_RETURN_IF_ERROR(Query(
          c, "SELECT entity_type, entity_key FROM pending_resolution WHERE document_id = ?1",
          [&](const Statement& row) { keys.push_back({row.Text(0), row.Text(1)}); }, id));
      REFINERY_RETURN_IF_ERROR(RecomputeAll(c, keys, resolve));
      REFINERY_RETURN_IF_ERROR(Exec(c, "DELETE FROM pending_resolution WHERE document_id = ?1", id));
      return ApplyTransition(c, id, t, std::nullopt);
    });
  }

  Status DoDeleteDocument(int64_t id, const EntityResolver& resolve) override {
    return db_.Write([&](Connection& c) -> Status {
      REFINERY_RETURN_IF_ERROR(CheckExists(c, id));
      auto keys = DocumentKeys(c, id);
      if (!keys.ok()) return keys.status();
      // chunks, log, mentions, pending keys: ON DELETE CASCADE
      REFINERY_RETURN_IF_ERROR(Exec(c, "DELETE FROM documents WHERE id = ?1", id));
      return RecomputeAll(c, *keys, resolve);
    });
  }

  Result<std::vector<Mention>> DoMentions(int64_t id) override;
  Result<EntityPage> DoListEntities(const EntityQuery& q) override;
  Result<EntityDetail> DoGetEntity(int64_t id) override;
  Result<std::optional<Entity>> DoFindEntity(const EntityKey& key) override;
  Result<ConflictPage> DoListConflicts(const std::string& type, int64_t limit, int64_t offset) override;
  Result<KnowledgeStats> DoStats() override;

 private:
  SqliteDb& db_;
};

Result<std::vector<Mention>> SqliteKnowledge::DoMentions(int64_t id) {
  std::vector<Mention> out;
  Status s = db_.Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckExists(c, id));
    return Query(
        c, "SELECT " REFINERY_MENTION_COLUMNS " FROM mentions m WHERE m.document_id = ?1 ORDER BY m.id",
        [&](const Statement& row) { out.push_back(ReadMention(row)); }, id);
  });
  if (!s.ok()) return s;
  return out;
}

Result<EntityPage> SqliteKnowledge::DoListEntities(const EntityQuery& q) {
  EntityPage page;
  Status s = db_.Read([&](Connection& c) -> Status {
    const std::string list =
        std::string("SELECT " REFINERY_ENTITY_COLUMNS) + kEntityFilter + " ORDER BY e.confidence DESC, e.id LIMIT ?7 OFFSET ?8";
    REFINERY_RETURN_IF_ERROR(Query(
        c, list.c_str(), [&](const Statement& row) { page.entities.push_back(ReadEntity(row)); }, q.type,
        q.min_confidence, q.q, q.key_prefix, q.parent.type, q.parent.key, q.limit, q.offset));
    const std::string count = std::string("SELECT COUNT(*)") + kEntityFilter;
    return Query(
        c, count.c_str(), [&](const Statement& row) { page.total = row.Int(0); }, q.type, q.min_confidence, q.q,
        q.key_prefix, q.parent.type, q.parent.key);
  });
  if (!s.ok()) return s;
  return page;
}

Result<std::optional<Entity>> SqliteKnowledge::DoFindEntity(const EntityKey& key) {
  std::optional<Entity> found;
  Status s = db_.Read([&](Connection& c) -> Status {
    return Query(
        c, "SELECT " REFINERY_ENTITY_COLUMNS " FROM entities e WHERE e.entity_type = ?1 AND e.entity_key = ?2",
        [&](const Statement& row) { found = ReadEntity(row); }, key.type, key.key);
  });
  if (!s.ok()) return s;
  return found;
}

Result<EntityDetail> SqliteKnowledge::DoGetEntity(int64_t id) {
  EntityDetail d;
  bool exists = false;
  Status s = db_.Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(Query(
        c, "SELECT " REFINERY_ENTITY_COLUMNS " FROM entities e WHERE e.id = ?1",
        [&](const Statement& row) {
          d.entity = ReadEntity(row);
          exists = true;
        },
        id));
    if (!exists) return Status::Ok();
    const EntityKey& key = d.entity.entity;
    REFINERY_RETURN_IF_ERROR(Query(
        c, "SELECT " REFINERY_MENTION_COLUMNS ", d.title, c.content FROM mentions m"
           " JOIN documents d ON d.id = m.document_id LEFT JOIN chunks c ON c.id = m.chunk_id AND c.document_id = m.document_id"
           " WHERE m.entity_type = ?1 AND m.entity_key = ?2 ORDER BY m.document_id, m.chunk_id, m.span_start LIMIT 200",
        [&](const Statement& row) {
          Mention m = ReadMention(row);
          std::string excerpt = knowledge_common::Excerpt(row.Text(12), m.start, m.end);
          d.sources.push_back({std::move(m), row.Text(11), std::move(excerpt)});
        },
        key.type, key.key));
    auto related = [&](const char* sql, const char* direction) {
      return Query(
          c, sql,
          [&](const Statement& row) {
            EntityRelation r{{row.Text(0), row.Text(1)}, std::nullopt, direction};
            if (!row.IsNull(2)) r.other_id = row.Int(2);
            d.related.push_back(std::move(r));
          },
          key.type, key.key);
    };
    REFINERY_RETURN_IF_ERROR(related(
        "SELECT r.to_type, r.to_key, e.id FROM entity_relations r LEFT JOIN entities e"
        " ON e.entity_type = r.to_type AND e.entity_key = r.to_key WHERE r.from_type = ?1 AND r.from_key = ?2",
        "parent"));
    REFINERY_RETURN_IF_ERROR(related(
        "SELECT r.from_type, r.from_key, e.id FROM entity_relations r LEFT JOIN entities e"
        " ON e.entity_type = r.from_type AND e.entity_key = r.from_key WHERE r.to_type = ?1 AND r.to_key = ?2"
        " ORDER BY r.from_type, r.from_key LIMIT 500",
        "child"));
    return Query(
        c, "SELECT " REFINERY_CONFLICT_COLUMNS " FROM entity_conflicts c JOIN entities e ON e.id = c.entity_id"
           " WHERE c.entity_id = ?1 ORDER BY c.field",
        [&](const Statement& row) { d.conflicts.push_back(ReadConflict(row)); }, id);
  });
  if (!s.ok()) return s;
  if (!exists) return Status::NotFound("entity " + std::to_string(id) + " not found");
  return d;
}

Result<ConflictPage> SqliteKnowledge::DoListConflicts(const std::string& type, int64_t limit, int64_t offset) {
  ConflictPage page;
  Status s = db_.Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(Query(
        c, "SELECT " REFINERY_CONFLICT_COLUMNS " FROM entity_conflicts c JOIN entities e ON e.id = c.entity_id"
           " WHERE (?1 = '' OR e.entity_type = ?1) ORDER BY c.updated_at DESC, c.id DESC LIMIT ?2 OFFSET ?3",
        [&](const Statement& row) { page.conflicts.push_back(ReadConflict(row)); }, type, limit, offset));
    return Query(
        c, "SELECT COUNT(*) FROM entity_conflicts c JOIN entities e ON e.id = c.entity_id"
           " WHERE (?1 = '' OR e.entity_type = ?1)",
        [&](const Statement& row) { page.total = row.Int(0); }, type);
  });
  if (!s.ok()) return s;
  return page;
}

Result<KnowledgeStats> SqliteKnowledge::DoStats() {
  KnowledgeStats stats;
  Status s = db_.Read([&](Connection& c) -> Status {
    return Query(c, "SELECT entity_type, entities, conflicts FROM knowledge_totals WHERE entities > 0",
                 [&](const Statement& row) {
                   stats.entities_by_type[row.Text(0)] = row.Int(1);
                   stats.total_entities += row.Int(1);
                   stats.total_conflicts += row.Int(2);
                 });
  });
  if (!s.ok()) return s;
  return stats;
}

std::unique_ptr<KnowledgeStore> NewKnowledge(SqliteDb& db) { return std::make_unique<SqliteKnowledge>(db); }

}  // namespace refinery::sqlite_store_internal

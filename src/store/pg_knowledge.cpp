// PostgresStore's KnowledgeStore: mentions, entities, conflicts, relations.
// Resolvers on any number of machines recount an entity one at a time: each
// takes a transaction-scoped advisory lock per entity, all of them in lock
// order before its first write, then reads the committed mentions.
#include <algorithm>

#include "core/clock.h"
#include "store/knowledge_common.h"
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using knowledge_common::EntityTables;
using pg::Conn;
using pg::Params;
using pg::Rows;
using pg::TxMode;

namespace {

#define REFINERY_PG_MENTION_COLUMNS                                                                  \
  "m.id, m.document_id, m.chunk_id, m.entity_type, m.entity_key, m.attributes, m.span_start, m.span_end," \
  " m.trust, m.parent_type, m.parent_key"
#define REFINERY_PG_ENTITY_COLUMNS \
  "e.id, e.entity_type, e.entity_key, e.attributes, e.confidence, e.source_count, e.conflict_count, e.created_at, e.updated_at"
#define REFINERY_PG_CONFLICT_COLUMNS \
  "c.id, c.entity_id, e.entity_type, e.entity_key, c.field, c.candidates, c.resolved_value, c.reason, c.updated_at"

constexpr int kEntityLockClass = 1801807214;  // "knwn": the advisory lock class of entity keys
constexpr const char* kInsertMention =
    "INSERT INTO refinery.mentions (document_id, chunk_id, entity_type, entity_key, attributes, span_start,"
    " span_end, trust, parent_type, parent_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
constexpr const char* kDocumentKeys =
    "SELECT DISTINCT entity_type, entity_key FROM refinery.mentions WHERE document_id = $1"
    " UNION SELECT entity_type, entity_key FROM refinery.pending_resolution WHERE document_id = $1";
// Extraction failures are the document's last extract run's (v12).
constexpr const char* kClearExtractFailures =
    "UPDATE refinery.chunks SET extract_failure = NULL WHERE document_id = $1 AND extract_failure IS NOT NULL";
constexpr const char* kSetExtractFailure =
    "UPDATE refinery.chunks SET extract_failure = left($1, 2000) WHERE id = $2 AND document_id = $3";
constexpr const char* kAddPending =
    "INSERT INTO refinery.pending_resolution (document_id, entity_type, entity_key) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING";
constexpr const char* kUpsertEntity =
    "INSERT INTO refinery.entities (entity_type, entity_key, attributes, confidence, source_count, conflict_count,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    " ON CONFLICT (entity_type, entity_key) DO UPDATE SET attributes = EXCLUDED.attributes,"
    " confidence = EXCLUDED.confidence, source_count = EXCLUDED.source_count,"
    " conflict_count = EXCLUDED.conflict_count, updated_at = EXCLUDED.updated_at RETURNING id";
constexpr const char* kEntityFilter =
    " FROM refinery.entities e WHERE ($1 = '' OR e.entity_type = $1) AND e.confidence >= $2"
    " AND ($3 = '' OR strpos(lower(e.entity_key), lower($3)) > 0 OR strpos(lower(e.attributes), lower($3)) > 0)"
    " AND ($4 = '' OR left(e.entity_key, length($4)) = $4)"
    " AND ($5 = '' OR EXISTS (SELECT 1 FROM refinery.entity_relations r WHERE r.to_type = $5 AND r.to_key = $6"
    " AND r.from_type = e.entity_type AND r.from_key = e.entity_key))";

Mention ReadMention(const Rows& r, int i) {
  Mention m;
  m.id = r.Int(i, 0);
  m.document_id = r.Int(i, 1);
  m.chunk_id = r.Int(i, 2);
  m.entity = {r.Text(i, 3), r.Text(i, 4)};
  m.attributes_json = r.Text(i, 5);
  m.start = r.Int(i, 6);
  m.end = r.Int(i, 7);
  m.trust = r.Real(i, 8);
  m.parent = {r.Text(i, 9), r.Text(i, 10)};
  return m;
}

Entity ReadEntity(const Rows& r, int i) {
  return {r.Int(i, 0), {r.Text(i, 1), r.Text(i, 2)}, r.Text(i, 3), r.Real(i, 4), r.Int(i, 5), r.Int(i, 6),
          r.Real(i, 7), r.Real(i, 8)};
}

EntityConflict ReadConflict(const Rows& r, int i) {
  return {r.Int(i, 0),  r.Int(i, 1),  {r.Text(i, 2), r.Text(i, 3)}, r.Text(i, 4), r.Text(i, 5),
          r.Text(i, 6), r.Text(i, 7), r.Real(i, 8)};
}

// FNV-1a of "type\x1fkey" as a lock id: the same in every process.
int32_t LockId(const EntityKey& key) {
  uint32_t h = 2166136261u;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
  };
  mix(key.type);
  mix("\x1f");
  mix(key.key);
  return static_cast<int32_t>(h);
}

// Every lock before the first write, in lock order: no two resolvers can
// wait on each other (distinct keys may share a lock; that only serializes).
Status LockEntities(Conn& c, const std::vector<EntityKey>& keys) {
  std::vector<int32_t> ids;
  for (const EntityKey& k : keys) ids.push_back(LockId(k));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (int32_t id : ids) {
    REFINERY_RETURN_IF_ERROR(c.Run("SELECT pg_advisory_xact_lock($1::integer, $2::integer)",
                                   Params(kEntityLockClass, static_cast<int>(id))));
  }
  return Status::Ok();
}

Result<std::vector<EntityKey>> KeysFrom(Conn& c, const char* sql, int64_t document_id) {
  auto rows = c.Exec(sql, Params(document_id));
  if (!rows.ok()) return rows.status();
  std::vector<EntityKey> keys;
  for (int i = 0; i < rows->size(); ++i) keys.push_back({rows->Text(i, 0), rows->Text(i, 1)});
  return keys;
}

class PgEntityTables final : public EntityTables {
 public:
  explicit PgEntityTables(Conn& c) : c_(c) {}

  Result<std::vector<Mention>> MentionsOf(const EntityKey& key) override {
    auto rows = c_.Exec("SELECT " REFINERY_PG_MENTION_COLUMNS " FROM refinery.mentions m"
                        " WHERE m.entity_type = $1 AND m.entity_key = $2 ORDER BY m.document_id, m.id",
                        Params(key.type, key.key));
    if (!rows.ok()) return rows.status();
    std::vector<Mention> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(ReadMention(*rows, i));
    return out;
  }
  Status DeleteEntity(const EntityKey& key) override {
    REFINERY_RETURN_IF_ERROR(c_.Run("DELETE FROM refinery.entities WHERE entity_type = $1 AND entity_key = $2",
                                    Params(key.type, key.key)));  // conflicts: ON DELETE CASCADE
    return ReplaceRelations(key, {});
  }
  Result<int64_t> UpsertEntity(const EntityKey& key, const ResolvedEntity& r) override {
    auto rows = c_.Exec(kUpsertEntity, Params(key.type, key.key, r.attributes_json, r.confidence, r.source_count,
                                              static_cast<int64_t>(r.conflicts.size()), NowSeconds()));
    if (!rows.ok()) return rows.status();
    if (rows->size() != 1) return Status::Internal("entity upsert returned no id");
    return rows->Int(0, 0);
  }
  Status ReplaceConflicts(int64_t entity_id, const std::vector<EntityConflict>& conflicts) override {
    REFINERY_RETURN_IF_ERROR(c_.Run("DELETE FROM refinery.entity_conflicts WHERE entity_id = $1", Params(entity_id)));
    for (const EntityConflict& k : conflicts) {
      REFINERY_RETURN_IF_ERROR(c_.Run("INSERT INTO refinery.entity_conflicts (entity_id, field, candidates,"
                                      " resolved_value, reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                                      Params(entity_id, k.field, k.candidates_json, k.resolved_value, k.reason,
                                             NowSeconds())));
    }
    return Status::Ok();
  }
  Status ReplaceRelations(const EntityKey& key, const std::vector<EntityKey>& parents) override {
    REFINERY_RETURN_IF_ERROR(c_.Run("DELETE FROM refinery.entity_relations WHERE from_type = $1 AND from_key = $2",
                                    Params(key.type, key.key)));
    for (const EntityKey& p : parents) {
      REFINERY_RETURN_IF_ERROR(c_.Run("INSERT INTO refinery.entity_relations (from_type, from_key, to_type, to_key)"
                                      " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                      Params(key.type, key.key, p.type, p.key)));
    }
    return Status::Ok();
  }

 private:
  Conn& c_;
};

Status RecomputeAll(Conn& c, const std::vector<EntityKey>& keys, const EntityResolver& resolve) {
  PgEntityTables tables(c);
  return knowledge_common::RecomputeEntities(tables, keys, resolve);
}

}  // namespace

class PgKnowledge final : public KnowledgeStore {
 public:
  explicit PgKnowledge(pg::Pool& pool) : pool_(pool) {}

 protected:
  Status DoReplaceMentions(int64_t id, const std::vector<Mention>& mentions, const ChunkExtractionFailures& failures,
                           const StateTransition& t) override {
    return pool_.Run("replace mentions", TxMode::kWrite, [&](Conn& c) -> Status {
      REFINERY_RETURN_IF_ERROR(LockState(c, id, t.from));
      auto touched = KeysFrom(c, kDocumentKeys, id);
      if (!touched.ok()) return touched.status();
      REFINERY_RETURN_IF_ERROR(c.Run("DELETE FROM refinery.mentions WHERE document_id = $1", Params(id)));
      for (const Mention& m : mentions) {
        REFINERY_RETURN_IF_ERROR(c.Run(kInsertMention, Params(id, m.chunk_id, m.entity.type, m.entity.key,
                                                              m.attributes_json, m.start, m.end, m.trust,
                                                              m.parent.type, m.parent.key)));
      }
      for (EntityKey& k : knowledge_common::KeysOf(mentions)) touched->push_back(std::move(k));
      for (const EntityKey& k : *touched) REFINERY_RETURN_IF_ERROR(c.Run(kAddPending, Params(id, k.type, k.key)));
      REFINERY_RETURN_IF_ERROR(c.Run(kClearExtractFailures, Params(id)));
      for (const auto& [chunk_id, why] : failures) {
        REFINERY_RETURN_IF_ERROR(c.Run(kSetExtractFailure, Params(why, chunk_id, id)));
      }
      return ApplyTransition(c, id, t, std::nullopt);
    });
  }

  Status DoResolvePending(int64_t id, const EntityResolver& resolve, const StateTransition& t) override {
    return pool_.Run("resolve entities", TxMode::kWrite, [&](Conn& c) -> Status {
      REFINERY_RETURN_IF_ERROR(LockState(c, id, t.from));
      auto keys = KeysFrom(c, "SELECT entity_type, entity_key FROM refinery.pending_resolution WHERE document_id = $1",
                           id);
      if (!keys.ok()) return keys.status();
      REFINERY_RETURN_IF_ERROR(LockEntities(c, *keys));
      REFINERY_RETURN_IF_ERROR(RecomputeAll(c, *keys, resolve));
      REFINERY_RETURN_IF_ERROR(c.Run("DELETE FROM refinery.pending_resolution WHERE document_id = $1", Params(id)));
      return ApplyTransition(c, id, t, std::nullopt);
    });
  }

  Status DoDeleteDocument(int64_t id, const EntityResolver& resolve) override {
    return pool_.Run("delete document", TxMode::kWrite, [&](Conn& c) -> Status {
      // The document row first, then entity locks: the order ResolvePending takes them in.
      auto found = c.Exec("SELECT 1 FROM refinery.documents WHERE id = $1 FOR UPDATE", Params(id));
      if (!found.ok()) return found.status();
      if (found->size() == 0) return Status::NotFound(NotFoundMessage(id));
      auto keys = KeysFrom(c, kDocumentKeys, id);
      if (!keys.ok()) return keys.status();
      REFINERY_RETURN_IF_ERROR(LockEntities(c, *keys));
      REFINERY_RETURN_IF_ERROR(c.Run("DELETE FROM refinery.documents WHERE id = $1", Params(id)));
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
  pg::Pool& pool_;
};

Result<std::vector<Mention>> PgKnowledge::DoMentions(int64_t id) {
  std::vector<Mention> out;
  Status s = pool_.Run("mentions", TxMode::kSnapshot, [&](Conn& c) -> Status {
    auto found = c.Exec("SELECT 1 FROM refinery.documents WHERE id = $1", Params(id));
    if (!found.ok()) return found.status();
    if (found->size() == 0) return Status::NotFound(NotFoundMessage(id));
    auto rows = c.Exec("SELECT " REFINERY_PG_MENTION_COLUMNS " FROM refinery.mentions m WHERE m.document_id = $1"
                       " ORDER BY m.id",
                       Params(id));
    if (!rows.ok()) return rows.status();
    out.clear();
    for (int i = 0; i < rows->size(); ++i) out.push_back(ReadMention(*rows, i));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<EntityPage> PgKnowledge::DoListEntities(const EntityQuery& q) {
  EntityPage page;
  Status s = pool_.Run("list entities", TxMode::kSnapshot, [&](Conn& c) -> Status {
    page = EntityPage{};
    auto rows = c.Exec(std::string("SELECT " REFINERY_PG_ENTITY_COLUMNS) + kEntityFilter +
                           " ORDER BY e.confidence DESC, e.id LIMIT $7 OFFSET $8",
                       Params(q.type, q.min_confidence, q.q, q.key_prefix, q.parent.type, q.parent.key, q.limit,
                              q.offset));
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->size(); ++i) page.entities.push_back(ReadEntity(*rows, i));
    auto count = c.Exec(std::string("SELECT COUNT(*)") + kEntityFilter, Params(q.type, q.min_confidence, q.q, q.key_prefix, q.parent.type, q.parent.key));
    if (!count.ok()) return count.status();
    page.total = count->Int(0, 0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Result<std::optional<Entity>> PgKnowledge::DoFindEntity(const EntityKey& key) {
  std::optional<Entity> found;
  Status s = pool_.Run("find entity", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec("SELECT " REFINERY_PG_ENTITY_COLUMNS " FROM refinery.entities e"
                       " WHERE e.entity_type = $1 AND e.entity_key = $2",
                       Params(key.type, key.key));
    if (!rows.ok()) return rows.status();
    found.reset();
    if (rows->size() > 0) found = ReadEntity(*rows, 0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return found;
}

Result<EntityDetail> PgKnowledge::DoGetEntity(int64_t id) {
  EntityDetail d;
  bool exists = false;
  Status s = pool_.Run("get entity", TxMode::kSnapshot, [&](Conn& c) -> Status {
    d = EntityDetail{};
    auto entity = c.Exec("SELECT " REFINERY_PG_ENTITY_COLUMNS " FROM refinery.entities e WHERE e.id = $1", Params(id));
    if (!entity.ok()) return entity.status();
    exists = entity->size() > 0;
    if (!exists) return Status::Ok();
    d.entity = ReadEntity(*entity, 0);
    const Params key(d.entity.entity.type, d.entity.entity.key);
    auto sources = c.Exec("SELECT " REFINERY_PG_MENTION_COLUMNS ", d.title, c.content FROM refinery.mentions m"
                          " JOIN refinery.documents d ON d.id = m.document_id LEFT JOIN refinery.chunks c"
                          " ON c.id = m.chunk_id AND c.document_id = m.document_id"
                          " WHERE m.entity_type = $1 AND m.entity_key = $2"
                          " ORDER BY m.document_id, m.chunk_id, m.span_start LIMIT 200",
                          key);
    if (!sources.ok()) return sources.status();
    for (int i = 0; i < sources->size(); ++i) {
      Mention m = ReadMention(*sources, i);
      std::string excerpt = knowledge_common::Excerpt(sources->Text(i, 12), m.start, m.end);
      d.sources.push_back({std::move(m), sources->Text(i, 11), std::move(excerpt)});
    }
    for (const auto& [sql, direction] :
         {std::pair{"SELECT r.to_type, r.to_key, e.id FROM refinery.entity_relations r LEFT JOIN refinery.entities e"
                    " ON e.entity_type = r.to_type AND e.entity_key = r.to_key"
                    " WHERE r.from_type = $1 AND r.from_key = $2",
                    "parent"},
          std::pair{"SELECT r.from_type, r.from_key, e.id FROM refinery.entity_relations r LEFT JOIN refinery.entities e"
                    " ON e.entity_type = r.from_type AND e.entity_key = r.from_key"
                    " WHERE r.to_type = $1 AND r.to_key = $2 ORDER BY r.from_type, r.from_key LIMIT 500",
                    "child"}}) {
      auto rows = c.Exec(sql, key);
      if (!rows.ok()) return rows.status();
      for (int i = 0; i < rows->size(); ++i) {
        EntityRelation r{{rows->Text(i, 0), rows->Text(i, 1)}, std::nullopt, direction};
        if (!rows->IsNull(i, 2)) r.other_id = rows->Int(i, 2);
        d.related.push_back(std::move(r));
      }
    }
    auto conflicts = c.Exec("SELECT " REFINERY_PG_CONFLICT_COLUMNS " FROM refinery.entity_conflicts c"
                            " JOIN refinery.entities e ON e.id = c.entity_id WHERE c.entity_id = $1 ORDER BY c.field",
                            Params(id));
    if (!conflicts.ok()) return conflicts.status();
    for (int i = 0; i < conflicts->size(); ++i) d.conflicts.push_back(ReadConflict(*conflicts, i));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!exists) return Status::NotFound("entity " + std::to_string(id) + " not found");
  return d;
}

Result<ConflictPage> PgKnowledge::DoListConflicts(const std::string& type, int64_t limit, int64_t offset) {
  ConflictPage page;
  Status s = pool_.Run("list conflicts", TxMode::kSnapshot, [&](Conn& c) -> Status {
    page = ConflictPage{};
    auto rows = c.Exec("SELECT " REFINERY_PG_CONFLICT_COLUMNS " FROM refinery.entity_conflicts c"
                       " JOIN refinery.entities e ON e.id = c.entity_id WHERE ($1 = '' OR e.entity_type = $1)"
                       " ORDER BY c.updated_at DESC, c.id DESC LIMIT $2 OFFSET $3",
                       Params(type, limit, offset));
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->size(); ++i) page.conflicts.push_back(ReadConflict(*rows, i));
    auto count = c.Exec("SELECT COUNT(*) FROM refinery.entity_conflicts c JOIN refinery.entities e"
                        " ON e.id = c.entity_id WHERE ($1 = '' OR e.entity_type = $1)",
                        Params(type));
    if (!count.ok()) return count.status();
    page.total = count->Int(0, 0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Result<KnowledgeStats> PgKnowledge::DoStats() {
  KnowledgeStats stats;
  Status s = pool_.Run("knowledge stats", TxMode::kNone, [&](Conn& c) -> Status {
    stats = KnowledgeStats{};
    auto rows = c.Exec("SELECT entity_type, entities, conflicts FROM refinery.knowledge_totals WHERE entities > 0");
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->size(); ++i) {
      stats.entities_by_type[rows->Text(i, 0)] = rows->Int(i, 1);
      stats.total_entities += rows->Int(i, 1);
      stats.total_conflicts += rows->Int(i, 2);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return stats;
}

std::unique_ptr<KnowledgeStore> NewKnowledge(pg::Pool& pool) { return std::make_unique<PgKnowledge>(pool); }

}  // namespace refinery::postgres_store_internal

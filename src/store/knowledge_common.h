// The knowledge base's backend-independent half: the argument checks of
// KnowledgeStore's front, and recomputing one entity from its mentions over
// a backend's primitives. Internal to the store module.
#pragma once

#include <string>
#include <vector>

#include "store/knowledge.h"

namespace refinery::knowledge_common {

// The per-entity writes of one backend, inside the caller's write
// transaction (and, on PostgreSQL, under that entity's lock).
class EntityTables {
 public:
  virtual ~EntityTables() = default;
  // Every mention of the entity, by document then id.
  virtual Result<std::vector<Mention>> MentionsOf(const EntityKey& key) = 0;
  // Deletes the entity (if present) with its conflicts and the relations it holds.
  virtual Status DeleteEntity(const EntityKey& key) = 0;
  // Inserts or updates the entity; returns its id (stable across updates).
  virtual Result<int64_t> UpsertEntity(const EntityKey& key, const ResolvedEntity& resolved) = 0;
  virtual Status ReplaceConflicts(int64_t entity_id, const std::vector<EntityConflict>& conflicts) = 0;
  virtual Status ReplaceRelations(const EntityKey& key, const std::vector<EntityKey>& parents) = 0;
};

// Recomputes one entity from all of its mentions: deleted when none is
// left, else written as `resolve` says.
Status RecomputeEntity(EntityTables& tables, const EntityKey& key, const EntityResolver& resolve);
// RecomputeEntity for each key, in order; stops at the first failure.
Status RecomputeEntities(EntityTables& tables, const std::vector<EntityKey>& keys, const EntityResolver& resolve);

// The checks behind KnowledgeStore's InvalidArgument contract.
Status CheckMentions(const std::vector<Mention>& mentions);
Status CheckPage(int64_t limit, int64_t offset);

// The distinct entities of `mentions`, sorted.
std::vector<EntityKey> KeysOf(const std::vector<Mention>& mentions);

// At most 300 bytes of `chunk` around [start, end), cut on UTF-8 boundaries.
std::string Excerpt(const std::string& chunk, int64_t start, int64_t end);

}  // namespace refinery::knowledge_common

// KnowledgeStore: the knowledge base. The extract stage writes each
// document's *mentions* (provenance: which chunk said what about which
// entity, with that chunk's trust); the resolve stage recomputes every
// entity a document touched from all of that entity's mentions, across
// documents. Entities, their conflicts and relations are never incremented,
// only recomputed from mentions, per affected entity: re-delivered jobs,
// re-processed documents and concurrent resolvers cannot skew a count.
//
// Public methods validate once, then call the backend's Do* method.
// Errors common to every method: Unavailable or Timeout while the database
// is down or busy. Thread-safety: as DocumentStore; any number of resolvers
// in any number of processes may run at once (per-entity locks, taken in
// key order).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery {

// An entity is known by its type and normalised key ("acronym", "DTI").
struct EntityKey {
  std::string type;
  std::string key;
  auto operator<=>(const EntityKey&) const = default;
};

// One mention of an entity in a chunk of a document.
struct Mention {
  int64_t id = 0;           // assigned by the store
  int64_t document_id = 0;  // set by the store from the call
  int64_t chunk_id = 0;     // the chunk it was found in (not a foreign key: re-chunking keeps it until re-extracted)
  EntityKey entity;
  std::string attributes_json = "{}";  // a JSON object: the values this source gives
  int64_t start = 0;                   // byte span in the chunk: [start, end)
  int64_t end = 0;
  double trust = 0.5;        // the chunk's trust when it was extracted
  EntityKey parent;          // the entity a child record belongs to (a cause's DTC); empty type: none
};

// A field whose sources disagree: every candidate value with its support,
// the value chosen and why.
struct EntityConflict {
  int64_t id = 0;
  int64_t entity_id = 0;
  EntityKey entity;
  std::string field;
  std::string candidates_json = "[]";  // [{value, sources, documents, summed_trust}], best first
  std::string resolved_value;
  std::string reason;
  double updated_at = 0;
};

struct Entity {
  int64_t id = 0;
  EntityKey entity;
  std::string attributes_json = "{}";
  double confidence = 0;  // [0, 1]
  int64_t source_count = 0;  // distinct documents with a mention
  int64_t conflict_count = 0;
  double created_at = 0;
  double updated_at = 0;
};

// What a resolver computes for one entity from all of its mentions.
struct ResolvedEntity {
  std::string attributes_json = "{}";
  double confidence = 0;
  int64_t source_count = 0;
  std::vector<EntityConflict> conflicts;  // field, candidates_json, resolved_value, reason
  std::vector<EntityKey> parents;         // relations: this entity belongs to each
};
// REQUIRES: mentions non-empty (an entity without mentions is deleted, not resolved).
using EntityResolver = std::function<ResolvedEntity(const EntityKey&, const std::vector<Mention>&)>;

struct EntityQuery {
  std::string type;     // empty: any
  std::string q;        // case-insensitive substring of the key or attributes; empty: any
  double min_confidence = 0;
  int64_t limit = 50;
  int64_t offset = 0;
  std::string key_prefix;  // keys starting with it (case-sensitive: "P" for powertrain DTCs); empty: any
  // Children of this entity (those with a relation to it, whether it has
  // been resolved or not): a DTC's causes and steps in one query. An empty
  // type: any entity.
  EntityKey parent;
};

struct EntityPage {
  std::vector<Entity> entities;  // by confidence (highest first), then id
  int64_t total = 0;             // matching entities, ignoring limit/offset
};

// A mention as GET /entities/{id} shows it: with the chunk's text around it.
struct EntitySource {
  Mention mention;
  std::string document_title;
  std::string excerpt;  // the chunk's text (at most 300 bytes around the span); empty when the chunk is gone
};

struct EntityRelation {
  EntityKey other;
  std::optional<int64_t> other_id;  // absent when that entity has no mention left
  std::string direction;            // "parent": this entity belongs to other; "child": other belongs to this
};

struct EntityDetail {
  Entity entity;
  std::vector<EntitySource> sources;  // by document, then chunk, then span (at most 200)
  std::vector<EntityRelation> related;
  std::vector<EntityConflict> conflicts;
};

struct ConflictPage {
  std::vector<EntityConflict> conflicts;  // newest first
  int64_t total = 0;
};

using ChunkExtractionFailures = std::vector<std::pair<int64_t, std::string>>;  // chunk id, why

struct KnowledgeStats {
  std::map<std::string, int64_t> entities_by_type;  // types with at least one entity
  int64_t total_entities = 0;
  int64_t total_conflicts = 0;
};

class KnowledgeStore {
 public:
  virtual ~KnowledgeStore() = default;

  // Replaces the document's mentions with `mentions` (ids and document_id
  // ignored), marks every entity whose mentions changed (old and new) as
  // pending resolution for the document, and applies `t`, in one
  // transaction. NotFound if the document is absent; Conflict (no write) if
  // not in t.from. InvalidArgument: an empty type or key, a key over 512 or
  // attributes over 64 KiB, attributes not a JSON object, start > end, trust
  // outside [0, 1]. The same transaction records each chunk of `failures`
  // as a failed extraction with its reason (Chunk::extraction_failure,
  // counted in StoreStats) and clears the record of the document's others;
  // a chunk id not of the document is ignored.
  Status ReplaceMentions(int64_t document_id, const std::vector<Mention>& mentions, const StateTransition& t,
                         const ChunkExtractionFailures& failures = {});
  // Recomputes every entity pending for the document with `resolve` from
  // all of its mentions (an entity left without one is deleted with its
  // conflicts and relations), clears them and applies `t`, in one
  // transaction. NotFound / Conflict as ReplaceMentions.
  Status ResolvePending(int64_t document_id, const EntityResolver& resolve, const StateTransition& t);
  // Deletes the document (chunks, log, mentions) and recomputes every
  // entity it was a source of, in one transaction. NotFound if absent.
  Status DeleteDocument(int64_t document_id, const EntityResolver& resolve);

  Result<std::vector<Mention>> Mentions(int64_t document_id);  // NotFound if the document is absent
  // InvalidArgument: limit outside 1..1000, offset < 0, min_confidence outside [0, 1].
  Result<EntityPage> ListEntities(const EntityQuery& query);
  Result<EntityDetail> GetEntity(int64_t id);  // NotFound if absent
  Result<std::optional<Entity>> FindEntity(const EntityKey& key);
  // Conflicts of entities of `type` (empty: any). InvalidArgument as ListEntities.
  Result<ConflictPage> ListConflicts(const std::string& type, int64_t limit, int64_t offset);
  // Kept as counters in the resolving transactions: O(types).
  Result<KnowledgeStats> Stats();

 protected:
  // REQUIRES (each): the arguments passed the checks above.
  virtual Status DoReplaceMentions(int64_t document_id, const std::vector<Mention>& mentions,
                                   const ChunkExtractionFailures& failures, const StateTransition& t) = 0;
  virtual Status DoResolvePending(int64_t document_id, const EntityResolver& resolve, const StateTransition& t) = 0;
  virtual Status DoDeleteDocument(int64_t document_id, const EntityResolver& resolve) = 0;
  virtual Result<std::vector<Mention>> DoMentions(int64_t document_id) = 0;
  virtual Result<EntityPage> DoListEntities(const EntityQuery& query) = 0;
  virtual Result<EntityDetail> DoGetEntity(int64_t id) = 0;
  virtual Result<std::optional<Entity>> DoFindEntity(const EntityKey& key) = 0;
  virtual Result<ConflictPage> DoListConflicts(const std::string& type, int64_t limit, int64_t offset) = 0;
  virtual Result<KnowledgeStats> DoStats() = 0;
};

}  // namespace refinery

// KnowledgeStore's shared front: the argument checks every backend relies on.
#include "store/knowledge.h"

#include "store/knowledge_common.h"

namespace refinery {

using knowledge_common::CheckMentions;
using knowledge_common::CheckPage;

Status KnowledgeStore::ReplaceMentions(int64_t document_id, const std::vector<Mention>& mentions,
                                       const StateTransition& t, const ChunkExtractionFailures& failures) {
  REFINERY_RETURN_IF_ERROR(CheckMentions(mentions));
  return DoReplaceMentions(document_id, mentions, failures, t);
}

Status KnowledgeStore::ResolvePending(int64_t document_id, const EntityResolver& resolve, const StateTransition& t) {
  return DoResolvePending(document_id, resolve, t);
}

Status KnowledgeStore::DeleteDocument(int64_t document_id, const EntityResolver& resolve) {
  return DoDeleteDocument(document_id, resolve);
}

Result<std::vector<Mention>> KnowledgeStore::Mentions(int64_t document_id) { return DoMentions(document_id); }

Result<EntityPage> KnowledgeStore::ListEntities(const EntityQuery& query) {
  REFINERY_RETURN_IF_ERROR(CheckPage(query.limit, query.offset));
  if (!(query.min_confidence >= 0 && query.min_confidence <= 1)) {
    return Status::InvalidArgument("min_confidence must be in [0, 1]");
  }
  return DoListEntities(query);
}

Result<EntityDetail> KnowledgeStore::GetEntity(int64_t id) { return DoGetEntity(id); }

Result<std::optional<Entity>> KnowledgeStore::FindEntity(const EntityKey& key) { return DoFindEntity(key); }

Result<ConflictPage> KnowledgeStore::ListConflicts(const std::string& type, int64_t limit, int64_t offset) {
  REFINERY_RETURN_IF_ERROR(CheckPage(limit, offset));
  return DoListConflicts(type, limit, offset);
}

Result<KnowledgeStats> KnowledgeStore::Stats() { return DoStats(); }

}  // namespace refinery

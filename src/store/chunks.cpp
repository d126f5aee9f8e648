// ChunkStore's shared front: the argument checks every backend relies on.
#include "store/chunks.h"

#include <set>
#include <string>

namespace refinery {
namespace {

// Duplicate indexes would violate UNIQUE(document_id, chunk_index) halfway
// through a write; reject them up front as the caller's mistake.
Status CheckChunks(const std::vector<Chunk>& chunks) {
  std::set<int> seen;
  for (const Chunk& c : chunks) {
    if (c.chunk_index < 0) return Status::InvalidArgument("chunk_index must be >= 0");
    if (!seen.insert(c.chunk_index).second) {
      return Status::InvalidArgument("duplicate chunk_index " + std::to_string(c.chunk_index));
    }
    if (c.char_start < 0 || c.char_start > c.char_end) {
      return Status::InvalidArgument("chunk " + std::to_string(c.chunk_index) + ": need 0 <= char_start <= char_end");
    }
  }
  return Status::Ok();
}

Status CheckEvaluations(const ChunkEvaluations& evaluations) {
  for (const auto& [chunk_id, e] : evaluations) {
    const std::string which = "evaluation of chunk " + std::to_string(chunk_id);
    if (!(e.trust_score >= 0 && e.trust_score <= 1) || !(e.relevance_score >= 0 && e.relevance_score <= 1)) {
      return Status::InvalidArgument(which + ": scores must be in [0, 1]");
    }
    if (e.domain.empty() || e.domain.size() > 64) return Status::InvalidArgument(which + ": domain must be 1..64 bytes");
    if (e.evaluator.empty() || e.evaluator.size() > 256) {
      return Status::InvalidArgument(which + ": evaluator must be 1..256 bytes");
    }
    if (e.reasoning.size() > 4096) return Status::InvalidArgument(which + ": reasoning over 4096 bytes");
  }
  return Status::Ok();
}

}  // namespace

Status ChunkStore::Replace(int64_t document_id, const std::vector<Chunk>& chunks, const StateTransition& t) {
  REFINERY_RETURN_IF_ERROR(CheckChunks(chunks));
  return DoReplace(document_id, chunks, t);
}

Result<std::vector<Chunk>> ChunkStore::Get(int64_t document_id) { return DoGet(document_id); }

Status ChunkStore::SetEmbeddings(int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors,
                                 const StateTransition& t) {
  if (model.empty() || model.size() > 256) return Status::InvalidArgument("embedding model must be 1..256 bytes");
  return DoSetEmbeddings(document_id, model, vectors, t);
}

Status ChunkStore::SetEvaluations(int64_t document_id, const ChunkEvaluations& evaluations, const StateTransition& t,
                                  const ChunkEvaluationFailures& failures) {
  REFINERY_RETURN_IF_ERROR(CheckEvaluations(evaluations));
  for (const auto& [chunk_id, f] : failures) {
    if (f.evaluator.empty() || f.evaluator.size() > 256 || f.reason.empty()) {
      return Status::InvalidArgument("evaluation failure of chunk " + std::to_string(chunk_id) +
                                     ": needs an evaluator (1..256 bytes) and a reason");
    }
  }
  return DoSetEvaluations(document_id, evaluations, failures, t);
}

Result<std::vector<ChunkVector>> ChunkStore::ScanEmbeddings(int64_t after_chunk_id, int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  if (limit == 0) return std::vector<ChunkVector>{};
  return DoScanEmbeddings(after_chunk_id, limit);
}

Result<std::vector<int64_t>> ChunkStore::EmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                               int64_t after_document_id, int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  if (model.empty()) return Status::InvalidArgument("embedding model must not be empty");
  if (limit == 0) return std::vector<int64_t>{};
  return DoEmbeddedByOtherModels(model, state, after_document_id, limit);
}

Result<std::vector<ChunkHit>> ChunkStore::Hits(const std::vector<int64_t>& chunk_ids) {
  const std::set<int64_t> unique(chunk_ids.begin(), chunk_ids.end());
  if (unique.empty()) return std::vector<ChunkHit>{};
  return DoHits(std::vector<int64_t>(unique.begin(), unique.end()));
}

}  // namespace refinery

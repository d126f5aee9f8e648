// ChunkStore: a document's chunks and their embeddings. Writes that move a
// document on carry the state transition and commit with it.
//
// Public methods validate once, then call the backend's Do* method (see
// documents.h). Errors common to every method: Unavailable or Timeout while
// the database is down or busy. Thread-safety: as DocumentStore.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery {

using ChunkEmbeddings = std::vector<std::pair<int64_t, std::vector<float>>>;  // chunk id, vector
using ChunkEvaluations = std::vector<std::pair<int64_t, ChunkEvaluation>>;     // chunk id, evaluation
using ChunkEvaluationFailures = std::vector<std::pair<int64_t, EvaluationFailure>>;  // chunk id, why

class ChunkStore {
 public:
  virtual ~ChunkStore() = default;

  // Replaces every chunk of the document with `chunks` (ids and
  // document_id ignored), sets chunk_count and applies `t`, in one
  // transaction. NotFound if the document is absent; Conflict (and no
  // write) if it is not in t.from. InvalidArgument: a repeated or negative
  // chunk_index, or char_start > char_end.
  Status Replace(int64_t document_id, const std::vector<Chunk>& chunks, const StateTransition& t);
  // The document's chunks ordered by chunk_index, embeddings included;
  // empty when it has none. NotFound if the document is absent.
  Result<std::vector<Chunk>> Get(int64_t document_id);
  // Sets the embedding of each listed chunk, tagged with the `model` that
  // computed it, and applies `t`, in one transaction. NotFound (and no
  // write) if the document is absent or a listed chunk is not one of its
  // chunks; Conflict (and no write) if it is not in t.from;
  // InvalidArgument for a model name that is empty or over 256 bytes.
  Status SetEmbeddings(int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors,
                       const StateTransition& t);
  // Sets the evaluation of each listed chunk (replacing an earlier one) and
  // applies `t`, in one transaction; the document's evaluated count (and
  // Stats().chunks_evaluated) follows. NotFound / Conflict as
  // SetEmbeddings. InvalidArgument (no write): a score outside [0, 1], an
  // empty domain or evaluator, a domain over 64 or a reasoning over 4096 bytes.
  // Each of `failures` replaces its chunk's evaluation with the failure
  // (no score; counted in Stats().chunks_evaluation_failed); an evaluation
  // clears an earlier failure. InvalidArgument: an empty evaluator or reason.
  Status SetEvaluations(int64_t document_id, const ChunkEvaluations& evaluations, const StateTransition& t,
                        const ChunkEvaluationFailures& failures = {});
  // Every stored embedding whose chunk id is greater than `after_chunk_id`,
  // in chunk id order, at most `limit` (lets callers page and cache), each
  // with its model. InvalidArgument for a negative limit.
  Result<std::vector<ChunkVector>> ScanEmbeddings(int64_t after_chunk_id, int64_t limit);
  // Documents (ids ascending, greater than `after_document_id`, at most
  // `limit`) in `state` with a chunk whose vector another model computed:
  // what `refinery reembed` hands back to the embed stage. InvalidArgument
  // for a negative limit or an empty model.
  Result<std::vector<int64_t>> EmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                     int64_t after_document_id, int64_t limit);
  // The listed chunks (repeats ignored) with their documents' titles, in no
  // particular order; unknown ids (e.g. a just-deleted document) are simply
  // absent, never an error.
  Result<std::vector<ChunkHit>> Hits(const std::vector<int64_t>& chunk_ids);

 protected:
  // REQUIRES (each): the arguments passed the checks above; Hits gets
  // distinct ids, at least one.
  virtual Status DoReplace(int64_t document_id, const std::vector<Chunk>& chunks, const StateTransition& t) = 0;
  virtual Result<std::vector<Chunk>> DoGet(int64_t document_id) = 0;
  virtual Status DoSetEmbeddings(int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors,
                                 const StateTransition& t) = 0;
  virtual Status DoSetEvaluations(int64_t document_id, const ChunkEvaluations& evaluations,
                                  const ChunkEvaluationFailures& failures, const StateTransition& t) = 0;
  virtual Result<std::vector<ChunkVector>> DoScanEmbeddings(int64_t after_chunk_id, int64_t limit) = 0;
  virtual Result<std::vector<int64_t>> DoEmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                               int64_t after_document_id, int64_t limit) = 0;
  virtual Result<std::vector<ChunkHit>> DoHits(const std::vector<int64_t>& chunk_ids) = 0;
};

}  // namespace refinery

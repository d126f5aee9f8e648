// PostgresStore's ChunkStore: chunks and embeddings.
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::TxMode;

namespace {

constexpr const char* kInsertChunk =
    "INSERT INTO refinery.chunks (document_id, chunk_index, content, char_start, char_end,"
    " token_count, embedding, embedding_model) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
// LEFT JOIN from the document: no row means no document, one row with a
// NULL chunk id means a document without chunks. One round trip either way.
constexpr const char* kGetChunks = "SELECT " REFINERY_PG_CHUNK_COLUMNS
                                   ", c.embedding, c.embedding_model FROM refinery.documents d"
                                   " LEFT JOIN refinery.chunks c ON c.document_id = d.id"
                                   " WHERE d.id = $1 ORDER BY c.chunk_index";
// The document's chunk figures, recounted after its embeddings changed
// (an index range scan of one document's chunks).
constexpr const char* kCountChunks =
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE embedding IS NOT NULL), COUNT(*) FILTER (WHERE trust_score IS NOT NULL)"
    " FROM refinery.chunks WHERE document_id = $1";
constexpr const char* kSetEvaluation =
    "UPDATE refinery.chunks SET trust_score = $1, relevance_score = $2, domain = $3, eval_reasoning = $4,"
    " evaluator = $5, eval_failure = NULL WHERE id = $6 AND document_id = $7";
// The reason is capped: a model's error text can be long.
constexpr const char* kSetEvaluationFailure =
    "UPDATE refinery.chunks SET trust_score = NULL, relevance_score = NULL, domain = NULL, eval_reasoning = NULL,"
    " evaluator = $1, eval_failure = left($2, 2000) WHERE id = $3 AND document_id = $4";
constexpr const char* kSetEmbedding =
    "UPDATE refinery.chunks SET embedding = $1, embedding_model = $4 WHERE id = $2 AND document_id = $3";
constexpr const char* kScanEmbeddings =
    "SELECT id, document_id, embedding, embedding_model FROM refinery.chunks"
    " WHERE id > $1 AND embedding IS NOT NULL ORDER BY id LIMIT $2";
// Documents in a state whose vectors another model wrote (v10's index).
constexpr const char* kOtherModels =
    "SELECT d.id FROM refinery.documents d WHERE d.id > $3 AND d.state = $2 AND EXISTS (SELECT 1"
    " FROM refinery.chunks c WHERE c.document_id = d.id AND c.embedding IS NOT NULL"
    " AND c.embedding_model IS DISTINCT FROM $1) ORDER BY d.id LIMIT $4";
// Search results need text and title, not the vector: the embedding is left empty.
constexpr const char* kChunkHits = "SELECT " REFINERY_PG_CHUNK_COLUMNS
                                   ", d.title FROM refinery.chunks c"
                                   " JOIN refinery.documents d ON d.id = c.document_id"
                                   " WHERE c.id = ANY($1::bigint[])";

Status InsertChunks(Conn& conn, int64_t document_id, const std::vector<Chunk>& chunks) {
  for (const Chunk& c : chunks) {
    REFINERY_RETURN_IF_ERROR(conn.Run(kInsertChunk, Params(document_id, c.chunk_index, c.content, c.char_start,
                                                           c.char_end, c.token_count, c.embedding,
                                                           c.embedding_model)));
  }
  return Status::Ok();
}

Status UpdateEmbeddings(Conn& conn, int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors) {
  for (const auto& [chunk_id, embedding] : vectors) {
    auto rows = conn.Exec(kSetEmbedding, Params(embedding, chunk_id, document_id, model));
    if (!rows.ok()) return rows.status();
    if (rows->Affected() == 0) {  // the whole transaction rolls back: nothing written
      return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " + std::to_string(document_id) +
                              " does not exist");
    }
  }
  return Status::Ok();
}

Status UpdateEvaluations(Conn& conn, int64_t document_id, const ChunkEvaluations& evaluations) {
  for (const auto& [chunk_id, e] : evaluations) {
    auto rows = conn.Exec(kSetEvaluation, Params(e.trust_score, e.relevance_score, e.domain, e.reasoning, e.evaluator,
                                                 chunk_id, document_id));
    if (!rows.ok()) return rows.status();
    if (rows->Affected() == 0) {  // the whole transaction rolls back: nothing written
      return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " + std::to_string(document_id) +
                              " does not exist");
    }
  }
  return Status::Ok();
}

Status UpdateFailures(Conn& conn, int64_t document_id, const ChunkEvaluationFailures& failures) {
  for (const auto& [chunk_id, f] : failures) {
    auto rows = conn.Exec(kSetEvaluationFailure, Params(f.evaluator, f.reason, chunk_id, document_id));
    if (!rows.ok()) return rows.status();
    if (rows->Affected() == 0) {  // the whole transaction rolls back: nothing written
      return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " + std::to_string(document_id) +
                              " does not exist");
    }
  }
  return Status::Ok();
}

Result<ChunkCounts> CountChunks(Conn& conn, int64_t document_id) {
  auto rows = conn.Exec(kCountChunks, Params(document_id));
  if (!rows.ok()) return rows.status();
  return ChunkCounts{rows->Int(0, 0), rows->Int(0, 1), rows->Int(0, 2)};
}

// "{1,2,3}": a bigint[] literal.
std::string ArrayLiteral(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (int64_t id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "}";
}

class PgChunks final : public ChunkStore {
 public:
  explicit PgChunks(pg::Pool& pool) : pool_(pool) {}

 protected:
  Status DoReplace(int64_t document_id, const std::vector<Chunk>& chunks, const StateTransition& t) override;
  Result<std::vector<Chunk>> DoGet(int64_t document_id) override;
  Status DoSetEmbeddings(int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors,
                         const StateTransition& t) override;
  Status DoSetEvaluations(int64_t document_id, const ChunkEvaluations& evaluations,
                          const ChunkEvaluationFailures& failures, const StateTransition& t) override;
  Result<std::vector<ChunkVector>> DoScanEmbeddings(int64_t after_chunk_id, int64_t limit) override;
  Result<std::vector<int64_t>> DoEmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                       int64_t after_document_id, int64_t limit) override;
  Result<std::vector<ChunkHit>> DoHits(const std::vector<int64_t>& chunk_ids) override;

 private:
  pg::Pool& pool_;
};

Status PgChunks::DoReplace(int64_t document_id, const std::vector<Chunk>& chunks, const StateTransition& t) {
  return pool_.Run("replace chunks", TxMode::kWrite, [&](Conn& c) -> Status {
    REFINERY_RETURN_IF_ERROR(LockState(c, document_id, t.from));
    REFINERY_RETURN_IF_ERROR(c.Run("DELETE FROM refinery.chunks WHERE document_id = $1", Params(document_id)));
    REFINERY_RETURN_IF_ERROR(InsertChunks(c, document_id, chunks));
    return ApplyTransition(c, document_id, t, CountsOf(chunks));
  });
}

Result<std::vector<Chunk>> PgChunks::DoGet(int64_t document_id) {
  std::vector<Chunk> chunks;
  Status s = pool_.Run("get chunks", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kGetChunks, Params(document_id));
    if (!rows.ok()) return rows.status();
    if (rows->size() == 0) return Status::NotFound(NotFoundMessage(document_id));
    chunks.clear();
    for (int i = 0; i < rows->size(); ++i) {
      if (rows->IsNull(i, 0)) continue;  // the document has no chunks
      chunks.push_back(ReadChunk(*rows, i));
      chunks.back().embedding = rows->Floats(i, kChunkColumns);
      chunks.back().embedding_model = rows->Text(i, kChunkColumns + 1);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return chunks;
}

Status PgChunks::DoSetEmbeddings(int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors,
                                 const StateTransition& t) {
  return pool_.Run("set embeddings", TxMode::kWrite, [&](Conn& c) -> Status {
    REFINERY_RETURN_IF_ERROR(LockState(c, document_id, t.from));
    REFINERY_RETURN_IF_ERROR(UpdateEmbeddings(c, document_id, model, vectors));
    auto counts = CountChunks(c, document_id);
    if (!counts.ok()) return counts.status();
    return ApplyTransition(c, document_id, t, *counts);
  });
}

Status PgChunks::DoSetEvaluations(int64_t document_id, const ChunkEvaluations& evaluations,
                                  const ChunkEvaluationFailures& failures, const StateTransition& t) {
  return pool_.Run("set evaluations", TxMode::kWrite, [&](Conn& c) -> Status {
    REFINERY_RETURN_IF_ERROR(LockState(c, document_id, t.from));
    REFINERY_RETURN_IF_ERROR(UpdateEvaluations(c, document_id, evaluations));
    REFINERY_RETURN_IF_ERROR(UpdateFailures(c, document_id, failures));
    auto counts = CountChunks(c, document_id);
    if (!counts.ok()) return counts.status();
    return ApplyTransition(c, document_id, t, *counts);
  });
}

Result<std::vector<ChunkVector>> PgChunks::DoScanEmbeddings(int64_t after_chunk_id, int64_t limit) {
  std::vector<ChunkVector> vectors;
  Status s = pool_.Run("scan embeddings", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kScanEmbeddings, Params(after_chunk_id, limit));
    if (!rows.ok()) return rows.status();
    vectors.clear();
    for (int i = 0; i < rows->size(); ++i) {
      vectors.push_back({rows->Int(i, 0), rows->Int(i, 1), rows->Floats(i, 2), rows->Text(i, 3)});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return vectors;
}

Result<std::vector<int64_t>> PgChunks::DoEmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                               int64_t after_document_id, int64_t limit) {
  std::vector<int64_t> ids;
  Status s = pool_.Run("embedded by other models", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kOtherModels, Params(model, state, after_document_id, limit));
    if (!rows.ok()) return rows.status();
    ids = IdsOf(*rows);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return ids;
}

Result<std::vector<ChunkHit>> PgChunks::DoHits(const std::vector<int64_t>& chunk_ids) {
  std::vector<ChunkHit> hits;
  Status s = pool_.Run("chunk hits", TxMode::kNone, [&](Conn& c) -> Status {
    // unknown ids (e.g. a just-deleted document) are simply absent
    auto rows = c.Exec(kChunkHits, Params(ArrayLiteral(chunk_ids)));
    if (!rows.ok()) return rows.status();
    hits.clear();
    for (int i = 0; i < rows->size(); ++i) hits.push_back({ReadChunk(*rows, i), rows->Text(i, kChunkColumns)});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return hits;
}

}  // namespace

std::unique_ptr<ChunkStore> NewChunks(pg::Pool& pool) { return std::make_unique<PgChunks>(pool); }

}  // namespace refinery::postgres_store_internal

// SqliteStore's ChunkStore: chunks and embeddings.
#include "store/sqlite_store_internal.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr const char* kInsertChunk =
    "INSERT INTO chunks (document_id, chunk_index, content, char_start, char_end, token_count,"
    " embedding, embedding_model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kGetChunks = "SELECT " REFINERY_CHUNK_COLUMNS
                                   ", c.embedding, c.embedding_model FROM chunks c WHERE c.document_id = ?1"
                                   " ORDER BY c.chunk_index";
// The document's chunk figures, recounted after its embeddings changed
// (an index range scan of one document's chunks).
constexpr const char* kCountChunks =
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE embedding IS NOT NULL), COUNT(*) FILTER (WHERE trust_score IS NOT NULL)"
    " FROM chunks WHERE document_id = ?1";
constexpr const char* kSetEvaluation =
    "UPDATE chunks SET trust_score = ?1, relevance_score = ?2, domain = ?3, eval_reasoning = ?4, evaluator = ?5,"
    " eval_failure = NULL WHERE id = ?6 AND document_id = ?7";
// The reason is capped: a model's error text can be long.
constexpr const char* kSetEvaluationFailure =
    "UPDATE chunks SET trust_score = NULL, relevance_score = NULL, domain = NULL, eval_reasoning = NULL,"
    " evaluator = ?1, eval_failure = substr(?2, 1, 2000) WHERE id = ?3 AND document_id = ?4";
constexpr const char* kSetEmbedding =
    "UPDATE chunks SET embedding = ?1, embedding_model = ?4 WHERE id = ?2 AND document_id = ?3";
constexpr const char* kScanEmbeddings =
    "SELECT id, document_id, embedding, embedding_model FROM chunks WHERE id > ?1 AND embedding IS NOT NULL"
    " ORDER BY id LIMIT ?2";
// Documents in a state whose vectors another model wrote, via the
// chunks_embedding_model index (v10).
constexpr const char* kOtherModels =
    "SELECT d.id FROM documents d WHERE d.id > ?3 AND d.state = ?2 AND EXISTS (SELECT 1 FROM chunks c"
    " WHERE c.document_id = d.id AND c.embedding IS NOT NULL AND c.embedding_model IS NOT ?1)"
    " ORDER BY d.id LIMIT ?4";
// Search results need text and title, not the vector: the embedding is left empty.
constexpr const char* kChunkHit =
    "SELECT " REFINERY_CHUNK_COLUMNS ", d.title FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1";

Status InsertChunks(Connection& conn, int64_t document_id, const std::vector<Chunk>& chunks) {
  for (const Chunk& c : chunks) {
    auto stmt = conn.Prepare(kInsertChunk);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(
        stmt->Bind(document_id, c.chunk_index, c.content, c.char_start, c.char_end, c.token_count, c.embedding,
                   c.embedding_model)
            .Run());
  }
  return Status::Ok();
}

Status UpdateEmbeddings(Connection& conn, int64_t document_id, const std::string& model,
                        const ChunkEmbeddings& vectors) {
  for (const auto& [chunk_id, embedding] : vectors) {
    auto stmt = conn.Prepare(kSetEmbedding);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(embedding, chunk_id, document_id, model).Run());
    if (conn.Changes() == 0) {  // the whole transaction rolls back: nothing written
      return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " + std::to_string(document_id) +
                              " does not exist");
    }
  }
  return Status::Ok();
}

Status NoSuchChunk(int64_t chunk_id, int64_t document_id) {
  return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " + std::to_string(document_id) +
                          " does not exist");
}

Status UpdateFailures(Connection& conn, int64_t document_id, const ChunkEvaluationFailures& failures) {
  for (const auto& [chunk_id, f] : failures) {
    auto stmt = conn.Prepare(kSetEvaluationFailure);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(f.evaluator, f.reason, chunk_id, document_id).Run());
    if (conn.Changes() == 0) return NoSuchChunk(chunk_id, document_id);  // the transaction rolls back
  }
  return Status::Ok();
}

Status UpdateEvaluations(Connection& conn, int64_t document_id, const ChunkEvaluations& evaluations) {
  for (const auto& [chunk_id, e] : evaluations) {
    auto stmt = conn.Prepare(kSetEvaluation);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(
        stmt->Bind(e.trust_score, e.relevance_score, e.domain, e.reasoning, e.evaluator, chunk_id, document_id).Run());
    if (conn.Changes() == 0) {  // the whole transaction rolls back: nothing written
      return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " + std::to_string(document_id) +
                              " does not exist");
    }
  }
  return Status::Ok();
}

Result<ChunkCounts> CountChunks(Connection& conn, int64_t document_id) {
  auto stmt = conn.Prepare(kCountChunks);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Bind(document_id).Step();
  if (!row.ok()) return row.status();
  return ChunkCounts{stmt->Int(0), stmt->Int(1), stmt->Int(2)};
}

class SqliteChunks final : public ChunkStore {
 public:
  explicit SqliteChunks(SqliteDb& db) : db_(db) {}

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
  SqliteDb& db_;
};

Status SqliteChunks::DoReplace(int64_t document_id, const std::vector<Chunk>& chunks, const StateTransition& t) {
  return db_.Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckState(c, document_id, t.from));
    auto clear = c.Prepare("DELETE FROM chunks WHERE document_id = ?1");
    if (!clear.ok()) return clear.status();
    REFINERY_RETURN_IF_ERROR(clear->Bind(document_id).Run());
    REFINERY_RETURN_IF_ERROR(InsertChunks(c, document_id, chunks));
    return ApplyTransition(c, document_id, t, CountsOf(chunks));
  });
}

Result<std::vector<Chunk>> SqliteChunks::DoGet(int64_t document_id) {
  std::vector<Chunk> chunks;
  Status s = db_.Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckExists(c, document_id));
    auto stmt = c.Prepare(kGetChunks);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(document_id), [&](const Statement& row) {
      chunks.push_back(ReadChunk(row));
      chunks.back().embedding = row.Floats(kChunkColumns);
      chunks.back().embedding_model = row.Text(kChunkColumns + 1);
    });
  });
  if (!s.ok()) return s;
  return chunks;
}

Status SqliteChunks::DoSetEmbeddings(int64_t document_id, const std::string& model, const ChunkEmbeddings& vectors,
                                     const StateTransition& t) {
  return db_.Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckState(c, document_id, t.from));
    REFINERY_RETURN_IF_ERROR(UpdateEmbeddings(c, document_id, model, vectors));
    auto counts = CountChunks(c, document_id);
    if (!counts.ok()) return counts.status();
    return ApplyTransition(c, document_id, t, *counts);
  });
}

Status SqliteChunks::DoSetEvaluations(int64_t document_id, const ChunkEvaluations& evaluations,
                                      const ChunkEvaluationFailures& failures, const StateTransition& t) {
  return db_.Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckState(c, document_id, t.from));
    REFINERY_RETURN_IF_ERROR(UpdateEvaluations(c, document_id, evaluations));
    REFINERY_RETURN_IF_ERROR(UpdateFailures(c, document_id, failures));
    auto counts = CountChunks(c, document_id);
    if (!counts.ok()) return counts.status();
    return ApplyTransition(c, document_id, t, *counts);
  });
}

Result<std::vector<ChunkVector>> SqliteChunks::DoScanEmbeddings(int64_t after_chunk_id, int64_t limit) {
  std::vector<ChunkVector> vectors;
  Status s = db_.Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kScanEmbeddings);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(after_chunk_id, limit), [&](const Statement& row) {
      vectors.push_back({row.Int(0), row.Int(1), row.Floats(2), row.Text(3)});
    });
  });
  if (!s.ok()) return s;
  return vectors;
}

Result<std::vector<int64_t>> SqliteChunks::DoEmbeddedByOtherModels(const std::string& model, const std::string& state,
                                                                   int64_t after_document_id, int64_t limit) {
  std::vector<int64_t> ids;
  Status s = db_.Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kOtherModels);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(model, state, after_document_id, limit),
                      [&](const Statement& row) { ids.push_back(row.Int(0)); });
  });
  if (!s.ok()) return s;
  return ids;
}

Result<std::vector<ChunkHit>> SqliteChunks::DoHits(const std::vector<int64_t>& chunk_ids) {
  std::vector<ChunkHit> hits;
  Status s = db_.Read([&](Connection& c) -> Status {
    for (int64_t id : chunk_ids) {  // unknown ids (e.g. a just-deleted document) are skipped
      auto stmt = c.Prepare(kChunkHit);
      if (!stmt.ok()) return stmt.status();
      REFINERY_RETURN_IF_ERROR(ForEachRow(stmt->Bind(id), [&](const Statement& row) {
        hits.push_back({ReadChunk(row), row.Text(kChunkColumns)});
      }));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return hits;
}

}  // namespace

Chunk ReadChunk(const Statement& s) {
  Chunk c;
  c.id = s.Int(0);
  c.document_id = s.Int(1);
  c.chunk_index = static_cast<int>(s.Int(2));
  c.content = s.Text(3);
  c.char_start = s.Int(4);
  c.char_end = s.Int(5);
  c.token_count = static_cast<int>(s.Int(6));
  if (!s.IsNull(7)) c.evaluation = ChunkEvaluation{s.Real(7), s.Real(8), s.Text(9), s.Text(10), s.Text(11)};
  c.evaluation_failure = s.Text(12);
  c.extraction_failure = s.Text(13);
  return c;
}

std::unique_ptr<ChunkStore> NewChunks(SqliteDb& db) { return std::make_unique<SqliteChunks>(db); }

}  // namespace refinery::sqlite_store_internal

// SqliteStore: chunks, embeddings, the processing log and read-side queries.
#include "store/sqlite_store.h"

#include <algorithm>
#include <set>

#include "core/clock.h"
#include "store/lexical_query.h"
#include "store/sqlite_store_internal.h"
#include "store/stage_counters.h"

namespace refinery {

using sqlite::Connection;
using sqlite::Statement;
using namespace sqlite_store_internal;

namespace {

#define REFINERY_CHUNK_COLUMNS \
  "c.id, c.document_id, c.chunk_index, c.content, c.char_start, c.char_end, c.token_count"

constexpr const char* kInsertChunk =
    "INSERT INTO chunks (document_id, chunk_index, content, char_start, char_end, token_count,"
    " embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kGetChunks = "SELECT " REFINERY_CHUNK_COLUMNS
                                   ", c.embedding FROM chunks c WHERE c.document_id = ?1"
                                   " ORDER BY c.chunk_index";
// The document's chunk figures, recounted after its embeddings changed
// (an index range scan of one document's chunks).
constexpr const char* kCountChunks =
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE embedding IS NOT NULL) FROM chunks"
    " WHERE document_id = ?1";
constexpr const char* kSetEmbedding =
    "UPDATE chunks SET embedding = ?1 WHERE id = ?2 AND document_id = ?3";
// Skips the row (no change) when the document is gone: NotFound, not an FK error.
constexpr const char* kInsertLog =
    "INSERT INTO processing_log (document_id, stage, status, message, duration_ms, created_at)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM documents WHERE id = ?1)";
constexpr const char* kCountLog =
    "INSERT INTO stage_metrics (stage, status, le, events, duration_sum_s)"
    " VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (stage, status, le) DO UPDATE SET"
    " events = events + 1, duration_sum_s = duration_sum_s + excluded.duration_sum_s";
constexpr const char* kStageCounters =
    "SELECT stage, status, le, events, duration_sum_s FROM stage_metrics";
constexpr const char* kGetLog =
    "SELECT id, document_id, stage, status, message, duration_ms, created_at"
    " FROM processing_log WHERE document_id = ?1 ORDER BY id";
constexpr const char* kStale =
    "SELECT id FROM documents WHERE stage = ?1 AND stage_changed_at < ?2"
    " ORDER BY stage_changed_at, id LIMIT ?3";
constexpr const char* kScanEmbeddings =
    "SELECT id, document_id, embedding FROM chunks"
    " WHERE id > ?1 AND embedding IS NOT NULL ORDER BY id LIMIT ?2";
// Search results need text and title, not the vector: the embedding is left empty.
constexpr const char* kChunkHit = "SELECT " REFINERY_CHUNK_COLUMNS
                                  ", d.title FROM chunks c JOIN documents d"
                                  " ON d.id = c.document_id WHERE c.id = ?1";
// The best `limit` matches by BM25 (FTS5 `rank`, lower is better) first,
// then their rows; ?1 is a lexical::Fts5OrQuery.
constexpr const char* kLexicalSearch =
    "SELECT " REFINERY_CHUNK_COLUMNS ", d.title, -f.rank FROM"
    " (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank, rowid"
    "  LIMIT ?2) f JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id"
    " ORDER BY f.rank, c.id";

Chunk ReadChunk(const Statement& s) {
  Chunk c;
  c.id = s.Int(0);
  c.document_id = s.Int(1);
  c.chunk_index = static_cast<int>(s.Int(2));
  c.content = s.Text(3);
  c.char_start = s.Int(4);
  c.char_end = s.Int(5);
  c.token_count = static_cast<int>(s.Int(6));
  return c;
}

LogEntry ReadLogEntry(const Statement& s) {
  LogEntry e;
  e.id = s.Int(0);
  e.document_id = s.Int(1);
  e.stage = s.Text(2);
  e.status = s.Text(3);
  e.message = s.Text(4);
  e.duration_ms = s.Real(5);
  e.created_at = s.Real(6);
  return e;
}

// Steps `stmt` to the end, handing each row to `on_row`.
template <typename OnRow>
Status ForEachRow(Statement& stmt, OnRow on_row) {
  for (;;) {
    auto row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    on_row(stmt);
  }
}

// Duplicate indexes would violate UNIQUE(document_id, chunk_index) halfway
// through; reject them up front as the caller's mistake.
Status CheckChunkIndexes(const std::vector<Chunk>& chunks) {
  std::set<int> seen;
  for (const Chunk& c : chunks) {
    if (!seen.insert(c.chunk_index).second) {
      return Status::InvalidArgument("duplicate chunk_index " + std::to_string(c.chunk_index));
    }
  }
  return Status::Ok();
}

Status InsertChunks(Connection& conn, int64_t document_id, const std::vector<Chunk>& chunks) {
  for (const Chunk& c : chunks) {
    auto stmt = conn.Prepare(kInsertChunk);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(document_id, c.chunk_index, c.content, c.char_start,
                                        c.char_end, c.token_count, c.embedding)
                                 .Run());
  }
  return Status::Ok();
}

Status UpdateEmbeddings(Connection& conn, int64_t document_id,
                        const std::vector<std::pair<int64_t, std::vector<float>>>& vectors) {
  for (const auto& [chunk_id, embedding] : vectors) {
    auto stmt = conn.Prepare(kSetEmbedding);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(embedding, chunk_id, document_id).Run());
    if (conn.Changes() == 0) {  // the whole transaction rolls back: nothing written
      return Status::NotFound("chunk " + std::to_string(chunk_id) + " of document " +
                              std::to_string(document_id) + " does not exist");
    }
  }
  return Status::Ok();
}

ChunkCounts CountsOf(const std::vector<Chunk>& chunks) {
  ChunkCounts counts{static_cast<int64_t>(chunks.size()), 0};
  for (const Chunk& c : chunks) counts.embedded += c.embedding.empty() ? 0 : 1;  // empty: NULL
  return counts;
}

Result<ChunkCounts> CountChunks(Connection& conn, int64_t document_id) {
  auto stmt = conn.Prepare(kCountChunks);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Bind(document_id).Step();
  if (!row.ok()) return row.status();
  return ChunkCounts{stmt->Int(0), stmt->Int(1)};
}

}  // namespace

Status SqliteStore::ReplaceChunks(int64_t document_id, const std::vector<Chunk>& chunks,
                                  const StageTransition& t) {
  REFINERY_RETURN_IF_ERROR(CheckChunkIndexes(chunks));
  return Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckStage(c, document_id, t.from));
    auto clear = c.Prepare("DELETE FROM chunks WHERE document_id = ?1");
    if (!clear.ok()) return clear.status();
    REFINERY_RETURN_IF_ERROR(clear->Bind(document_id).Run());
    REFINERY_RETURN_IF_ERROR(InsertChunks(c, document_id, chunks));
    return ApplyTransition(c, document_id, t, CountsOf(chunks));
  });
}

Result<std::vector<Chunk>> SqliteStore::GetChunks(int64_t document_id) {
  std::vector<Chunk> chunks;
  Status s = Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckExists(c, document_id));
    auto stmt = c.Prepare(kGetChunks);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(document_id), [&](const Statement& row) {
      chunks.push_back(ReadChunk(row));
      chunks.back().embedding = row.Floats(7);
    });
  });
  if (!s.ok()) return s;
  return chunks;
}

Status SqliteStore::SetEmbeddings(
    int64_t document_id, const std::vector<std::pair<int64_t, std::vector<float>>>& vectors,
    const StageTransition& t) {
  return Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckStage(c, document_id, t.from));
    REFINERY_RETURN_IF_ERROR(UpdateEmbeddings(c, document_id, vectors));
    auto counts = CountChunks(c, document_id);
    if (!counts.ok()) return counts.status();
    return ApplyTransition(c, document_id, t, *counts);
  });
}

namespace sqlite_store_internal {

Result<bool> AppendLogIn(Connection& c, const LogEntry& entry) {
  const double created_at = entry.created_at > 0 ? entry.created_at : NowSeconds();
  const double duration_ms = entry.duration_ms;
  auto insert = c.Prepare(kInsertLog);
  if (!insert.ok()) return insert.status();
  REFINERY_RETURN_IF_ERROR(
      insert->Bind(entry.document_id, entry.stage, entry.status, entry.message, duration_ms, created_at).Run());
  const bool logged = c.Changes() == 1;
  auto count = c.Prepare(kCountLog);
  if (!count.ok()) return count.status();
  const double seconds = duration_ms / 1000;
  REFINERY_RETURN_IF_ERROR(count->Bind(entry.stage, entry.status, stage_counters::BucketFor(seconds), seconds).Run());
  return logged;
}

Status AppendNoteIn(Connection& c, int64_t id, const LogNote& note) {
  return AppendLogIn(c, stage_counters::EntryFor(id, note)).status();
}

}  // namespace sqlite_store_internal

Status SqliteStore::AppendLog(const LogEntry& entry) {
  bool logged = false;
  Status s = Write([&](Connection& c) -> Status {
    auto appended = AppendLogIn(c, entry);
    if (!appended.ok()) return appended.status();
    logged = *appended;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return logged ? Status::Ok() : Status::NotFound(NotFoundMessage(entry.document_id));
}

Result<std::vector<LogEntry>> SqliteStore::GetLog(int64_t document_id) {
  std::vector<LogEntry> entries;
  Status s = Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckExists(c, document_id));
    auto stmt = c.Prepare(kGetLog);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(document_id),
                      [&](const Statement& row) { entries.push_back(ReadLogEntry(row)); });
  });
  if (!s.ok()) return s;
  return entries;
}

Result<std::vector<int64_t>> SqliteStore::StaleDocuments(const std::string& state,
                                                         double older_than, int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  std::vector<int64_t> ids;
  Status s = Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kStale);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(state, older_than, limit),
                      [&](const Statement& row) { ids.push_back(row.Int(0)); });
  });
  if (!s.ok()) return s;
  return ids;
}

Result<StoreStats> SqliteStore::Stats() {
  StoreStats stats;
  Status s = Read([&](Connection& c) -> Status {
    // The totals the triggers keep (schema v5): a few rows, not every document.
    auto by_stage = c.Prepare(
        "SELECT stage, documents, chunks, embedded FROM stage_totals WHERE documents > 0");
    if (!by_stage.ok()) return by_stage.status();
    return ForEachRow(*by_stage, [&](const Statement& row) {
      stage_counters::AddStageTotal(stats, row.Text(0), row.Int(1), row.Int(2), row.Int(3));
    });
  });
  if (!s.ok()) return s;
  return stats;
}

Result<std::vector<StageCounter>> SqliteStore::StageCounters() {
  stage_counters::Folder folder;
  Status s = Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kStageCounters);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(*stmt, [&](const Statement& row) {
      folder.Add(row.Text(0), row.Text(1), row.Real(2), row.Int(3), row.Real(4));
    });
  });
  if (!s.ok()) return s;
  return folder.Take();
}

Result<std::vector<ChunkVector>> SqliteStore::ScanEmbeddings(int64_t after_chunk_id,
                                                             int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  std::vector<ChunkVector> vectors;
  Status s = Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kScanEmbeddings);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(after_chunk_id, limit), [&](const Statement& row) {
      vectors.push_back({row.Int(0), row.Int(1), row.Floats(2)});
    });
  });
  if (!s.ok()) return s;
  return vectors;
}

Result<std::vector<ChunkHit>> SqliteStore::GetChunkHits(const std::vector<int64_t>& chunk_ids) {
  const std::set<int64_t> unique(chunk_ids.begin(), chunk_ids.end());
  std::vector<ChunkHit> hits;
  Status s = Read([&](Connection& c) -> Status {
    for (int64_t id : unique) {  // unknown ids (e.g. a just-deleted document) are skipped
      auto stmt = c.Prepare(kChunkHit);
      if (!stmt.ok()) return stmt.status();
      REFINERY_RETURN_IF_ERROR(ForEachRow(stmt->Bind(id), [&](const Statement& row) {
        hits.push_back({ReadChunk(row), row.Text(7)});
      }));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return hits;
}

Result<std::vector<LexicalHit>> SqliteStore::LexicalSearch(const std::string& query,
                                                           int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  const std::string match = lexical::Fts5OrQuery(lexical::Terms(query));
  std::vector<LexicalHit> hits;
  if (match.empty() || limit == 0) return hits;
  Status s = Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kLexicalSearch);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(match, limit), [&](const Statement& row) {
      hits.push_back({{ReadChunk(row), row.Text(7)}, row.Real(8)});
    });
  });
  if (!s.ok()) return s;
  return hits;
}

}  // namespace refinery

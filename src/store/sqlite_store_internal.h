// Shared by the SqliteStore translation units (one per role); not for other
// modules.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/sqlite.h"
#include "store/backend_common.h"
#include "store/store.h"

namespace refinery::sqlite_store_internal {

// The database every role of one SqliteStore shares.
class SqliteDb {
 public:
  SqliteDb(const std::string& path, int busy_timeout_ms, size_t max_idle)
      : pool(path, sqlite::ConnectionOptions{busy_timeout_ms}, max_idle), busy_timeout_ms(busy_timeout_ms) {}

  // Runs `body` in a BEGIN IMMEDIATE transaction on a pooled connection.
  Status Write(const std::function<Status(sqlite::Connection&)>& body) {
    return sqlite::RunInTransaction(pool, sqlite::Transaction::Kind::kWrite, body);
  }
  // Runs `body` in a read transaction: one consistent snapshot, never blocked.
  Status Read(const std::function<Status(sqlite::Connection&)>& body) {
    return sqlite::RunInTransaction(pool, sqlite::Transaction::Kind::kRead, body);
  }

  sqlite::ConnectionPool pool;
  const int busy_timeout_ms;
};

// The roles, each in its own file, over one database.
std::unique_ptr<DocumentStore> NewDocuments(SqliteDb& db);
std::unique_ptr<ChunkStore> NewChunks(SqliteDb& db);
std::unique_ptr<SearchIndex> NewSearchIndex(SqliteDb& db);
std::unique_ptr<TelemetryStore> NewTelemetry(SqliteDb& db);
std::unique_ptr<KnowledgeStore> NewKnowledge(SqliteDb& db);
std::unique_ptr<EmbeddingCache> NewEmbeddingCache(SqliteDb& db);
std::unique_ptr<ReasoningCache> NewReasoningCache(SqliteDb& db);
std::unique_ptr<CrawlStore> NewCrawls(SqliteDb& db);

using backend_common::ChunkCounts;
using backend_common::CountsOf;
using backend_common::GiveUp;
using backend_common::NotFoundMessage;
using backend_common::WrongState;

// NotFound if the document does not exist, Conflict if it is not in `state`.
Status CheckState(sqlite::Connection& conn, int64_t id, const std::string& state);


// Moves the document to t.to; when the state really changes, also stamps
// state_changed_at and clears attempts and the error. Sets chunk_count,
// embedded_count and evaluated_count when given. Appends t.log, if any.
Status ApplyTransition(sqlite::Connection& conn, int64_t id, const StateTransition& t,
                       std::optional<ChunkCounts> counts);
// Appends `entry` to the log (unless its document is gone) and counts it in
// stage_metrics, inside the caller's write transaction. Reports whether the
// log row was written.
Result<bool> AppendLogIn(sqlite::Connection& conn, const LogEntry& entry);
// Appends `note` for document `id` the same way, its duration measured now.
Status AppendNoteIn(sqlite::Connection& conn, int64_t id, const LogNote& note);
// NotFound unless the document exists.
Status CheckExists(sqlite::Connection& conn, int64_t id);

// The chunk columns every chunk query selects first, and their reader.
// The evaluation columns are NULL until the evaluate stage ran.
#define REFINERY_CHUNK_COLUMNS                                                               \
  "c.id, c.document_id, c.chunk_index, c.content, c.char_start, c.char_end, c.token_count," \
  " c.trust_score, c.relevance_score, c.domain, c.eval_reasoning, c.evaluator, c.eval_failure,"  \
  " c.extract_failure"
inline constexpr int kChunkColumns = 14;  // the index of the first column after them
Chunk ReadChunk(const sqlite::Statement& s);

// Steps `stmt` to the end, handing each row to `on_row`.
template <typename OnRow>
Status ForEachRow(sqlite::Statement& stmt, OnRow on_row) {
  for (;;) {
    auto row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    on_row(stmt);
  }
}

}  // namespace refinery::sqlite_store_internal

// Shared by the PostgresStore translation units (one per role); not for
// other modules.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "store/pg_conn.h"
#include "store/pg_pool.h"
#include "store/backend_common.h"
#include "store/store.h"

namespace refinery::postgres_store_internal {

// The roles, each in its own file, over one pool.
std::unique_ptr<DocumentStore> NewDocuments(pg::Pool& pool);
std::unique_ptr<ChunkStore> NewChunks(pg::Pool& pool);
std::unique_ptr<SearchIndex> NewSearchIndex(pg::Pool& pool);
std::unique_ptr<TelemetryStore> NewTelemetry(pg::Pool& pool);
std::unique_ptr<KnowledgeStore> NewKnowledge(pg::Pool& pool);
std::unique_ptr<EmbeddingCache> NewEmbeddingCache(pg::Pool& pool);
std::unique_ptr<ReasoningCache> NewReasoningCache(pg::Pool& pool);
std::unique_ptr<CrawlStore> NewCrawls(pg::Pool& pool);

using backend_common::ChunkCounts;
using backend_common::CountsOf;
using backend_common::GiveUp;
using backend_common::NotFoundMessage;
using backend_common::WrongState;

// NotFound or Conflict, after a compare-and-set on `state` matched no row.
Status WhyNoMatch(pg::Conn& conn, int64_t id, const std::string& state);

// Locks the document row (FOR UPDATE, so concurrent compare-and-sets on it
// serialize) and checks its state: NotFound if absent, Conflict if not
// `state`. Call inside a write transaction.
Status LockState(pg::Conn& conn, int64_t id, const std::string& state);


// Moves the document to t.to; when the state really changes, also stamps
// state_changed_at and clears attempts and the error. Sets chunk_count,
// embedded_count and evaluated_count when given. Appends t.log, if any.
Status ApplyTransition(pg::Conn& conn, int64_t id, const StateTransition& t, std::optional<ChunkCounts> counts);

// Appends `entry` to the log (unless its document is gone) and counts it in
// stage_metrics, in one statement (inside the caller's transaction, if any).
// Reports whether the log row was written.
Result<bool> AppendLogIn(pg::Conn& conn, const LogEntry& entry);
// Appends `note` for document `id` the same way, its duration measured now.
Status AppendNoteIn(pg::Conn& conn, int64_t id, const LogNote& note);

// The chunk columns every chunk query selects first, and their reader.
// The evaluation columns are NULL until the evaluate stage ran.
#define REFINERY_PG_CHUNK_COLUMNS                                                            \
  "c.id, c.document_id, c.chunk_index, c.content, c.char_start, c.char_end, c.token_count," \
  " c.trust_score, c.relevance_score, c.domain, c.eval_reasoning, c.evaluator, c.eval_failure,"  \
  " c.extract_failure"
inline constexpr int kChunkColumns = 14;  // the index of the first column after them
Chunk ReadChunk(const pg::Rows& r, int row);
// The first column of every row, as ids.
std::vector<int64_t> IdsOf(const pg::Rows& rows);

}  // namespace refinery::postgres_store_internal

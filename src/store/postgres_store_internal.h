// Helpers shared by the PostgresStore translation units; not for other modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/pg_conn.h"
#include "store/store.h"

namespace refinery::postgres_store_internal {

std::string NotFoundMessage(int64_t id);

// Locks the document row (FOR UPDATE, so concurrent compare-and-sets on it
// serialize) and checks its stage: NotFound if absent, Conflict if not `from`.
// Call inside a write transaction.
Status LockStage(pg::Conn& conn, int64_t id, const std::string& from);

// A document's chunk figures after its chunks were replaced.
struct ChunkCounts {
  int64_t chunks = 0;    // chunk_count
  int64_t embedded = 0;  // embedded_count: chunks with an embedding
};

// Moves the document to t.to; when the stage really changes, also stamps
// stage_changed_at and clears attempts and the error. Sets chunk_count and
// embedded_count when given. Appends t.log, if any.
Status ApplyTransition(pg::Conn& conn, int64_t id, const StageTransition& t,
                       std::optional<ChunkCounts> counts);

// Appends `entry` to the log (unless its document is gone) and counts it in
// stage_metrics, in one statement (inside the caller's transaction, if any).
// Reports whether the log row was written.
Result<bool> AppendLogIn(pg::Conn& conn, const LogEntry& entry);
// Appends `note` for document `id` the same way, its duration measured now.
Status AppendNoteIn(pg::Conn& conn, int64_t id, const LogNote& note);

}  // namespace refinery::postgres_store_internal

// Helpers shared by the SqliteStore translation units; not for other modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/sqlite_db.h"
#include "store/store.h"

namespace refinery {

namespace sqlite_store_internal {

std::string NotFoundMessage(int64_t id);

// NotFound if the document does not exist, Conflict if it is not in `from`.
Status CheckStage(sqlite::Connection& conn, int64_t id, const std::string& from);
// A document's chunk figures after its chunks were replaced.
struct ChunkCounts {
  int64_t chunks = 0;    // chunk_count
  int64_t embedded = 0;  // embedded_count: chunks with an embedding
};

// Moves the document to t.to; when the stage really changes, also stamps
// stage_changed_at and clears attempts and the error. Sets chunk_count and
// embedded_count when given. Appends t.log, if any.
Status ApplyTransition(sqlite::Connection& conn, int64_t id, const StageTransition& t,
                       std::optional<ChunkCounts> counts);
// Appends `entry` to the log (unless its document is gone) and counts it in
// stage_metrics, inside the caller's write transaction. Reports whether the
// log row was written.
Result<bool> AppendLogIn(sqlite::Connection& conn, const LogEntry& entry);
// Appends `note` for document `id` the same way, its duration measured now.
Status AppendNoteIn(sqlite::Connection& conn, int64_t id, const LogNote& note);
// NotFound unless the document exists.
Status CheckExists(sqlite::Connection& conn, int64_t id);

}  // namespace sqlite_store_internal

}  // namespace refinery

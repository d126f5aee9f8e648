// Helpers the SqliteStore roles share: the compare-and-set of a state and
// the log append that commits with it.
#include "store/sqlite_store_internal.h"

#include <algorithm>

#include "core/clock.h"
#include "store/backend_common.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;

namespace {

// Old column values on the right-hand side: `state <> ?2` compares the
// state before this update.
constexpr const char* kApplyTransition =
    "UPDATE documents SET"
    " state_changed_at = CASE WHEN state <> ?2 THEN ?3 ELSE state_changed_at END,"
    " attempts = CASE WHEN state <> ?2 THEN 0 ELSE attempts END,"
    " error_message = CASE WHEN state <> ?2 THEN '' ELSE error_message END,"
    " error_stage = CASE WHEN state <> ?2 THEN '' ELSE error_stage END,"
    " chunk_count = COALESCE(?4, chunk_count),"
    " embedded_count = COALESCE(?5, embedded_count),"
    " evaluated_count = COALESCE(?6, evaluated_count),"
    " state = ?2, updated_at = ?3"
    " WHERE id = ?1";
// Skips the row (no change) when the document is gone: NotFound, not an FK error.
constexpr const char* kInsertLog =
    "INSERT INTO processing_log (document_id, stage, status, message, duration_ms, created_at)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM documents WHERE id = ?1)";
constexpr const char* kCountLog =
    "INSERT INTO stage_metrics (stage, status, le, events, duration_sum_s)"
    " VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (stage, status, le) DO UPDATE SET"
    " events = events + 1, duration_sum_s = duration_sum_s + excluded.duration_sum_s";

}  // namespace

Status CheckState(Connection& conn, int64_t id, const std::string& state) {
  auto stmt = conn.Prepare("SELECT state FROM documents WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Bind(id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(NotFoundMessage(id));
  const std::string current = stmt->Text(0);
  return current == state ? Status::Ok() : WrongState(id, current, state);
}

Status ApplyTransition(Connection& conn, int64_t id, const StateTransition& t, std::optional<ChunkCounts> counts) {
  std::optional<int64_t> chunks, embedded, evaluated;
  if (counts) {
    chunks = counts->chunks;
    embedded = counts->embedded;
    evaluated = counts->evaluated;
  }
  auto stmt = conn.Prepare(kApplyTransition);
  if (!stmt.ok()) return stmt.status();
  REFINERY_RETURN_IF_ERROR(stmt->Bind(id, t.to, NowSeconds(), chunks, embedded, evaluated).Run());
  if (!t.log) return Status::Ok();
  return AppendNoteIn(conn, id, *t.log);
}

Status CheckExists(Connection& conn, int64_t id) {
  auto stmt = conn.Prepare("SELECT 1 FROM documents WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Bind(id).Step();
  if (!row.ok()) return row.status();
  return *row ? Status::Ok() : Status::NotFound(NotFoundMessage(id));
}

Result<bool> AppendLogIn(Connection& c, const LogEntry& entry) {
  const double created_at = entry.created_at > 0 ? entry.created_at : NowSeconds();
  auto insert = c.Prepare(kInsertLog);
  if (!insert.ok()) return insert.status();
  REFINERY_RETURN_IF_ERROR(
      insert->Bind(entry.document_id, entry.stage, entry.status, entry.message, entry.duration_ms, created_at).Run());
  const bool logged = c.Changes() == 1;
  auto count = c.Prepare(kCountLog);
  if (!count.ok()) return count.status();
  const double seconds = entry.duration_ms / 1000;
  REFINERY_RETURN_IF_ERROR(count->Bind(entry.stage, entry.status, backend_common::BucketFor(seconds), seconds).Run());
  return logged;
}

Status AppendNoteIn(Connection& c, int64_t id, const LogNote& note) {
  return AppendLogIn(c, backend_common::EntryFor(id, note)).status();
}

}  // namespace refinery::sqlite_store_internal

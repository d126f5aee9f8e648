// Helpers the PostgresStore roles share: the compare-and-set of a state and
// the log append that commits with it.
#include "store/postgres_store_internal.h"

#include "core/clock.h"
#include "store/backend_common.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;

namespace {

// Old column values on the right-hand side: `state <> $2` compares the
// state before this update.
constexpr const char* kApplyTransition =
    "UPDATE refinery.documents SET"
    " state_changed_at = CASE WHEN state <> $2 THEN $3 ELSE state_changed_at END,"
    " attempts = CASE WHEN state <> $2 THEN 0 ELSE attempts END,"
    " error_message = CASE WHEN state <> $2 THEN '' ELSE error_message END,"
    " error_stage = CASE WHEN state <> $2 THEN '' ELSE error_stage END,"
    " chunk_count = COALESCE($4::integer, chunk_count),"
    " embedded_count = COALESCE($5::integer, embedded_count),"
    " evaluated_count = COALESCE($6::integer, evaluated_count),"
    " state = $2, updated_at = $3"
    " WHERE id = $1";
// One statement: the log row (skipped when the document is gone) and its
// counter (always) commit together, and the counter row is locked only for
// this statement. The counter goes to this backend's shard (see the v3
// migration). Casts: INSERT ... SELECT does not infer parameter types from
// the columns.
constexpr const char* kInsertLog =
    "WITH logged AS (INSERT INTO refinery.processing_log (document_id, stage, status, message,"
    "  duration_ms, created_at)"
    "  SELECT $1::bigint, $2::text, $3::text, $4::text, $5::float8, $6::float8"
    "  WHERE EXISTS (SELECT 1 FROM refinery.documents WHERE id = $1::bigint) RETURNING 1),"
    " counted AS (INSERT INTO refinery.stage_metrics AS m"
    "  (stage, status, le, shard, events, duration_sum_s)"
    "  VALUES ($2::text, $3::text, $7::float8, pg_backend_pid() % 8, 1, $5::float8 / 1000)"
    "  ON CONFLICT (stage, status, le, shard) DO UPDATE SET events = m.events + 1,"
    "  duration_sum_s = m.duration_sum_s + excluded.duration_sum_s)"
    " SELECT COUNT(*) FROM logged";

}  // namespace

Status WhyNoMatch(Conn& conn, int64_t id, const std::string& state) {
  auto rows = conn.Exec("SELECT state FROM refinery.documents WHERE id = $1", Params(id));
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return Status::NotFound(NotFoundMessage(id));
  return WrongState(id, rows->Text(0, 0), state);
}

Status LockState(Conn& conn, int64_t id, const std::string& state) {
  auto rows = conn.Exec("SELECT state FROM refinery.documents WHERE id = $1 FOR UPDATE", Params(id));
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return Status::NotFound(NotFoundMessage(id));
  if (rows->Text(0, 0) != state) return WhyNoMatch(conn, id, state);
  return Status::Ok();
}

Status ApplyTransition(Conn& conn, int64_t id, const StateTransition& t, std::optional<ChunkCounts> counts) {
  std::optional<int64_t> chunks, embedded, evaluated;
  if (counts) {
    chunks = counts->chunks;
    embedded = counts->embedded;
    evaluated = counts->evaluated;
  }
  REFINERY_RETURN_IF_ERROR(conn.Run(kApplyTransition, Params(id, t.to, NowSeconds(), chunks, embedded, evaluated)));
  if (!t.log) return Status::Ok();
  return AppendNoteIn(conn, id, *t.log);
}

Result<bool> AppendLogIn(Conn& c, const LogEntry& entry) {
  const double created_at = entry.created_at > 0 ? entry.created_at : NowSeconds();
  const double le = backend_common::BucketFor(entry.duration_ms / 1000);
  auto rows = c.Exec(kInsertLog, Params(entry.document_id, entry.stage, entry.status, entry.message, entry.duration_ms,
                                        created_at, le));
  if (!rows.ok()) return rows.status();
  return rows->Int(0, 0) != 0;
}

Status AppendNoteIn(Conn& c, int64_t id, const LogNote& note) {
  return AppendLogIn(c, backend_common::EntryFor(id, note)).status();
}

Chunk ReadChunk(const pg::Rows& r, int row) {
  Chunk c;
  c.id = r.Int(row, 0);
  c.document_id = r.Int(row, 1);
  c.chunk_index = static_cast<int>(r.Int(row, 2));
  c.content = r.Text(row, 3);
  c.char_start = r.Int(row, 4);
  c.char_end = r.Int(row, 5);
  c.token_count = static_cast<int>(r.Int(row, 6));
  if (!r.IsNull(row, 7)) {
    c.evaluation = ChunkEvaluation{r.Real(row, 7), r.Real(row, 8), r.Text(row, 9), r.Text(row, 10), r.Text(row, 11)};
  }
  c.evaluation_failure = r.Text(row, 12);
  c.extraction_failure = r.Text(row, 13);
  return c;
}

std::vector<int64_t> IdsOf(const pg::Rows& rows) {
  std::vector<int64_t> ids;
  ids.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Int(i, 0));
  return ids;
}

}  // namespace refinery::postgres_store_internal

// PostgresStore: opening, schema, documents and stage transitions. Chunks,
// the log and the read-side queries live in postgres_store_chunks.cpp.
#include "store/postgres_store.h"

#include <optional>

#include "core/clock.h"
#include "store/pg_schema.h"
#include "store/postgres_store_internal.h"

namespace refinery {

using pg::Conn;
using pg::Params;
using pg::Rows;
using pg::TxMode;
using namespace postgres_store_internal;

namespace {

#define REFINERY_PG_DOCUMENT_COLUMNS                                                      \
  "id, title, source_url, content_hash, mime_type, blob_key, stage, error_message, "     \
  "error_stage, attempts, chunk_count, metadata, created_at, updated_at, stage_changed_at"

constexpr const char* kInsertDocument =
    "INSERT INTO refinery.documents (title, source_url, content_hash, mime_type, blob_key, stage,"
    " metadata, created_at, updated_at, stage_changed_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)"
    " ON CONFLICT (content_hash) DO NOTHING RETURNING id";
constexpr const char* kGetDocument =
    "SELECT " REFINERY_PG_DOCUMENT_COLUMNS " FROM refinery.documents WHERE id = $1";
// The total and the page in one statement: one snapshot, one round trip.
// The LEFT JOIN keeps the total when the page is empty.
constexpr const char* kListDocuments =
    "WITH total AS (SELECT COUNT(*) AS n FROM refinery.documents"
    "  WHERE $3::text = '' OR stage = $3::text)"
    " SELECT total.n, d.* FROM total LEFT JOIN LATERAL ("
    "  SELECT " REFINERY_PG_DOCUMENT_COLUMNS " FROM refinery.documents"
    "  WHERE $3::text = '' OR stage = $3::text"
    "  ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2) d ON true";

// Old column values on the right-hand side: `stage <> $2` compares the
// stage before this update.
#define REFINERY_PG_APPLY_TRANSITION                                             \
  "UPDATE refinery.documents SET"                                                \
  " stage_changed_at = CASE WHEN stage <> $2 THEN $3 ELSE stage_changed_at END," \
  " attempts = CASE WHEN stage <> $2 THEN 0 ELSE attempts END,"                  \
  " error_message = CASE WHEN stage <> $2 THEN '' ELSE error_message END,"       \
  " error_stage = CASE WHEN stage <> $2 THEN '' ELSE error_stage END,"           \
  " chunk_count = COALESCE($4::integer, chunk_count),"                           \
  " embedded_count = COALESCE($5::integer, embedded_count),"                     \
  " stage = $2, updated_at = $3"                                                 \
  " WHERE id = $1"
constexpr const char* kApplyTransition = REFINERY_PG_APPLY_TRANSITION;
// The compare-and-set itself: writes only while the stage is still $6.
constexpr const char* kCompareAndSetStage = REFINERY_PG_APPLY_TRANSITION " AND stage = $6";

// $1 id, $2 message, $3 now, $4 terminal, $5 stage that ran, $6 state it must be in.
constexpr const char* kRecordFailure =
    "UPDATE refinery.documents SET error_message = $2, updated_at = $3,"
    " error_stage = CASE WHEN $4 THEN $5 ELSE error_stage END,"
    " stage_changed_at = CASE WHEN $4 THEN $3 ELSE stage_changed_at END,"
    " stage = CASE WHEN $4 THEN 'error' ELSE stage END"
    " WHERE id = $1 AND stage = $6";
constexpr const char* kCountAttempt =
    "UPDATE refinery.documents SET attempts = attempts + 1, updated_at = $2 WHERE id = $1";
constexpr const char* kUncountAttempt =
    "UPDATE refinery.documents SET attempts = GREATEST(attempts - 1, 0) WHERE id = $1 AND stage = $2";
constexpr const char* kProbe =
    "INSERT INTO refinery.health_probe (id, checked_at) VALUES (1, $1)"
    " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";

Document ReadDocument(const Rows& r, int row, int col) {
  Document d;
  d.id = r.Int(row, col + 0);
  d.title = r.Text(row, col + 1);
  d.source_url = r.Text(row, col + 2);
  d.content_hash = r.Text(row, col + 3);
  d.mime_type = r.Text(row, col + 4);
  d.blob_key = r.Text(row, col + 5);
  d.stage = r.Text(row, col + 6);
  d.error_message = r.Text(row, col + 7);
  d.error_stage = r.Text(row, col + 8);
  d.attempts = static_cast<int>(r.Int(row, col + 9));
  d.chunk_count = static_cast<int>(r.Int(row, col + 10));
  d.metadata_json = r.Text(row, col + 11);
  d.created_at = r.Real(row, col + 12);
  d.updated_at = r.Real(row, col + 13);
  d.stage_changed_at = r.Real(row, col + 14);
  return d;
}

// NotFound or Conflict, after a compare-and-set matched no row.
Status WhyNoMatch(Conn& conn, int64_t id, const std::string& from) {
  auto rows = conn.Exec("SELECT stage FROM refinery.documents WHERE id = $1", Params(id));
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return Status::NotFound(NotFoundMessage(id));
  return Status::Conflict("document " + std::to_string(id) + " is in stage '" + rows->Text(0, 0) +
                          "', not '" + from + "'");
}

Status RecordFailureIn(Conn& c, int64_t id, const FailedAttempt& failure) {
  auto rows = c.Exec(kRecordFailure, Params(id, failure.message, NowSeconds(), failure.terminal, failure.stage,
                                            failure.state));
  if (!rows.ok()) return rows.status();
  if (rows->Affected() == 0) return WhyNoMatch(c, id, failure.state);
  return AppendNoteIn(c, id, {failure.stage, failure.terminal ? kLogFailed : kLogRetried, failure.message,
                              failure.started_at});
}

}  // namespace

namespace postgres_store_internal {

std::string NotFoundMessage(int64_t id) {
  return "document " + std::to_string(id) + " does not exist";
}

Status LockStage(Conn& conn, int64_t id, const std::string& from) {
  auto rows = conn.Exec("SELECT stage FROM refinery.documents WHERE id = $1 FOR UPDATE",
                        Params(id));
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return Status::NotFound(NotFoundMessage(id));
  if (rows->Text(0, 0) != from) return WhyNoMatch(conn, id, from);
  return Status::Ok();
}

Status ApplyTransition(Conn& conn, int64_t id, const StageTransition& t,
                       std::optional<ChunkCounts> counts) {
  std::optional<int64_t> chunks, embedded;
  if (counts) {
    chunks = counts->chunks;
    embedded = counts->embedded;
  }
  REFINERY_RETURN_IF_ERROR(conn.Run(kApplyTransition, Params(id, t.to, NowSeconds(), chunks, embedded)));
  if (!t.log) return Status::Ok();
  return AppendNoteIn(conn, id, *t.log);
}

}  // namespace postgres_store_internal

pg::PoolOptions PoolOptionsFrom(const Config& config) {
  pg::PoolOptions o;
  o.min_size = config.db_pool_min;
  o.max_size = config.db_pool_max;
  o.checkout_timeout_s = config.db_checkout_timeout_s;
  o.max_lifetime_s = config.db_max_lifetime_s;
  o.retries = config.db_retries;
  o.retry_base_delay_s = config.db_retry_base_delay_s;
  return o;
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const Config& config) {
  auto settings = pg::BuildConnectSettings(config.database_url, config.db_statement_timeout_s);
  if (!settings.ok()) return settings.status();
  auto pool = std::make_unique<pg::Pool>(std::move(*settings), PoolOptionsFrom(config));
  pool->Warm();
  return std::make_unique<PostgresStore>(std::move(pool));
}

Status PostgresStore::Migrate() {
  return pool_->Run("migrate", TxMode::kWrite, pg::MigrateSchema);
}

Result<int> PostgresStore::SchemaVersion() {
  int version = 0;
  Status s = pool_->Run("schema version", TxMode::kSnapshot, [&](Conn& c) -> Status {
    auto v = pg::AppliedSchemaVersion(c);
    if (!v.ok()) return v.status();
    version = *v;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return version;
}

Status PostgresStore::Ping() {
  return pool_->Run("ping", TxMode::kNone, [](Conn& c) { return c.Run("SELECT 1"); });
}

Result<InsertOutcome> PostgresStore::InsertDocument(const NewDocument& doc) {
  if (doc.content_hash.empty()) return Status::InvalidArgument("content_hash is required");
  if (doc.stage.empty()) return Status::InvalidArgument("stage is required");
  const std::string& metadata = doc.metadata_json.empty() ? "{}" : doc.metadata_json;
  InsertOutcome outcome;
  // Autocommit: ON CONFLICT waits for a racing insert of the same hash, and
  // the follow-up SELECT (a new snapshot) then sees the winner's row.
  Status s = pool_->Run("insert document", TxMode::kNone, [&](Conn& c) -> Status {
    auto inserted = c.Exec(kInsertDocument, Params(doc.title, doc.source_url, doc.content_hash,
                                                   doc.mime_type, doc.blob_key, doc.stage,
                                                   metadata, NowSeconds()));
    if (!inserted.ok()) {
      if (inserted.status().code() != StatusCode::kInvalidArgument) return inserted.status();
      return Status::InvalidArgument("metadata must be a JSON object: " +
                                     inserted.status().message());
    }
    if (inserted->size() == 1) {
      outcome = {inserted->Int(0, 0), true};
      return Status::Ok();
    }
    auto found = c.Exec("SELECT id FROM refinery.documents WHERE content_hash = $1",
                        Params(doc.content_hash));
    if (!found.ok()) return found.status();
    if (found->size() == 0) {
      return Status::Internal("insert of " + doc.content_hash + " neither inserted nor found");
    }
    outcome = {found->Int(0, 0), false};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return outcome;
}

Result<Document> PostgresStore::GetDocument(int64_t id) {
  std::optional<Document> doc;
  Status s = pool_->Run("get document", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kGetDocument, Params(id));
    if (!rows.ok()) return rows.status();
    if (rows->size() == 0) return Status::NotFound(NotFoundMessage(id));
    doc = ReadDocument(*rows, 0, 0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::move(*doc);
}

Result<DocumentPage> PostgresStore::ListDocuments(const std::string& stage, int64_t limit,
                                                  int64_t offset) {
  if (limit < 0 || offset < 0) return Status::InvalidArgument("limit and offset must be >= 0");
  DocumentPage page;
  Status s = pool_->Run("list documents", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kListDocuments, Params(limit, offset, stage));
    if (!rows.ok()) return rows.status();
    page = DocumentPage{};
    for (int i = 0; i < rows->size(); ++i) {
      page.total = rows->Int(i, 0);
      if (!rows->IsNull(i, 1)) page.documents.push_back(ReadDocument(*rows, i, 1));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Status PostgresStore::DeleteDocument(int64_t id) {
  return pool_->Run("delete document", TxMode::kNone, [&](Conn& c) -> Status {
    // chunks and log go with it: ON DELETE CASCADE
    auto rows = c.Exec("DELETE FROM refinery.documents WHERE id = $1", Params(id));
    if (!rows.ok()) return rows.status();
    return rows->Affected() == 0 ? Status::NotFound(NotFoundMessage(id)) : Status::Ok();
  });
}

Status PostgresStore::SetStage(int64_t id, const StageTransition& t) {
  // With a log entry: one transaction for both; without, one statement.
  const TxMode mode = t.log ? TxMode::kWrite : TxMode::kNone;
  return pool_->Run("set stage", mode, [&](Conn& c) -> Status {
    auto rows =
        c.Exec(kCompareAndSetStage, Params(id, t.to, NowSeconds(), nullptr, nullptr, t.from));
    if (!rows.ok()) return rows.status();
    if (rows->Affected() != 1) return WhyNoMatch(c, id, t.from);
    if (!t.log) return Status::Ok();
    return AppendNoteIn(c, id, *t.log);
  });
}

Result<AttemptStart> PostgresStore::StartAttempt(int64_t id, const std::string& stage,
                                                 const std::string& state, int max_attempts) {
  AttemptStart start;
  Status s = pool_->Run("start attempt", TxMode::kWrite, [&](Conn& c) -> Status {
    REFINERY_RETURN_IF_ERROR(LockStage(c, id, state));
    auto rows = c.Exec(kGetDocument, Params(id));
    if (!rows.ok()) return rows.status();
    start = AttemptStart{ReadDocument(*rows, 0, 0), false};
    Document& doc = start.document;
    if (doc.attempts < max_attempts) {
      ++doc.attempts;
      return c.Run(kCountAttempt, Params(id, NowSeconds()));
    }
    start.gave_up = true;
    const std::string message = GaveUpMessage(doc.attempts, doc.error_message);
    REFINERY_RETURN_IF_ERROR(RecordFailureIn(c, id, {stage, state, message, true, 0}));
    doc.stage = "error";
    doc.error_stage = stage;
    doc.error_message = message;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return start;
}

Status PostgresStore::ReleaseAttempt(int64_t id, const std::string& state) {
  return pool_->Run("release attempt", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kUncountAttempt, Params(id, state));
    if (!rows.ok()) return rows.status();
    return rows->Affected() == 1 ? Status::Ok() : WhyNoMatch(c, id, state);
  });
}

Status PostgresStore::RecordFailure(int64_t id, const FailedAttempt& failure) {
  return pool_->Run("record failure", TxMode::kWrite, [&](Conn& c) { return RecordFailureIn(c, id, failure); });
}

Status PostgresStore::CheckWritable() {
  return pool_->Run("check writable", TxMode::kNone, [](Conn& c) { return c.Run(kProbe, Params(NowSeconds())); });
}

}  // namespace refinery

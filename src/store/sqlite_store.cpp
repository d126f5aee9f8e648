// SqliteStore: schema, documents and stage transitions. Chunks, the log and
// the read-side queries live in sqlite_store_chunks.cpp.
#include "store/sqlite_store.h"
#include "store/sqlite_store_internal.h"

#include "core/clock.h"
#include "core/disk_space.h"
#include "store/sqlite_schema.h"

namespace refinery {

using sqlite::Connection;
using sqlite::Transaction;
using namespace sqlite_store_internal;

namespace {

#define REFINERY_DOCUMENT_COLUMNS                                                         \
  "id, title, source_url, content_hash, mime_type, blob_key, stage, error_message, "     \
  "error_stage, attempts, chunk_count, metadata, created_at, updated_at, stage_changed_at"

constexpr const char* kInsertDocument =
    "INSERT INTO documents (title, source_url, content_hash, mime_type, blob_key, stage,"
    " metadata, created_at, updated_at, stage_changed_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)"
    " ON CONFLICT (content_hash) DO NOTHING";
constexpr const char* kGetDocument =
    "SELECT " REFINERY_DOCUMENT_COLUMNS " FROM documents WHERE id = ?1";
constexpr const char* kListAll = "SELECT " REFINERY_DOCUMENT_COLUMNS
                                 " FROM documents ORDER BY created_at DESC, id DESC"
                                 " LIMIT ?1 OFFSET ?2";
constexpr const char* kListStage = "SELECT " REFINERY_DOCUMENT_COLUMNS
                                   " FROM documents WHERE stage = ?3"
                                   " ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2";
constexpr const char* kCountAll = "SELECT COUNT(*) FROM documents";
constexpr const char* kCountStage = "SELECT COUNT(*) FROM documents WHERE stage = ?1";

// Old column values on the right-hand side: `stage <> ?2` compares the
// stage before this update.
constexpr const char* kApplyTransition =
    "UPDATE documents SET"
    " stage_changed_at = CASE WHEN stage <> ?2 THEN ?3 ELSE stage_changed_at END,"
    " attempts = CASE WHEN stage <> ?2 THEN 0 ELSE attempts END,"
    " error_message = CASE WHEN stage <> ?2 THEN '' ELSE error_message END,"
    " error_stage = CASE WHEN stage <> ?2 THEN '' ELSE error_stage END,"
    " chunk_count = COALESCE(?4, chunk_count),"
    " embedded_count = COALESCE(?5, embedded_count),"
    " stage = ?2, updated_at = ?3"
    " WHERE id = ?1";

// ?1 id, ?2 message, ?3 now, ?4 terminal, ?5 stage that ran, ?6 state it must be in.
constexpr const char* kRecordFailure =
    "UPDATE documents SET error_message = ?2, updated_at = ?3,"
    " error_stage = CASE WHEN ?4 THEN ?5 ELSE error_stage END,"
    " stage_changed_at = CASE WHEN ?4 THEN ?3 ELSE stage_changed_at END,"
    " stage = CASE WHEN ?4 THEN 'error' ELSE stage END"
    " WHERE id = ?1 AND stage = ?6";
constexpr const char* kCountAttempt =
    "UPDATE documents SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1";
constexpr const char* kUncountAttempt =
    "UPDATE documents SET attempts = MAX(attempts - 1, 0) WHERE id = ?1 AND stage = ?2";
constexpr const char* kProbe =
    "INSERT INTO health_probe (id, checked_at) VALUES (1, ?1)"
    " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";

Document ReadDocument(const sqlite::Statement& s) {
  Document d;
  d.id = s.Int(0);
  d.title = s.Text(1);
  d.source_url = s.Text(2);
  d.content_hash = s.Text(3);
  d.mime_type = s.Text(4);
  d.blob_key = s.Text(5);
  d.stage = s.Text(6);
  d.error_message = s.Text(7);
  d.error_stage = s.Text(8);
  d.attempts = static_cast<int>(s.Int(9));
  d.chunk_count = static_cast<int>(s.Int(10));
  d.metadata_json = s.Text(11);
  d.created_at = s.Real(12);
  d.updated_at = s.Real(13);
  d.stage_changed_at = s.Real(14);
  return d;
}

// Metadata is stored verbatim but must be a JSON object, so readers can
// parse it without guarding; SQLite's JSON functions check it cheaply.
Status CheckMetadata(Connection& conn, const std::string& json) {
  auto stmt = conn.Prepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Bind(json).Step();
  if (!row.ok()) return row.status();
  if (stmt->Text(0) != "object") return Status::InvalidArgument("metadata must be a JSON object");
  return Status::Ok();
}

Result<int64_t> CountDocuments(Connection& conn, const std::string& stage) {
  auto stmt = conn.Prepare(stage.empty() ? kCountAll : kCountStage);
  if (!stmt.ok()) return stmt.status();
  if (!stage.empty()) stmt->Bind(stage);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return stmt->Int(0);
}

Result<std::vector<Document>> PageDocuments(Connection& conn, const std::string& stage,
                                            int64_t limit, int64_t offset) {
  auto stmt = conn.Prepare(stage.empty() ? kListAll : kListStage);
  if (!stmt.ok()) return stmt.status();
  if (stage.empty()) {
    stmt->Bind(limit, offset);
  } else {
    stmt->Bind(limit, offset, stage);
  }
  std::vector<Document> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadDocument(*stmt));
  }
}

}  // namespace

namespace sqlite_store_internal {

std::string NotFoundMessage(int64_t id) { return "document " + std::to_string(id) + " does not exist"; }

Status CheckStage(Connection& conn, int64_t id, const std::string& from) {
  auto stmt = conn.Prepare("SELECT stage FROM documents WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Bind(id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(NotFoundMessage(id));
  const std::string stage = stmt->Text(0);
  if (stage != from) {
    return Status::Conflict("document " + std::to_string(id) + " is in stage '" + stage +
                            "', not '" + from + "'");
  }
  return Status::Ok();
}

Status ApplyTransition(Connection& conn, int64_t id, const StageTransition& t,
                       std::optional<ChunkCounts> counts) {
  std::optional<int64_t> chunks, embedded;
  if (counts) {
    chunks = counts->chunks;
    embedded = counts->embedded;
  }
  auto stmt = conn.Prepare(kApplyTransition);
  if (!stmt.ok()) return stmt.status();
  REFINERY_RETURN_IF_ERROR(stmt->Bind(id, t.to, NowSeconds(), chunks, embedded).Run());
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

}  // namespace sqlite_store_internal

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const SqliteStoreOptions& options) {
  auto store = std::make_unique<SqliteStore>(path, options);
  REFINERY_RETURN_IF_ERROR(store->Ping());  // surface a bad path now, not at first use
  return store;
}

SqliteStore::SqliteStore(const std::string& path, const SqliteStoreOptions& options)
    : pool_(path, sqlite::ConnectionOptions{options.busy_timeout_ms}, options.max_idle_connections),
      busy_timeout_ms_(options.busy_timeout_ms) {}

Status SqliteStore::Write(const std::function<Status(Connection&)>& body) {
  return sqlite::RunInTransaction(pool_, Transaction::Kind::kWrite, body);
}

Status SqliteStore::Read(const std::function<Status(Connection&)>& body) {
  return sqlite::RunInTransaction(pool_, Transaction::Kind::kRead, body);
}

Status SqliteStore::Migrate() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::MigrateSchema(**conn);
}

Result<int> SqliteStore::SchemaVersion() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::AppliedSchemaVersion(**conn);
}

Status SqliteStore::Ping() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  auto stmt = (*conn)->Prepare("SELECT 1");
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

PoolStats SqliteStore::GetPoolStats() {
  const auto figures = pool_.Stats();
  PoolStats stats;
  stats.in_use = figures.in_use;
  stats.idle = figures.idle;
  stats.size = figures.in_use + figures.idle;
  stats.created = figures.created;
  return stats;
}

Result<InsertOutcome> SqliteStore::InsertDocument(const NewDocument& doc) {
  if (doc.content_hash.empty()) return Status::InvalidArgument("content_hash is required");
  if (doc.stage.empty()) return Status::InvalidArgument("stage is required");
  const std::string& metadata = doc.metadata_json.empty() ? "{}" : doc.metadata_json;
  InsertOutcome outcome;
  // One IMMEDIATE transaction: the insert-or-find cannot interleave with a
  // racing insert of the same hash from another thread or process.
  Status s = Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckMetadata(c, metadata));
    auto insert = c.Prepare(kInsertDocument);
    if (!insert.ok()) return insert.status();
    REFINERY_RETURN_IF_ERROR(insert->Bind(doc.title, doc.source_url, doc.content_hash,
                                          doc.mime_type, doc.blob_key, doc.stage, metadata,
                                          NowSeconds()).Run());
    if (c.Changes() == 1) {
      outcome = {c.LastInsertId(), true};
      return Status::Ok();
    }
    auto find = c.Prepare("SELECT id FROM documents WHERE content_hash = ?1");
    if (!find.ok()) return find.status();
    auto row = find->Bind(doc.content_hash).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Internal("insert of " + doc.content_hash + " neither inserted nor found");
    outcome = {find->Int(0), false};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return outcome;
}

Result<Document> SqliteStore::GetDocument(int64_t id) {
  std::optional<Document> doc;
  Status s = Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kGetDocument);
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Bind(id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound(NotFoundMessage(id));
    doc = ReadDocument(*stmt);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::move(*doc);
}

Result<DocumentPage> SqliteStore::ListDocuments(const std::string& stage, int64_t limit,
                                                int64_t offset) {
  if (limit < 0 || offset < 0) return Status::InvalidArgument("limit and offset must be >= 0");
  DocumentPage page;
  // One read transaction: the total and the page come from the same snapshot.
  Status s = Read([&](Connection& c) -> Status {
    auto total = CountDocuments(c, stage);
    if (!total.ok()) return total.status();
    auto docs = PageDocuments(c, stage, limit, offset);
    if (!docs.ok()) return docs.status();
    page.total = *total;
    page.documents = std::move(*docs);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Status SqliteStore::DeleteDocument(int64_t id) {
  return Write([&](Connection& c) -> Status {
    auto stmt = c.Prepare("DELETE FROM documents WHERE id = ?1");  // chunks, log: ON DELETE CASCADE
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(id).Run());
    return c.Changes() == 0 ? Status::NotFound(NotFoundMessage(id)) : Status::Ok();
  });
}

Status SqliteStore::SetStage(int64_t id, const StageTransition& t) {
  // CheckStage makes this a compare-and-set: the write lock is held from it
  // to the update.
  return Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckStage(c, id, t.from));
    return ApplyTransition(c, id, t, std::nullopt);
  });
}

Result<AttemptStart> SqliteStore::StartAttempt(int64_t id, const std::string& stage,
                                               const std::string& state, int max_attempts) {
  AttemptStart start;
  Status s = Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckStage(c, id, state));
    auto get = c.Prepare(kGetDocument);
    if (!get.ok()) return get.status();
    auto row = get->Bind(id).Step();
    if (!row.ok()) return row.status();
    start.document = ReadDocument(*get);
    Document& doc = start.document;
    if (doc.attempts < max_attempts) {
      auto count = c.Prepare(kCountAttempt);
      if (!count.ok()) return count.status();
      ++doc.attempts;
      return count->Bind(id, NowSeconds()).Run();
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

Status SqliteStore::ReleaseAttempt(int64_t id, const std::string& state) {
  return Write([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kUncountAttempt);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(id, state).Run());
    return c.Changes() == 1 ? Status::Ok() : CheckStage(c, id, state);
  });
}

Status SqliteStore::RecordFailure(int64_t id, const FailedAttempt& failure) {
  return Write([&](Connection& c) { return RecordFailureIn(c, id, failure); });
}

Status SqliteStore::RecordFailureIn(Connection& c, int64_t id, const FailedAttempt& failure) {
  auto stmt = c.Prepare(kRecordFailure);
  if (!stmt.ok()) return stmt.status();
  REFINERY_RETURN_IF_ERROR(stmt->Bind(id, failure.message, NowSeconds(), failure.terminal ? 1 : 0,
                                      failure.stage, failure.state)
                               .Run());
  if (c.Changes() == 0) return CheckStage(c, id, failure.state);
  return AppendNoteIn(c, id, {failure.stage, failure.terminal ? kLogFailed : kLogRetried, failure.message,
                              failure.started_at});
}

Status SqliteStore::CheckWritable() {
  REFINERY_RETURN_IF_ERROR(CheckFreeSpace(path(), "store"));
  auto conn = pool_.Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::ProbeWrite(**conn, kProbe, busy_timeout_ms_);
}

}  // namespace refinery

// SqliteStore's DocumentStore: documents, state transitions and attempts.
#include "core/clock.h"
#include "store/sqlite_store_internal.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;

namespace {

#define REFINERY_DOCUMENT_COLUMNS                                                    \
  "id, title, source_url, content_hash, mime_type, blob_key, state, error_message, " \
  "error_stage, attempts, chunk_count, metadata, created_at, updated_at, state_changed_at"

constexpr const char* kInsertDocument =
    "INSERT INTO documents (title, source_url, content_hash, mime_type, blob_key, state,"
    " metadata, created_at, updated_at, state_changed_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)"
    " ON CONFLICT (content_hash) DO NOTHING";
constexpr const char* kGetDocument = "SELECT " REFINERY_DOCUMENT_COLUMNS " FROM documents WHERE id = ?1";
constexpr const char* kListAll =
    "SELECT " REFINERY_DOCUMENT_COLUMNS " FROM documents ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2";
constexpr const char* kListState = "SELECT " REFINERY_DOCUMENT_COLUMNS
                                   " FROM documents WHERE state = ?3"
                                   " ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2";
constexpr const char* kCountAll = "SELECT COUNT(*) FROM documents";
constexpr const char* kCountState = "SELECT COUNT(*) FROM documents WHERE state = ?1";
// ?1 id, ?2 message, ?3 now, ?4 terminal, ?5 stage that ran, ?6 state it must be in.
constexpr const char* kRecordFailure =
    "UPDATE documents SET error_message = ?2, updated_at = ?3,"
    " error_stage = CASE WHEN ?4 THEN ?5 ELSE error_stage END,"
    " state_changed_at = CASE WHEN ?4 THEN ?3 ELSE state_changed_at END,"
    " state = CASE WHEN ?4 THEN 'error' ELSE state END"
    " WHERE id = ?1 AND state = ?6";
constexpr const char* kCountAttempt = "UPDATE documents SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1";
constexpr const char* kUncountAttempt =
    "UPDATE documents SET attempts = MAX(attempts - 1, 0) WHERE id = ?1 AND state = ?2";
constexpr const char* kStale =
    "SELECT id FROM documents WHERE state = ?1 AND state_changed_at < ?2"
    " ORDER BY state_changed_at, id LIMIT ?3";

Document ReadDocument(const sqlite::Statement& s) {
  Document d;
  d.id = s.Int(0);
  d.title = s.Text(1);
  d.source_url = s.Text(2);
  d.content_hash = s.Text(3);
  d.mime_type = s.Text(4);
  d.blob_key = s.Text(5);
  d.state = s.Text(6);
  d.error_message = s.Text(7);
  d.error_stage = s.Text(8);
  d.attempts = static_cast<int>(s.Int(9));
  d.chunk_count = static_cast<int>(s.Int(10));
  d.metadata_json = s.Text(11);
  d.created_at = s.Real(12);
  d.updated_at = s.Real(13);
  d.state_changed_at = s.Real(14);
  return d;
}

Result<int64_t> CountDocuments(Connection& conn, const std::string& state) {
  auto stmt = conn.Prepare(state.empty() ? kCountAll : kCountState);
  if (!stmt.ok()) return stmt.status();
  if (!state.empty()) stmt->Bind(state);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return stmt->Int(0);
}

Result<std::vector<Document>> PageDocuments(Connection& conn, const std::string& state, int64_t limit, int64_t offset) {
  auto stmt = conn.Prepare(state.empty() ? kListAll : kListState);
  if (!stmt.ok()) return stmt.status();
  if (state.empty()) {
    stmt->Bind(limit, offset);
  } else {
    stmt->Bind(limit, offset, state);
  }
  std::vector<Document> out;
  REFINERY_RETURN_IF_ERROR(ForEachRow(*stmt, [&](const sqlite::Statement& row) { out.push_back(ReadDocument(row)); }));
  return out;
}

Status RecordFailureIn(Connection& c, int64_t id, const FailedAttempt& failure) {
  auto stmt = c.Prepare(kRecordFailure);
  if (!stmt.ok()) return stmt.status();
  REFINERY_RETURN_IF_ERROR(
      stmt->Bind(id, failure.message, NowSeconds(), failure.terminal ? 1 : 0, failure.stage, failure.state).Run());
  if (c.Changes() == 0) return CheckState(c, id, failure.state);
  return AppendNoteIn(
      c, id, {failure.stage, failure.terminal ? kLogFailed : kLogRetried, failure.message, failure.started_at});
}

class SqliteDocuments final : public DocumentStore {
 public:
  explicit SqliteDocuments(SqliteDb& db) : db_(db) {}

 protected:
  Result<InsertOutcome> DoInsert(const NewDocument& doc) override;
  Result<Document> DoGet(int64_t id) override;
  Result<DocumentPage> DoList(const std::string& state, int64_t limit, int64_t offset) override;
  Status DoDelete(int64_t id) override;
  Status DoSetState(int64_t id, const StateTransition& t) override;
  Result<AttemptStart> DoStartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                      int max_attempts) override;
  Status DoReleaseAttempt(int64_t id, const std::string& state) override;
  Status DoRecordFailure(int64_t id, const FailedAttempt& failure) override {
    return db_.Write([&](Connection& c) { return RecordFailureIn(c, id, failure); });
  }
  Result<std::vector<int64_t>> DoStale(const std::string& state, double older_than, int64_t limit) override;

 private:
  SqliteDb& db_;
};

Result<InsertOutcome> SqliteDocuments::DoInsert(const NewDocument& doc) {
  InsertOutcome outcome;
  // One IMMEDIATE transaction: the insert-or-find cannot interleave with a
  // racing insert of the same hash from another thread or process.
  Status s = db_.Write([&](Connection& c) -> Status {
    auto insert = c.Prepare(kInsertDocument);
    if (!insert.ok()) return insert.status();
    REFINERY_RETURN_IF_ERROR(insert
                                 ->Bind(doc.title, doc.source_url, doc.content_hash, doc.mime_type, doc.blob_key,
                                        doc.state, doc.metadata_json, NowSeconds())
                                 .Run());
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

Result<Document> SqliteDocuments::DoGet(int64_t id) {
  std::optional<Document> doc;
  Status s = db_.Read([&](Connection& c) -> Status {
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

Result<DocumentPage> SqliteDocuments::DoList(const std::string& state, int64_t limit, int64_t offset) {
  DocumentPage page;
  // One read transaction: the total and the page come from the same snapshot.
  Status s = db_.Read([&](Connection& c) -> Status {
    auto total = CountDocuments(c, state);
    if (!total.ok()) return total.status();
    auto docs = PageDocuments(c, state, limit, offset);
    if (!docs.ok()) return docs.status();
    page.total = *total;
    page.documents = std::move(*docs);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Status SqliteDocuments::DoDelete(int64_t id) {
  return db_.Write([&](Connection& c) -> Status {
    auto stmt = c.Prepare("DELETE FROM documents WHERE id = ?1");  // chunks, log: ON DELETE CASCADE
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(id).Run());
    return c.Changes() == 0 ? Status::NotFound(NotFoundMessage(id)) : Status::Ok();
  });
}

Status SqliteDocuments::DoSetState(int64_t id, const StateTransition& t) {
  // CheckState makes this a compare-and-set: the write lock is held from it
  // to the update.
  return db_.Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckState(c, id, t.from));
    return ApplyTransition(c, id, t, std::nullopt);
  });
}

Result<AttemptStart> SqliteDocuments::DoStartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                                     int max_attempts) {
  AttemptStart start;
  Status s = db_.Write([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckState(c, id, state));
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
    return RecordFailureIn(c, id, GiveUp(start, stage, state));
  });
  if (!s.ok()) return s;
  return start;
}

Status SqliteDocuments::DoReleaseAttempt(int64_t id, const std::string& state) {
  return db_.Write([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kUncountAttempt);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(id, state).Run());
    return c.Changes() == 1 ? Status::Ok() : CheckState(c, id, state);
  });
}

Result<std::vector<int64_t>> SqliteDocuments::DoStale(const std::string& state, double older_than, int64_t limit) {
  std::vector<int64_t> ids;
  Status s = db_.Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kStale);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(state, older_than, limit),
                      [&](const sqlite::Statement& row) { ids.push_back(row.Int(0)); });
  });
  if (!s.ok()) return s;
  return ids;
}

}  // namespace

std::unique_ptr<DocumentStore> NewDocuments(SqliteDb& db) { return std::make_unique<SqliteDocuments>(db); }

}  // namespace refinery::sqlite_store_internal

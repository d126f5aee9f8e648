// PostgresStore's DocumentStore: documents, state transitions and attempts.
#include "core/clock.h"
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::Rows;
using pg::TxMode;

namespace {

#define REFINERY_PG_DOCUMENT_COLUMNS                                                 \
  "id, title, source_url, content_hash, mime_type, blob_key, state, error_message, " \
  "error_stage, attempts, chunk_count, metadata, created_at, updated_at, state_changed_at"

constexpr const char* kInsertDocument =
    "INSERT INTO refinery.documents (title, source_url, content_hash, mime_type, blob_key, state,"
    " metadata, created_at, updated_at, state_changed_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)"
    " ON CONFLICT (content_hash) DO NOTHING RETURNING id";
constexpr const char* kGetDocument = "SELECT " REFINERY_PG_DOCUMENT_COLUMNS " FROM refinery.documents WHERE id = $1";
// The total and the page in one statement: one snapshot, one round trip.
// The LEFT JOIN keeps the total when the page is empty.
constexpr const char* kListDocuments =
    "WITH total AS (SELECT COUNT(*) AS n FROM refinery.documents"
    "  WHERE $3::text = '' OR state = $3::text)"
    " SELECT total.n, d.* FROM total LEFT JOIN LATERAL ("
    "  SELECT " REFINERY_PG_DOCUMENT_COLUMNS
    " FROM refinery.documents"
    "  WHERE $3::text = '' OR state = $3::text"
    "  ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2) d ON true";
// The compare-and-set itself: writes only while the state is still $4.
constexpr const char* kCompareAndSetState =
    "UPDATE refinery.documents SET"
    " state_changed_at = CASE WHEN state <> $2 THEN $3 ELSE state_changed_at END,"
    " attempts = CASE WHEN state <> $2 THEN 0 ELSE attempts END,"
    " error_message = CASE WHEN state <> $2 THEN '' ELSE error_message END,"
    " error_stage = CASE WHEN state <> $2 THEN '' ELSE error_stage END,"
    " state = $2, updated_at = $3"
    " WHERE id = $1 AND state = $4";
// $1 id, $2 message, $3 now, $4 terminal, $5 stage that ran, $6 state it must be in.
constexpr const char* kRecordFailure =
    "UPDATE refinery.documents SET error_message = $2, updated_at = $3,"
    " error_stage = CASE WHEN $4 THEN $5 ELSE error_stage END,"
    " state_changed_at = CASE WHEN $4 THEN $3 ELSE state_changed_at END,"
    " state = CASE WHEN $4 THEN 'error' ELSE state END"
    " WHERE id = $1 AND state = $6";
constexpr const char* kCountAttempt =
    "UPDATE refinery.documents SET attempts = attempts + 1, updated_at = $2 WHERE id = $1";
constexpr const char* kUncountAttempt =
    "UPDATE refinery.documents SET attempts = GREATEST(attempts - 1, 0) WHERE id = $1 AND state = $2";
constexpr const char* kStale =
    "SELECT id FROM refinery.documents WHERE state = $1 AND state_changed_at < $2"
    " ORDER BY state_changed_at, id LIMIT $3";

Document ReadDocument(const Rows& r, int row, int col) {
  Document d;
  d.id = r.Int(row, col + 0);
  d.title = r.Text(row, col + 1);
  d.source_url = r.Text(row, col + 2);
  d.content_hash = r.Text(row, col + 3);
  d.mime_type = r.Text(row, col + 4);
  d.blob_key = r.Text(row, col + 5);
  d.state = r.Text(row, col + 6);
  d.error_message = r.Text(row, col + 7);
  d.error_stage = r.Text(row, col + 8);
  d.attempts = static_cast<int>(r.Int(row, col + 9));
  d.chunk_count = static_cast<int>(r.Int(row, col + 10));
  d.metadata_json = r.Text(row, col + 11);
  d.created_at = r.Real(row, col + 12);
  d.updated_at = r.Real(row, col + 13);
  d.state_changed_at = r.Real(row, col + 14);
  return d;
}

Status RecordFailureIn(Conn& c, int64_t id, const FailedAttempt& failure) {
  auto rows =
      c.Exec(kRecordFailure, Params(id, failure.message, NowSeconds(), failure.terminal, failure.stage, failure.state));
  if (!rows.ok()) return rows.status();
  if (rows->Affected() == 0) return WhyNoMatch(c, id, failure.state);
  return AppendNoteIn(
      c, id, {failure.stage, failure.terminal ? kLogFailed : kLogRetried, failure.message, failure.started_at});
}

class PgDocuments final : public DocumentStore {
 public:
  explicit PgDocuments(pg::Pool& pool) : pool_(pool) {}

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
    return pool_.Run("record failure", TxMode::kWrite, [&](Conn& c) { return RecordFailureIn(c, id, failure); });
  }
  Result<std::vector<int64_t>> DoStale(const std::string& state, double older_than, int64_t limit) override;

 private:
  pg::Pool& pool_;
};

Result<InsertOutcome> PgDocuments::DoInsert(const NewDocument& doc) {
  InsertOutcome outcome;
  // Autocommit: ON CONFLICT waits for a racing insert of the same hash, and
  // the follow-up SELECT (a new snapshot) then sees the winner's row.
  Status s = pool_.Run("insert document", TxMode::kNone, [&](Conn& c) -> Status {
    auto inserted = c.Exec(kInsertDocument, Params(doc.title, doc.source_url, doc.content_hash, doc.mime_type,
                                                   doc.blob_key, doc.state, doc.metadata_json, NowSeconds()));
    if (!inserted.ok()) return inserted.status();
    if (inserted->size() == 1) {
      outcome = {inserted->Int(0, 0), true};
      return Status::Ok();
    }
    auto found = c.Exec("SELECT id FROM refinery.documents WHERE content_hash = $1", Params(doc.content_hash));
    if (!found.ok()) return found.status();
    if (found->size() == 0) return Status::Internal("insert of " + doc.content_hash + " neither inserted nor found");
    outcome = {found->Int(0, 0), false};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return outcome;
}

Result<Document> PgDocuments::DoGet(int64_t id) {
  std::optional<Document> doc;
  Status s = pool_.Run("get document", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kGetDocument, Params(id));
    if (!rows.ok()) return rows.status();
    if (rows->size() == 0) return Status::NotFound(NotFoundMessage(id));
    doc = ReadDocument(*rows, 0, 0);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return std::move(*doc);
}

Result<DocumentPage> PgDocuments::DoList(const std::string& state, int64_t limit, int64_t offset) {
  DocumentPage page;
  Status s = pool_.Run("list documents", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kListDocuments, Params(limit, offset, state));
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

Status PgDocuments::DoDelete(int64_t id) {
  return pool_.Run("delete document", TxMode::kNone, [&](Conn& c) -> Status {
    // chunks and log go with it: ON DELETE CASCADE
    auto rows = c.Exec("DELETE FROM refinery.documents WHERE id = $1", Params(id));
    if (!rows.ok()) return rows.status();
    return rows->Affected() == 0 ? Status::NotFound(NotFoundMessage(id)) : Status::Ok();
  });
}

Status PgDocuments::DoSetState(int64_t id, const StateTransition& t) {
  // With a log entry: one transaction for both; without, one statement.
  const TxMode mode = t.log ? TxMode::kWrite : TxMode::kNone;
  return pool_.Run("set state", mode, [&](Conn& c) -> Status {
    auto rows = c.Exec(kCompareAndSetState, Params(id, t.to, NowSeconds(), t.from));
    if (!rows.ok()) return rows.status();
    if (rows->Affected() != 1) return WhyNoMatch(c, id, t.from);
    if (!t.log) return Status::Ok();
    return AppendNoteIn(c, id, *t.log);
  });
}

Result<AttemptStart> PgDocuments::DoStartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                                 int max_attempts) {
  AttemptStart start;
  Status s = pool_.Run("start attempt", TxMode::kWrite, [&](Conn& c) -> Status {
    REFINERY_RETURN_IF_ERROR(LockState(c, id, state));
    auto rows = c.Exec(kGetDocument, Params(id));
    if (!rows.ok()) return rows.status();
    start = AttemptStart{ReadDocument(*rows, 0, 0), false};
    Document& doc = start.document;
    if (doc.attempts < max_attempts) {
      ++doc.attempts;
      return c.Run(kCountAttempt, Params(id, NowSeconds()));
    }
    return RecordFailureIn(c, id, GiveUp(start, stage, state));
  });
  if (!s.ok()) return s;
  return start;
}

Status PgDocuments::DoReleaseAttempt(int64_t id, const std::string& state) {
  return pool_.Run("release attempt", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kUncountAttempt, Params(id, state));
    if (!rows.ok()) return rows.status();
    return rows->Affected() == 1 ? Status::Ok() : WhyNoMatch(c, id, state);
  });
}

Result<std::vector<int64_t>> PgDocuments::DoStale(const std::string& state, double older_than, int64_t limit) {
  std::vector<int64_t> ids;
  Status s = pool_.Run("stale documents", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kStale, Params(state, older_than, limit));
    if (!rows.ok()) return rows.status();
    ids = IdsOf(*rows);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return ids;
}

}  // namespace

std::unique_ptr<DocumentStore> NewDocuments(pg::Pool& pool) { return std::make_unique<PgDocuments>(pool); }

}  // namespace refinery::postgres_store_internal

// SqliteStore's TelemetryStore: the processing log, its counters and the
// per-state totals the triggers keep.
#include "store/sqlite_store_internal.h"
#include "store/backend_common.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr const char* kStageCounters = "SELECT stage, status, le, events, duration_sum_s FROM stage_metrics";
constexpr const char* kGetLog =
    "SELECT id, document_id, stage, status, message, duration_ms, created_at"
    " FROM processing_log WHERE document_id = ?1 ORDER BY id";
// The failed chunks per stage, as the triggers keep them (v13): two rows.
constexpr const char* kFailedChunks = "SELECT stage, chunks FROM chunk_failure_totals";
// The totals the triggers keep (schema v5, v6): a few rows, not every document.
constexpr const char* kStats = "SELECT state_key, documents, chunks, embedded, evaluated FROM stage_totals WHERE documents > 0";

LogEntry ReadLogEntry(const Statement& s) {
  LogEntry e;
  e.id = s.Int(0);
  e.document_id = s.Int(1);
  e.stage = s.Text(2);
  e.status = s.Text(3);
  e.message = s.Text(4);
  e.duration_ms = s.Real(5);
  e.created_at = s.Real(6);
  return e;
}

class SqliteTelemetry final : public TelemetryStore {
 public:
  explicit SqliteTelemetry(SqliteDb& db) : db_(db) {}

 protected:
  Status DoAppendLog(const LogEntry& entry) override;
  Result<std::vector<LogEntry>> DoGetLog(int64_t document_id) override;
  Result<std::vector<StageCounter>> DoStageCounters() override;
  Result<StoreStats> DoStats() override;

 private:
  SqliteDb& db_;
};

Status SqliteTelemetry::DoAppendLog(const LogEntry& entry) {
  bool logged = false;
  Status s = db_.Write([&](Connection& c) -> Status {
    auto appended = AppendLogIn(c, entry);
    if (!appended.ok()) return appended.status();
    logged = *appended;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return logged ? Status::Ok() : Status::NotFound(NotFoundMessage(entry.document_id));
}

Result<std::vector<LogEntry>> SqliteTelemetry::DoGetLog(int64_t document_id) {
  std::vector<LogEntry> entries;
  Status s = db_.Read([&](Connection& c) -> Status {
    REFINERY_RETURN_IF_ERROR(CheckExists(c, document_id));
    auto stmt = c.Prepare(kGetLog);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(stmt->Bind(document_id), [&](const Statement& row) { entries.push_back(ReadLogEntry(row)); });
  });
  if (!s.ok()) return s;
  return entries;
}

Result<std::vector<StageCounter>> SqliteTelemetry::DoStageCounters() {
  backend_common::Folder folder;
  Status s = db_.Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kStageCounters);
    if (!stmt.ok()) return stmt.status();
    return ForEachRow(*stmt, [&](const Statement& row) {
      folder.Add(row.Text(0), row.Text(1), row.Real(2), row.Int(3), row.Real(4));
    });
  });
  if (!s.ok()) return s;
  return folder.Take();
}

Result<StoreStats> SqliteTelemetry::DoStats() {
  StoreStats stats;
  Status s = db_.Read([&](Connection& c) -> Status {
    auto stmt = c.Prepare(kStats);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(ForEachRow(*stmt, [&](const Statement& row) {
      backend_common::AddStageTotal(stats, row.Text(0), row.Int(1), row.Int(2), row.Int(3), row.Int(4));
    }));
    auto failed = c.Prepare(kFailedChunks);
    if (!failed.ok()) return failed.status();
    return ForEachRow(*failed, [&](const Statement& row) {
      backend_common::AddFailedChunks(stats, row.Text(0), row.Int(1));
    });
  });
  if (!s.ok()) return s;
  return stats;
}

}  // namespace

std::unique_ptr<TelemetryStore> NewTelemetry(SqliteDb& db) { return std::make_unique<SqliteTelemetry>(db); }

}  // namespace refinery::sqlite_store_internal

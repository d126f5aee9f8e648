// PostgresStore's TelemetryStore: the processing log, its sharded counters
// and the per-state totals the trigger keeps.
#include "store/postgres_store_internal.h"
#include "store/backend_common.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::Rows;
using pg::TxMode;

namespace {

// The shards summed; at most stages x statuses x buckets rows.
constexpr const char* kStageCounters =
    "SELECT stage, status, le, SUM(events), SUM(duration_sum_s) FROM refinery.stage_metrics"
    " GROUP BY stage, status, le";
constexpr const char* kGetLog =
    "SELECT l.id, d.id, l.stage, l.status, l.message, l.duration_ms, l.created_at"
    " FROM refinery.documents d LEFT JOIN refinery.processing_log l ON l.document_id = d.id"
    " WHERE d.id = $1 ORDER BY l.id";
// The failed chunks per stage, as the triggers keep them (v13): two rows.
constexpr const char* kFailedChunks = "SELECT stage, chunks FROM refinery.chunk_failure_totals";
// The per-shard totals the trigger keeps (schema v5, v6): at most 16 rows
// per state key, whatever the number of documents and chunks.
constexpr const char* kStats =
    "SELECT state_key, SUM(documents)::bigint, SUM(chunks)::bigint, SUM(embedded)::bigint, SUM(evaluated)::bigint"
    " FROM refinery.stage_totals GROUP BY state_key HAVING SUM(documents) > 0";

LogEntry ReadLogEntry(const Rows& r, int row) {
  LogEntry e;
  e.id = r.Int(row, 0);
  e.document_id = r.Int(row, 1);
  e.stage = r.Text(row, 2);
  e.status = r.Text(row, 3);
  e.message = r.Text(row, 4);
  e.duration_ms = r.Real(row, 5);
  e.created_at = r.Real(row, 6);
  return e;
}

class PgTelemetry final : public TelemetryStore {
 public:
  explicit PgTelemetry(pg::Pool& pool) : pool_(pool) {}

 protected:
  Status DoAppendLog(const LogEntry& entry) override;
  Result<std::vector<LogEntry>> DoGetLog(int64_t document_id) override;
  Result<std::vector<StageCounter>> DoStageCounters() override;
  Result<StoreStats> DoStats() override;

 private:
  pg::Pool& pool_;
};

Status PgTelemetry::DoAppendLog(const LogEntry& entry) {
  return pool_.Run("append log", TxMode::kNone, [&](Conn& c) -> Status {
    auto logged = AppendLogIn(c, entry);
    if (!logged.ok()) return logged.status();
    return *logged ? Status::Ok() : Status::NotFound(NotFoundMessage(entry.document_id));
  });
}

Result<std::vector<LogEntry>> PgTelemetry::DoGetLog(int64_t document_id) {
  std::vector<LogEntry> entries;
  Status s = pool_.Run("get log", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kGetLog, Params(document_id));
    if (!rows.ok()) return rows.status();
    if (rows->size() == 0) return Status::NotFound(NotFoundMessage(document_id));
    entries.clear();
    for (int i = 0; i < rows->size(); ++i) {
      if (!rows->IsNull(i, 0)) entries.push_back(ReadLogEntry(*rows, i));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return entries;
}

Result<std::vector<StageCounter>> PgTelemetry::DoStageCounters() {
  std::vector<StageCounter> counters;
  Status s = pool_.Run("stage counters", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kStageCounters);
    if (!rows.ok()) return rows.status();
    backend_common::Folder folder;
    for (int i = 0; i < rows->size(); ++i) {
      folder.Add(rows->Text(i, 0), rows->Text(i, 1), rows->Real(i, 2), rows->Int(i, 3), rows->Real(i, 4));
    }
    counters = folder.Take();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return counters;
}

Result<StoreStats> PgTelemetry::DoStats() {
  StoreStats stats;
  Status s = pool_.Run("stats", TxMode::kNone, [&](Conn& c) -> Status {
    auto rows = c.Exec(kStats);
    if (!rows.ok()) return rows.status();
    stats = StoreStats{};
    for (int i = 0; i < rows->size(); ++i) {
      backend_common::AddStageTotal(stats, rows->Text(i, 0), rows->Int(i, 1), rows->Int(i, 2), rows->Int(i, 3),
                                    rows->Int(i, 4));
    }
    auto failed = c.Exec(kFailedChunks);
    if (!failed.ok()) return failed.status();
    for (int i = 0; i < failed->size(); ++i) backend_common::AddFailedChunks(stats, failed->Text(i, 0), failed->Int(i, 1));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return stats;
}

}  // namespace

std::unique_ptr<TelemetryStore> NewTelemetry(pg::Pool& pool) { return std::make_unique<PgTelemetry>(pool); }

}  // namespace refinery::postgres_store_internal

// TelemetryStore: what the store counts -- each document's processing log,
// the stage counters beside it, and the per-state totals -- so every
// process on every machine reads the same figures in O(states) rows.
//
// Errors: Unavailable or Timeout while the database is down or busy.
// Thread-safety: as DocumentStore; concurrent appends from any number of
// processes are each counted exactly once.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery {

class TelemetryStore {
 public:
  virtual ~TelemetryStore() = default;

  // Appends `entry` and, in the same transaction, counts it in the stage
  // counters. The counting happens even when the document no longer exists
  // (its job still ran); only the log row is then skipped and NotFound
  // returned. InvalidArgument: empty stage or status.
  Status AppendLog(const LogEntry& entry);
  // The document's log, oldest first. NotFound if the document is absent.
  Result<std::vector<LogEntry>> GetLog(int64_t document_id);
  // The counters of every (stage, status) ever appended to the log, ordered
  // by stage then status; unaffected by deleting documents.
  Result<std::vector<StageCounter>> StageCounters();
  // Documents per state, dead letters per stage, chunk totals: kept by the
  // store in the transactions that change documents, so O(states).
  Result<StoreStats> Stats();

 protected:
  virtual Status DoAppendLog(const LogEntry& entry) = 0;
  virtual Result<std::vector<LogEntry>> DoGetLog(int64_t document_id) = 0;
  virtual Result<std::vector<StageCounter>> DoStageCounters() = 0;
  virtual Result<StoreStats> DoStats() = 0;
};

}  // namespace refinery

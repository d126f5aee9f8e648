// TelemetryStore's shared front: the argument checks every backend relies on.
#include "store/telemetry.h"

namespace refinery {

Status TelemetryStore::AppendLog(const LogEntry& entry) {
  if (entry.stage.empty() || entry.status.empty()) {
    return Status::InvalidArgument("a log entry needs a stage and a status");
  }
  return DoAppendLog(entry);
}

Result<std::vector<LogEntry>> TelemetryStore::GetLog(int64_t document_id) { return DoGetLog(document_id); }

Result<std::vector<StageCounter>> TelemetryStore::StageCounters() { return DoStageCounters(); }

Result<StoreStats> TelemetryStore::Stats() { return DoStats(); }

}  // namespace refinery

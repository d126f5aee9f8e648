#include "pipeline/reconciler.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace refinery {
namespace {

// In the document's log and (through the store's counters) in /metrics'
// refinery_reconciler_requeues_total.
void LogRequeue(Services& s, const StageDef& stage, int64_t document_id) {
  LogEntry entry;
  entry.document_id = document_id;
  entry.stage = stage.name;
  entry.status = kLogRequeued;
  entry.message = fmt::format("reconciler: unchanged for over {:g} s and no live job", s.config.stage_timeout_s);
  Status logged = s.store->telemetry().AppendLog(entry);
  if (!logged.ok() && logged.code() != StatusCode::kNotFound) {
    spdlog::warn("document {}: re-enqueue not logged: {}", document_id, logged.ToString());
  }
}

}  // namespace

Result<int> ReconcileStage(Services& services, const StageDef& stage, double now) {
  const double older_than = now - services.config.stage_timeout_s;
  auto stale = services.store->documents().Stale(stage.state, older_than, 1000);
  if (!stale.ok()) return stale.status();
  int requeued = 0;
  for (int64_t id : *stale) {
    auto live = services.queue->HasLiveJob(stage.name, id);
    if (!live.ok()) return live.status();
    if (*live) continue;
    REFINERY_RETURN_IF_ERROR(services.queue->Enqueue(stage.name, id));
    ++requeued;
    LogRequeue(services, stage, id);
  }
  if (requeued > 0) spdlog::info("reconciler: re-enqueued {} stalled {} document(s)", requeued, stage.name);
  return requeued;
}

}  // namespace refinery

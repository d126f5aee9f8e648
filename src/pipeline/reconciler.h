// The reconciler: repairs lost wake-ups. The store is the source of truth,
// so a document waiting in a stage's state with no live job (its job was
// lost with a Redis restart, a queue wiped by hand, a crash between commit
// and enqueue) is simply enqueued again. It never touches a document in
// "error": work given up on stays given up until an operator retries it.
#pragma once

#include "core/status.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"

namespace refinery {

// Re-enqueues every document of `stage` whose state has not changed since
// before `now` - config.stage_timeout_s and that has no live job, logging
// each (kLogRequeued). `now` is epoch seconds (tests pass their own).
// Returns how many.
Result<int> ReconcileStage(Services& services, const StageDef& stage, double now);

}  // namespace refinery

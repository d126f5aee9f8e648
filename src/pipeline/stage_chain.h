// The stage chain, as data: each stage of the pipeline, the state a document
// waits in for it and the state (and stage) that follows. The worker loop,
// the reconciler, /stats and `refinery up` only walk this list, so adding
// crawl, evaluate, extract and resolve means adding rows.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery {

struct Services;

// The state a document reaches after the last stage.
inline constexpr const char* kStateComplete = "complete";

// How a job of an opaque stage (see StageDef::process) ended.
struct JobVerdict {
  enum class Kind {
    kDone,            // acknowledged: nothing more to do
    kLater,           // released, back after delay_s (a retry, a politeness wait)
    kDependencyDown,  // released at once; the worker pauses as for an outage
  };
  Kind kind = Kind::kDone;
  double delay_s = 0;
};

// One stage. `run` performs the stage's writes and applies the transition
// it is given (state -> next_state, with its log entry) in the same store
// transaction; it must be idempotent and return Conflict when the document
// already moved on.
struct StageDef {
  std::string name;        // queue, CLI and log name: crawl chunk embed evaluate extract resolve
  std::string state;       // the state a document waits in for this stage
  std::string next_state;  // the state it enters when this stage succeeds
  std::string next_stage;  // the stage of next_state; empty after the last stage
  std::function<Status(Services&, const Document&, const StateTransition&)> run;
  // Set for a stage whose jobs are not documents (crawl: a job id is a
  // crawl page's id): runs the whole job and says how it ended; `state`,
  // `run` and the document attempts are then unused.
  std::function<JobVerdict(Services&, int64_t job_id)> process;
  // Set with `process`: re-enqueues the stage's lost jobs at `now` (epoch
  // seconds); returns how many.
  std::function<Result<int>(Services&, double now)> reconcile;
};

// The stages built so far, in order.
const std::vector<StageDef>& StageChain();
// nullptr when `name` is not a stage of the chain.
const StageDef* FindStage(const std::string& name);
// Every stage a worker process can run: crawl, then the chain. `refinery
// worker`, `up`, the doctor and /metrics walk this list.
const std::vector<StageDef>& WorkerStages();
// nullptr when `name` is not one of WorkerStages().
const StageDef* FindWorkerStage(const std::string& name);
// Every state a document can be in, in pipeline order (for stats): each
// stage's state, then complete and error.
std::vector<std::string> AllStates();
// "chunk, embed": the stage names, for messages.
std::string StageNames();

}  // namespace refinery

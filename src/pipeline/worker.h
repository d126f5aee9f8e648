// The worker loop of one stage: lease a job, start an attempt in the store,
// run the stage, commit, enqueue the next stage, acknowledge.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "queue/queue.h"

namespace refinery {

class LeaseKeeper;

// Runs one stage's consumer loop with config.worker_concurrency threads until
// `stop` becomes true; then finishes the jobs in hand and returns. Also runs
// the reconciler for its stage every config.reconcile_interval_s.
class Worker {
 public:
  Worker(Services& services, const StageDef& stage);
  ~Worker();
  // With a path, Run beats this file (see WorkerHeartbeat) for the supervisor.
  void set_heartbeat_path(std::string path) { heartbeat_path_ = std::move(path); }
  void Run(const std::atomic<bool>& stop);
  // Processes one leased job to completion: the unit the loop repeats.
  void ProcessJob(const Job& job);

 private:
  Services& services_;
  const StageDef& stage_;
  std::string heartbeat_path_;
  std::unique_ptr<LeaseKeeper> keeper_;  // renews the leases of the jobs in hand
};

}  // namespace refinery

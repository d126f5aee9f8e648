// Pipeline: the stage chain (as data), the services a stage needs, document
// ingestion, the worker loop and the reconciler.
#pragma once

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blob/blob.h"
#include "core/config.h"
#include "core/status.h"
#include "llm/embedder.h"
#include "queue/queue.h"
#include "store/store.h"

namespace refinery {

// Every backend a process uses, opened once from the configuration.
struct Services {
  Config config;
  std::unique_ptr<Store> store;
  std::unique_ptr<Queue> queue;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<Embedder> embedder;
};

// Opens every backend; with `migrate`, brings the store schema up to date.
Result<Services> OpenServices(const Config& config, bool migrate);

// One stage of the chain. `run` performs the stage's writes and applies the
// transition to the next state in the same store transaction; it must be
// idempotent and return Conflict when the document already moved on.
struct StageDef {
  std::string name;   // queue and CLI name: crawl chunk embed evaluate extract resolve
  std::string state;  // document state while waiting for or in this stage
  std::function<Status(Services&, const Document&, const StageTransition&)> run;
};

constexpr const char* kStateComplete = "complete";
constexpr const char* kStateError = "error";

// The stages built so far, in order. Later stages are inserted here and
// nowhere else: the worker loop and the reconciler only walk this list.
const std::vector<StageDef>& StageChain();
// Nullptr when `name` is not a stage of the chain.
const StageDef* FindStage(const std::string& name);
// The stage whose state is `state`; nullptr for complete/error/unknown.
const StageDef* StageForState(const std::string& state);
// The state a document enters after `stage` succeeds ("complete" after the last).
std::string NextState(const StageDef& stage);
// Every state a document can be in, in pipeline order (for stats).
std::vector<std::string> AllStates();

struct IngestRequest {
  std::string title;
  std::string content;  // UTF-8 text
  std::string source_url;
  std::string mime_type = "text/plain";
  std::string metadata_json = "{}";
};

struct IngestOutcome {
  int64_t id = 0;
  bool created = false;  // false: identical content was already stored
};

// Stores the text as a blob (key from its SHA-256), inserts the document in
// the first stage's state and enqueues that stage. Identical content returns
// the existing document. InvalidArgument for empty or non-UTF-8 content.
Result<IngestOutcome> IngestDocument(Services& services, const IngestRequest& request);

// Deletes a document, its chunks, log and blob. NotFound if absent.
Status DeleteDocumentEverywhere(Services& services, int64_t id);

// Sends a document in "error" back to the stage that failed and enqueues it.
// Conflict if the document is not in "error".
Status RetryDocument(Services& services, int64_t id);

// Runs one stage's consumer loop with config.worker_concurrency threads until
// `stop` becomes true; then finishes or releases the jobs in hand and returns.
// Also runs the reconciler for its stage every config.reconcile_interval_s.
class Worker {
 public:
  Worker(Services& services, const StageDef& stage);
  // With a path, Run beats this file (see WorkerHeartbeat) for the supervisor.
  void set_heartbeat_path(std::string path) { heartbeat_path_ = std::move(path); }
  void Run(const std::atomic<bool>& stop);
  // Processes one leased job to completion: the unit the loop repeats.
  void ProcessJob(const Job& job);

 private:
  Services& services_;
  const StageDef& stage_;
  std::string heartbeat_path_;
};

// Publishes a worker's liveness for the supervisor's health check: a thread
// rewrites `path` every beat_interval while every consumer thread has
// ticked within stall_limit_s. A SIGSTOPped process beats not at all, and a
// consumer stuck in one place (a deadlock, a hung call) stops the beats
// too, so the supervisor restarts what a pid check would think alive.
//
// The file's mtime is the last beat (all the supervisor reads). Its content,
// replaced atomically (write a sibling, rename), is one "key value" a line:
//   beat 1764167771.253   epoch seconds of the last beat
//   pid 4242              the worker process
//   in_flight 1           jobs it holds leased now
// in_flight is rewritten at once when it changes (keeping the mtime of the
// last beat, so job traffic cannot hide a stalled consumer). It is a lower
// bound: a job counts once leased and stops counting just before it is
// acked, released or failed. So the content a killed worker left says how
// many leases it died holding -- what a chaos test needs to prove its kill
// hit work in flight.
class WorkerHeartbeat {
 public:
  WorkerHeartbeat(std::string path, int threads, double stall_limit_s);
  ~WorkerHeartbeat();  // stops beating; leaves the file, which goes stale
  WorkerHeartbeat(const WorkerHeartbeat&) = delete;
  WorkerHeartbeat& operator=(const WorkerHeartbeat&) = delete;

  // Consumer `thread` (0-based) is looping; called once per iteration.
  void Tick(int thread);
  // A job was leased: counts it and rewrites the file now.
  void JobTaken();
  // A job is about to be settled (acked, released, failed): uncounts it and
  // rewrites the file now, before the queue hears of it.
  void JobSettling();

 private:
  bool AllProgressing() const;
  void Loop();
  void WriteLocked();  // the file from the fields below; mutex_ held

  const std::string path_;
  const double stall_limit_s_;
  std::vector<std::atomic<double>> ticks_;  // epoch seconds of each consumer's last tick
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;      // GUARDED_BY(mutex_)
  int in_flight_ = 0;      // GUARDED_BY(mutex_)
  timespec last_beat_{};   // GUARDED_BY(mutex_); zero until the first beat
  std::thread thread_;  // last: starts after the members it uses exist
};

// Re-enqueues every document of `stage` that has not changed stage for longer
// than config.stage_timeout_s and has no live job. Returns how many.
Result<int> ReconcileStage(Services& services, const StageDef& stage);

}  // namespace refinery

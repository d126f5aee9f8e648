// The worker loop: lease, run the stage, commit, enqueue the next stage, ack.
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "pipeline/worker.h"

#include "core/backoff.h"
#include "core/clock.h"
#include "pipeline/heartbeat.h"
#include "pipeline/lease_keeper.h"
#include "pipeline/reconciler.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;


// Sleeps up to `duration`, waking early when `stop` is set.
void SleepUnlessStopped(const std::atomic<bool>& stop, milliseconds duration) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::min(milliseconds(50), duration));
  }
}

// One leased job as the heartbeat counts it: counted on construction and
// uncounted by Settle() just before the queue hears the job's outcome (or on
// destruction, if no outcome was sent), so the count never exceeds the leases held.
class JobHold {
 public:
  explicit JobHold(WorkerHeartbeat* heartbeat) : heartbeat_(heartbeat) {
    if (heartbeat_ != nullptr) heartbeat_->JobTaken();
  }
  ~JobHold() { Settle(); }
  JobHold(const JobHold&) = delete;
  JobHold& operator=(const JobHold&) = delete;
  void Settle() {
    if (heartbeat_ != nullptr) heartbeat_->JobSettling();
    heartbeat_ = nullptr;
  }

 private:
  WorkerHeartbeat* heartbeat_;  // nullptr: no heartbeat, or already settled
};

}  // namespace

Worker::Worker(Services& services, const StageDef& stage)
    : services_(services),
      stage_(stage),
      keeper_(std::make_unique<LeaseKeeper>(*services.queue, services.config.visibility_timeout_s)) {}

Worker::~Worker() = default;

// Outcomes of one job, as the consumer loop needs them.
enum class JobOutcome { kDone, kDependencyDown };

// Acknowledges a job that needs no more work (done, given up on, or a
// stale wake-up); a lost lease changes nothing, the work stands.
static JobOutcome Settle(Services& s, const Job& job, JobHold& hold) {
  hold.Settle();
  Status acked = s.queue->Ack(job);
  if (!acked.ok()) spdlog::info("document {}: ack: {}", job.document_id, acked.ToString());
  return JobOutcome::kDone;
}

// Gives the job back to the queue; `delay_s` 0 means at once.
static JobOutcome GiveBack(Services& s, const Job& job, JobHold& hold, double delay_s, JobOutcome outcome) {
  hold.Settle();
  (void)s.queue->Release(job, delay_s);  // if even this fails, the lease expires and the job returns
  return outcome;
}

// The store recorded nothing for this attempt's failure, so the job must
// come back: uncounted for an outage, after a backoff otherwise.
static JobOutcome HandleFailure(Services& s, const StageDef& stage, const Job& job, int attempt, const Status& failure,
                                double started, JobHold& hold) {
  if (failure.transient()) {
    // A dependency outage is not the document's fault: take the attempt back
    // and let the loop pause, so an outage never uses up attempts.
    spdlog::warn("{} document {}: {}; releasing job and pausing", stage.name, job.document_id, failure.ToString());
    (void)s.store->documents().ReleaseAttempt(job.document_id,
                                              stage.state);  // if the store is down too, one attempt is spent
    return GiveBack(s, job, hold, 0, JobOutcome::kDependencyDown);
  }
  const bool terminal = attempt >= s.config.max_attempts;
  const std::string message = terminal ? GaveUpMessage(attempt, failure.ToString()) : failure.ToString();
  // Store first, queue second: a crash in between leaves a job whose next
  // delivery finds the document already recorded (or in "error": acked).
  Status recorded =
      s.store->documents().RecordFailure(job.document_id, {stage.name, stage.state, message, terminal, started});
  if (recorded.code() == StatusCode::kConflict || recorded.code() == StatusCode::kNotFound) return Settle(s, job, hold);
  if (!recorded.ok()) {
    spdlog::warn("document {}: failure not recorded: {}", job.document_id, recorded.ToString());
    return GiveBack(s, job, hold, 0, JobOutcome::kDependencyDown);
  }
  if (terminal) {
    spdlog::error("{} document {}: attempt {} failed, giving up: {}", stage.name, job.document_id, attempt,
                  failure.ToString());
    return Settle(s, job, hold);
  }
  const double retry_in_s = JitteredBackoff({s.config.retry_base_delay_s, s.config.retry_max_delay_s}, attempt);
  spdlog::warn("{} document {}: attempt {} failed, retrying in {:.1f} s: {}", stage.name, job.document_id, attempt,
               retry_in_s, failure.ToString());
  return GiveBack(s, job, hold, retry_in_s, JobOutcome::kDone);
}

static Status RunStageGuarded(Services& s, const StageDef& stage, const Document& doc, double started) {
  try {
    return stage.run(s, doc, {stage.state, stage.next_state, LogNote{stage.name, kLogCompleted, "", started}});
  } catch (const std::exception& e) {  // the job boundary: a throwing stage fails this job only
    return Status::Internal(std::string("stage threw: ") + e.what());
  }
}

// A job of an opaque stage (StageDef::process): the stage decides it all.
static JobOutcome ProcessOpaque(Services& s, const StageDef& stage, const Job& job, JobHold& hold) {
  JobVerdict verdict;
  try {
    verdict = stage.process(s, job.document_id);
  } catch (const std::exception& e) {  // the job boundary: a throwing stage fails this job only
    spdlog::error("{} job {}: stage threw: {}", stage.name, job.document_id, e.what());
    verdict = {JobVerdict::Kind::kLater, s.config.retry_max_delay_s};
  }
  switch (verdict.kind) {
    case JobVerdict::Kind::kDone:
      return Settle(s, job, hold);
    case JobVerdict::Kind::kLater:
      return GiveBack(s, job, hold, verdict.delay_s, JobOutcome::kDone);
    case JobVerdict::Kind::kDependencyDown:
      break;
  }
  return GiveBack(s, job, hold, 0, JobOutcome::kDependencyDown);
}

static JobOutcome Process(Services& s, const StageDef& stage, const Job& job, JobHold& hold, LeaseKeeper& keeper) {
  const double started = NowSeconds();
  const LeaseKeeper::Hold kept = keeper.Keep(job);
  if (stage.process) return ProcessOpaque(s, stage, job, hold);
  // The store counts the attempt before any work, so a worker that dies
  // mid-attempt still used one up; at max_attempts it gives up instead.
  auto attempt = s.store->documents().StartAttempt(job.document_id, stage.name, stage.state, s.config.max_attempts);
  if (!attempt.ok()) {
    const StatusCode code = attempt.status().code();
    // Deleted meanwhile, or a duplicate wake-up: the document moved on.
    if (code == StatusCode::kNotFound || code == StatusCode::kConflict) return Settle(s, job, hold);
    spdlog::warn("{} document {}: attempt not started: {}", stage.name, job.document_id, attempt.status().ToString());
    return GiveBack(s, job, hold, 0, JobOutcome::kDependencyDown);
  }
  if (attempt->gave_up) {
    spdlog::error("{} document {}: {}", stage.name, job.document_id, attempt->document.error_message);
    return Settle(s, job, hold);
  }
  Status result = RunStageGuarded(s, stage, attempt->document, started);
  if (result.code() == StatusCode::kConflict) return Settle(s, job, hold);
  if (!result.ok()) return HandleFailure(s, stage, job, attempt->document.attempts, result, started, hold);
  if (stage.next_stage.empty()) return Settle(s, job, hold);
  // The hand-over: the next stage's job and this one's ack in one write.
  hold.Settle();
  Status handed = s.queue->AckAndEnqueue(job, stage.next_stage);
  if (handed.code() == StatusCode::kLeaseLost) {
    spdlog::info("document {}: ack: {}", job.document_id, handed.ToString());
  } else if (!handed.ok()) {
    spdlog::warn("document {}: next stage not enqueued (the reconciler will): {}", job.document_id,
                 handed.ToString());
    (void)s.queue->Ack(job);  // the store moved on: the job is done either way
  }
  return JobOutcome::kDone;
}

void Worker::ProcessJob(const Job& job) {
  JobHold hold(nullptr);
  (void)Process(services_, stage_, job, hold, *keeper_);
}

void Worker::Run(const std::atomic<bool>& stop) {
  int threads = services_.config.worker_concurrency;
  if (stage_.name == "embed" && services_.embed_endpoint) {
    // Batching across documents needs documents in hand: while every call
    // slot is busy, the consumers waiting on the coalescing embedder form
    // the next call's batch (about twelve per slot, two texts each on
    // SciFact). They mostly wait on the server, so they cost little.
    threads = std::max(threads, std::min(64, 12 * services_.config.llm_embed.concurrency));
  }
  // A consumer inside one job for longer than twice the stage timeout (the
  // reconciler has long given its document to someone else) counts as hung;
  // the floor covers the 10 s outage pause and the lease wait.
  std::optional<WorkerHeartbeat> heartbeat;
  if (!heartbeat_path_.empty()) {
    heartbeat.emplace(heartbeat_path_, threads, std::max(30.0, 2 * services_.config.stage_timeout_s));
  }
  auto consume = [&](int index) {
    int outages = 0;  // dependency failures in a row
    while (!stop.load()) {
      if (heartbeat) heartbeat->Tick(index);
      auto leased = services_.queue->Lease(stage_.name, services_.config.visibility_timeout_s, milliseconds(500));
      JobOutcome outcome = JobOutcome::kDone;
      if (!leased.ok()) {
        spdlog::warn("{}: queue unavailable: {}", stage_.name, leased.status().ToString());
        outcome = JobOutcome::kDependencyDown;
      } else if (leased->has_value()) {
        JobHold hold(heartbeat ? &*heartbeat : nullptr);
        outcome = Process(services_, stage_, **leased, hold, *keeper_);
      }
      // Back off while a dependency is down (0.25 s doubling to 10 s, with
      // jitter so the consumers of many workers do not retry in step);
      // resume at full speed after.
      outages = outcome == JobOutcome::kDependencyDown ? outages + 1 : 0;
      if (outages > 0) {
        const double pause_s = JitteredBackoff({.base_s = 0.25, .max_s = 10}, outages);
        SleepUnlessStopped(stop, milliseconds(static_cast<int64_t>(pause_s * 1000)));
      }
    }
  };
  auto reconcile = [&] {
    auto interval = milliseconds(static_cast<int64_t>(services_.config.reconcile_interval_s * 1000));
    while (!stop.load()) {
      SleepUnlessStopped(stop, interval);
      if (stop.load()) break;
      auto requeued = stage_.reconcile ? stage_.reconcile(services_, NowSeconds())
                                       : ReconcileStage(services_, stage_, NowSeconds());
      if (!requeued.ok()) spdlog::warn("{}: reconciler: {}", stage_.name, requeued.status().ToString());
    }
  };
  std::vector<std::jthread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(consume, i);
  workers.emplace_back(reconcile);
  spdlog::info("worker {} running with {} consumer threads", stage_.name, threads);
}  // jthreads join here, after `stop` ends every loop

}  // namespace refinery

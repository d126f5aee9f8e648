// Queue: at-least-once delivery of "document D needs stage S" wake-ups.
// A job is leased, never popped: a consumer that dies loses its lease and the
// job is delivered again once the visibility timeout passes. Acknowledge only
// after the stage's store writes committed.
//
// Thread-safety: every method may be called from many threads and processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace refinery {

struct Job {
  int64_t id = 0;
  std::string stage;
  int64_t document_id = 0;
  int attempt = 1;          // 1 on first delivery; counts every lease (delivery count)
  std::string lease_token;  // proves ownership to Heartbeat/Ack/Fail/Release
};

struct QueueDepth {
  int64_t ready = 0;      // deliverable now
  int64_t in_flight = 0;  // leased, lease not yet expired
  int64_t delayed = 0;    // waiting for a retry backoff
  int64_t dead = 0;       // dead-lettered after max attempts
};

struct RetryPolicy {
  int max_attempts = 5;
  double base_delay_s = 1.0;  // delay before retry n is base * 2^(n-1), jittered
  double max_delay_s = 60.0;
};

// What Fail() did with the job.
struct FailOutcome {
  bool dead = false;      // dead-lettered: no more retries
  double retry_in_s = 0;  // when !dead: the backoff chosen
};

class Queue {
 public:
  virtual ~Queue() = default;

  // Makes (stage, document) deliverable after `delay_s`. Idempotent while a
  // job for the pair is ready or delayed (the earlier time wins); revives a
  // dead job with attempts reset; leaves an in-flight job alone (the holder
  // will finish or its lease will expire).
  virtual Status Enqueue(const std::string& stage, int64_t document_id, double delay_s = 0) = 0;

  // Leases the oldest deliverable job of `stage` for `visibility_s`, waiting
  // up to `wait` for one. Returns nullopt when none came. A job already
  // delivered max_attempts times is dead-lettered here instead of delivered.
  virtual Result<std::optional<Job>> Lease(const std::string& stage, double visibility_s,
                                           std::chrono::milliseconds wait) = 0;

  // Extends the lease to now + visibility_s. LeaseLost if it already expired
  // and the job was re-leased, acked or removed.
  virtual Status Heartbeat(const Job& job, double visibility_s) = 0;

  // Removes the job. LeaseLost if our lease is gone (the work stands anyway:
  // stages are idempotent).
  virtual Status Ack(const Job& job) = 0;

  // Gives the job back for immediate redelivery without counting the attempt
  // (used on shutdown).
  virtual Status Release(const Job& job) = 0;

  // Schedules a retry with exponential backoff and jitter, or dead-letters
  // the job once job.attempt >= policy.max_attempts. Stores `error`.
  virtual Result<FailOutcome> Fail(const Job& job, const std::string& error,
                                   const RetryPolicy& policy) = 0;

  // True when a ready, delayed or in-flight (unexpired) job exists for the pair.
  virtual Result<bool> HasLiveJob(const std::string& stage, int64_t document_id) = 0;

  virtual Result<QueueDepth> Depth(const std::string& stage) = 0;
  // Depth() of each stage, in order; one round trip where the backend can
  // (GET /stats asks for every stage on each call). The default asks Depth().
  virtual Result<std::vector<QueueDepth>> Depths(const std::vector<std::string>& stages);

  // Removes every job of every stage (ready, in flight, delayed, dead).
  virtual Status Purge() = 0;

  virtual Status Ping() = 0;
};

// Chooses the implementation from config: the SQLite job table in data_dir
// unless redis_url is set. Creates its schema if needed.
Result<std::unique_ptr<Queue>> OpenQueue(const Config& config);

// Backoff for retry number `attempt` (1-based): base * 2^(attempt-1), capped,
// with +-25% jitter. Exposed for tests.
double BackoffDelay(const RetryPolicy& policy, int attempt, double jitter_unit);

}  // namespace refinery

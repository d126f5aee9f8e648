// Queue: at-least-once delivery of "document D needs stage S" wake-ups.
// A job is leased, never popped: a consumer that dies loses its lease and the
// job is delivered again once the visibility timeout passes. Acknowledge only
// after the stage's store writes committed.
//
// The queue keeps only what a queue must: leases, visibility and delays. It
// counts no attempts and gives up on nothing: the store owns attempts, the
// last error and the decision to stop (Store::StartAttempt), so a job is
// redelivered until the worker acknowledges it.
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
  std::string lease_token;  // proves ownership to Heartbeat/Ack/Release
};

struct QueueDepth {
  int64_t ready = 0;      // deliverable now
  int64_t in_flight = 0;  // leased, lease not yet expired
  int64_t delayed = 0;    // waiting for a retry backoff
};

class Queue {
 public:
  virtual ~Queue() = default;

  // Makes (stage, document) deliverable after `delay_s`. Idempotent while a
  // job for the pair is ready or delayed (the earlier time wins); leaves an
  // in-flight job alone (the holder will finish or its lease will expire).
  virtual Status Enqueue(const std::string& stage, int64_t document_id, double delay_s = 0) = 0;

  // Leases the oldest deliverable job of `stage` for `visibility_s`, waiting
  // up to `wait` for one. Returns nullopt when none came.
  virtual Result<std::optional<Job>> Lease(const std::string& stage, double visibility_s,
                                           std::chrono::milliseconds wait) = 0;

  // Extends the lease to now + visibility_s. LeaseLost if it already expired
  // and the job was re-leased, acked or removed.
  virtual Status Heartbeat(const Job& job, double visibility_s) = 0;

  // Removes the job. LeaseLost if our lease is gone (the work stands anyway:
  // stages are idempotent).
  virtual Status Ack(const Job& job) = 0;

  // Enqueue(next_stage, job.document_id) and then Ack(job), in one
  // transaction where the backend can (a job's hand-over to the next
  // stage: one write instead of two). The next stage's job stands even
  // when the ack finds the lease gone (LeaseLost, as Ack). The default
  // makes the two calls.
  virtual Status AckAndEnqueue(const Job& job, const std::string& next_stage);

  // Gives the job back, deliverable again after `delay_s` (a retry's
  // backoff; 0 for at once, as on shutdown or an outage). LeaseLost if our
  // lease is gone.
  virtual Status Release(const Job& job, double delay_s = 0) = 0;

  // True when a ready, delayed or in-flight (unexpired) job exists for the pair.
  virtual Result<bool> HasLiveJob(const std::string& stage, int64_t document_id) = 0;

  virtual Result<QueueDepth> Depth(const std::string& stage) = 0;
  // Depth() of each stage, in order; one round trip where the backend can
  // (GET /stats asks for every stage on each call). The default asks Depth().
  virtual Result<std::vector<QueueDepth>> Depths(const std::vector<std::string>& stages);

  // Removes every job of every stage (ready, in flight, delayed).
  virtual Status Purge() = 0;

  virtual Status Ping() = 0;
  // Proves the queue can still write (a full disk, a read-only replica or
  // an out-of-memory Redis fail it), for health checks. Writes nothing a
  // consumer can see.
  virtual Status CheckWritable() = 0;
};

// Chooses the implementation from config: the SQLite job table in data_dir
// unless redis_url is set. With `create`, creates (or upgrades) its schema
// as needed; without, a SQLite queue file that is missing or from an older
// version is an InvalidArgument naming `refinery migrate`, and nothing is
// written.
Result<std::unique_ptr<Queue>> OpenQueue(const Config& config, bool create = true);

}  // namespace refinery

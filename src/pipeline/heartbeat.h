// WorkerHeartbeat: the liveness file a worker publishes for the supervisor.
#pragma once

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace refinery {

// Publishes a worker's liveness for the supervisor's health check: a thread
// rewrites `path` every beat_interval while every consumer thread has
// ticked within stall_limit_s. A SIGSTOPped process beats not at all, and a
// consumer stuck in one place (a deadlock, a hung call) stops the beats
// too, so the supervisor restarts what a pid check would think alive.
//
// The file's mtime is the last beat (all the supervisor reads). Its content,
// a fixed-width record rewritten in place, is one "key value" a line:
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
  void RewriteLocked(std::string_view text);

  const std::string path_;
  const double stall_limit_s_;
  std::vector<std::atomic<double>> ticks_;  // epoch seconds of each consumer's last tick
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;     // GUARDED_BY(mutex_)
  int in_flight_ = 0;     // GUARDED_BY(mutex_)
  timespec last_beat_{};  // GUARDED_BY(mutex_); zero until the first beat
  int fd_ = -1;           // GUARDED_BY(mutex_); the file, kept open (closed by the destructor)
  std::thread thread_;    // last: starts after the members it uses exist
};

}  // namespace refinery

// Chaos for end-to-end tests: reads the heartbeat files workers publish and
// kill -9s, on a period, a random worker of one `refinery up` while it holds
// leased jobs, recording whether each kill provably hit work in flight.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace refinery::testing {

// The content of a worker heartbeat file (see WorkerHeartbeat in pipeline.h).
struct HeartbeatFile {
  double beat = 0;
  pid_t pid = 0;
  int in_flight = 0;
};

// nullopt when the file is missing or not in the heartbeat format.
std::optional<HeartbeatFile> ReadHeartbeatFile(const std::string& path);

struct WorkerKill {
  std::string service;  // the heartbeat file's name without ".heartbeat"
  pid_t pid = 0;
  int in_flight_before = 0;  // what the file said right before the kill
  // The file the dead process left still names it and counts a lease; the
  // count is a lower bound, so it died holding work. False when its
  // replacement rewrote the file first (unproven, not necessarily missed).
  bool hit_work = false;
};

class WorkerKiller {
 public:
  // Every `period`, looks (for 50 ms) for children of `supervisor` whose
  // heartbeat file in `run_dir` counts a lease, and kills one of them at
  // random (seeded by `seed`); a round with none holding work kills
  // nothing. Only workers up for `min_age` are candidates: a replacement
  // killed at once, before finishing a single job, would starve the
  // pipeline instead of testing it. `may_kill`, asked right before each
  // kill, can veto it (e.g. once a document has used up nearly all its
  // attempts: each kill costs the jobs it hits one).
  WorkerKiller(
      pid_t supervisor, std::string run_dir, std::chrono::milliseconds period, std::chrono::milliseconds min_age,
      uint32_t seed, std::function<bool()> may_kill = [] { return true; });
  ~WorkerKiller();  // stops
  WorkerKiller(const WorkerKiller&) = delete;
  WorkerKiller& operator=(const WorkerKiller&) = delete;

  void Stop();  // returns once the killing thread ended
  std::vector<WorkerKill> kills() const;
  int hits() const;  // kills with hit_work

 private:
  void Loop(const std::stop_token& stop);
  // Workers holding work now, as (heartbeat path, content).
  std::vector<std::pair<std::string, HeartbeatFile>> Busy() const;
  void KillOne(const std::string& path, const HeartbeatFile& seen);

  const pid_t supervisor_;
  const std::string run_dir_;
  const std::chrono::milliseconds period_;
  const std::chrono::milliseconds min_age_;
  const uint32_t seed_;
  const std::function<bool()> may_kill_;
  mutable std::mutex mutex_;
  std::vector<WorkerKill> kills_;  // GUARDED_BY(mutex_)
  std::jthread thread_;            // last: starts after the members it uses exist
};

}  // namespace refinery::testing

// Supervisor::Service, shared by the supervisor's .cpp files only.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "supervisor/supervisor.h"

namespace refinery {

using SupervisorClock = std::chrono::steady_clock;

inline double SecondsSince(SupervisorClock::time_point start) {
  return std::chrono::duration<double>(SupervisorClock::now() - start).count();
}

inline SupervisorClock::duration SecondsDuration(double seconds) {
  return std::chrono::duration_cast<SupervisorClock::duration>(std::chrono::duration<double>(seconds));
}

// One health probe on its own thread, so a slow HTTP check never stalls the
// reap loop. Destruction joins, which is immediate once `result` is set.
struct ProbeRun {
  ProbeRun(const HealthCheckSpec& check, pid_t probed) : pid(probed), thread([this, check] { Run(check); }) {}
  void Run(const HealthCheckSpec& check) { result = ProbeHealth(check, pid) ? 1 : 0; }

  const pid_t pid;              // the child probed; a result for an older child is dropped
  std::atomic<int> result{-1};  // -1 while running, then 1 healthy / 0 not
  std::jthread thread;          // last: starts after the members it uses exist
};

struct Supervisor::Service {
  explicit Service(ServiceSpec s)
      : spec(std::move(s)),
        backoff(spec.backoff_initial_s, spec.backoff_max_s, spec.stable_after_s),
        crash(spec.start_period_s, spec.crash_loop_after),
        tracker(spec.health.retries) {}

  ServiceSpec spec;
  RestartBackoff backoff;
  CrashLoop crash;
  HealthTracker tracker;
  std::optional<Subprocess> child;                        // engaged while a child may be running
  SupervisorClock::time_point started;                    // when `child` was spawned
  std::optional<SupervisorClock::time_point> restart_at;  // engaged while in backoff
  std::optional<SupervisorClock::time_point> kill_at;     // SIGTERMed by hand: SIGKILL at this time
  bool held = false;                                      // stopped by hand: no restart until started by hand
  bool restart_now = false;                               // restarted by hand: start again at once when reaped
  std::vector<std::promise<Status>> waiters;              // `stop` replies owed once the child is reaped
  std::unique_ptr<ProbeRun> probe;                        // a health probe in flight
  SupervisorClock::time_point next_probe;
  bool waiting = false;                   // first start deferred until depends_on are ready
  bool ready = false;                     // spec.ready passed for the current child
  bool was_healthy = false;               // the current child passed a health check
  std::unique_ptr<ProbeRun> ready_probe;  // a readiness probe in flight
  SupervisorClock::time_point next_ready_probe;
};

template <typename F>
void Supervisor::UpdateStatus(size_t i, F&& update) {
  std::lock_guard<std::mutex> lock(mu_);
  update(statuses_[i]);
}

}  // namespace refinery

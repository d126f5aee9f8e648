// Private to the API: dependency health checks that can never make /health
// slow. Each component's check (Store::Ping, Queue::Ping, BlobStore::Ping)
// runs in a loop on its own thread, so a hung dependency blocks only its own
// checker; request handlers read the cached results and count a check that
// has been running too long as down ("timeout"). What the results mean is
// pure logic of its own (api/health_state.h), tested without a clock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace refinery::api {

struct ComponentHealth {
  std::string name;
  bool up = false;
  double latency_ms = 0;
  std::string error;  // empty when up
};

struct HealthTiming {
  // Checks start this far apart (a slow check delays the next one), so a
  // result is at most about this old.
  std::chrono::milliseconds interval{500};
  // A component with no result yet this long after start counts as down,
  // so the first /health after start-up answers within a second even when
  // a dependency hangs.
  std::chrono::milliseconds first_result_wait{800};
  // A check still running after this long counts as down. Longer than the
  // first wait: on a saturated machine a healthy dependency's round trip
  // can take over a second (seen: 1.4 s with wrk at 64 connections on 2
  // cores), and that is load, not an outage.
  std::chrono::milliseconds timeout{2000};
  // A component that has been up turns down only after this many checks in
  // a row failed (a check running past `timeout` counts as one more), like
  // Docker's and Kubernetes' default of 3. Why: 64 clients hammering
  // /health on 2 cores made round trips to Redis and s3rver take 1.5-2 s --
  // from any process, not only ours -- one, and now and then two checks in
  // a row, failed, and /health flipped to 503 with every dependency
  // serving. An outage (refused connections) still shows within about a
  // second; a hung dependency within 3 x timeout. Before its first success
  // a component is down at its first failure.
  int failures_before_down = 3;
  // How long shutdown waits for a checker stuck in a hung check.
  std::chrono::milliseconds shutdown_grace{1500};
};

class HealthMonitor {
 public:
  using Check = std::function<Status()>;

  explicit HealthMonitor(HealthTiming timing = {});
  // Stops every checker. A checker that does not finish within
  // timing.shutdown_grace (its check is hung in a dependency) is detached
  // rather than joined: it owns its state through a shared_ptr and touches
  // nothing else once its check returns, so it ends harmlessly later. What
  // the check itself borrows (e.g. the Store) must stay valid until then;
  // in practice that is the process's lifetime.
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Starts checking `name` right away. Call before serving.
  void Add(const std::string& name, Check check);

  // The latest result per component, in Add order. Waits (at most until
  // timing.first_result_wait after the component was added) for a
  // component that has no result yet, so the first request after start-up
  // gets a real answer instead of a guess.
  // Answers within a 50 ms window share one computed snapshot, so probes
  // under heavy load never starve a checker thread of its own mutex.
  std::vector<ComponentHealth> Snapshot() const;

  // Waits until every component has its first result or is past
  // timing.first_result_wait; from then on Snapshot never waits for a
  // check, only for its own short locks. The server calls it before it
  // answers anything, so the health routes can run on the event loop.
  void WaitForFirstResults() const;

 private:
  struct Component;
  static void Loop(std::shared_ptr<Component> component);
  std::vector<ComponentHealth> Compute() const;

  mutable std::mutex memo_mutex_;
  mutable std::vector<ComponentHealth> memo_;                // GUARDED_BY(memo_mutex_)
  mutable std::chrono::steady_clock::time_point memo_at_{};  // GUARDED_BY(memo_mutex_)
  HealthTiming timing_;
  std::vector<std::shared_ptr<Component>> components_;
  std::vector<std::thread> threads_;  // one per component, same order
};

}  // namespace refinery::api

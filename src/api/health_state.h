// Private to the API: the health monitor's decisions as pure logic. What one
// component reports follows from its check results and the time alone, so
// HealthMonitor (health.h) owns the threads and locks and passes the time
// in, and unit tests pass whatever time they like instead of sleeping.
#pragma once

#include <chrono>
#include <string>

#include "api/health.h"
#include "core/failure_streak.h"
#include "core/status.h"

namespace refinery::api {

using HealthClock = std::chrono::steady_clock;

// One component's checks so far. Not thread-safe: the monitor guards it.
class ComponentState {
 public:
  ComponentState(std::string name, const HealthTiming& timing, HealthClock::time_point created);

  // What a finished check changed, for the log.
  enum class Change {
    kNone,       // a success, or another failure of a component already down
    kTolerated,  // a failure, not yet enough in a row to turn it down
    kDown,       // this failure turned it down
  };

  // A check began at `now`. REQUIRES: none is running.
  void CheckStarted(HealthClock::time_point now);
  // The running check returned `status` at `now`. REQUIRES: one is running.
  Change CheckFinished(const Status& status, HealthClock::time_point now);

  // What /health says at `now`: the latest result, except that
  // - a failure not yet `failures_before_down` in a row (once up) reports
  //   the latest success: a few failures are load, not an outage;
  // - no result at all, or a check running past `timeout` once for every
  //   failure still needed to turn it down, is down ("timeout").
  // Meant for now >= first_result_due() or has_result(): the monitor waits
  // that long for a first answer.
  ComponentHealth Report(HealthClock::time_point now) const;

  bool has_result() const { return has_result_; }
  // Until when a snapshot waits for the first result.
  HealthClock::time_point first_result_due() const { return created_ + timing_.first_result_wait; }
  // When the next check is due (a slow check delays it).
  HealthClock::time_point next_check_due() const { return started_ + timing_.interval; }
  // Failed checks in a row.
  int failures() const { return streak_.failures(); }

 private:
  const std::string name_;
  const HealthTiming timing_;
  const HealthClock::time_point created_;
  bool has_result_ = false;
  ComponentHealth last_;               // the latest result
  ComponentHealth last_up_;            // the latest successful result
  FailureStreak streak_;               // down at the first failure until first up
  bool running_ = false;               // a check is in progress
  HealthClock::time_point started_{};  // start of the latest check
};

}  // namespace refinery::api

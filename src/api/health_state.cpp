#include "api/health_state.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace refinery::api {
namespace {

double Millis(HealthClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

ComponentState::ComponentState(std::string name, const HealthTiming& timing, HealthClock::time_point created)
    : name_(std::move(name)),
      timing_(timing),
      created_(created),
      streak_(timing.failures_before_down, FailureStreak::BeforeFirstSuccess::kTripsAtOnce) {}

void ComponentState::CheckStarted(HealthClock::time_point now) {
  running_ = true;
  started_ = now;
}

ComponentState::Change ComponentState::CheckFinished(const Status& status, HealthClock::time_point now) {
  running_ = false;
  has_result_ = true;
  last_ = {name_, status.ok(), Millis(now - started_), status.ok() ? "" : status.ToString()};
  if (status.ok()) last_up_ = last_;
  if (streak_.Record(status.ok())) return Change::kDown;
  return status.ok() || streak_.tripped() ? Change::kNone : Change::kTolerated;
}

ComponentHealth ComponentState::Report(HealthClock::time_point now) const {
  // A check running past the timeout counts as one more failure per
  // timeout, so a hung dependency is down after as many timeouts as it
  // would need failures; before its first result it is down at once.
  const double running_ms = Millis(now - (has_result_ ? started_ : created_));
  const int timeouts_left = std::max(1, streak_.left());
  const bool hung = running_ && running_ms >= static_cast<double>(timing_.timeout.count() * timeouts_left);
  if (!has_result_ || hung) {
    return {name_, false, running_ms,
            "timeout: no answer after " + std::to_string(static_cast<int64_t>(running_ms)) + " ms"};
  }
  if (!last_.up && !streak_.tripped()) return last_up_;
  return last_;
}

}  // namespace refinery::api

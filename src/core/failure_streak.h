// The one failure-streak rule, shared by the API's health monitor and the
// supervisor's health tracker: a success resets the streak; `threshold`
// failures in a row trip it; until the first success ever, the first
// failure may trip it at once (a dependency that never answered is down,
// while one that has answered gets the benefit of the doubt under load).
// Pure logic: no clock, no thread; callers add their own policy on top
// (which results count, what a running check adds).
#pragma once

namespace refinery {

class FailureStreak {
 public:
  // What a failure before the first success ever does.
  enum class BeforeFirstSuccess {
    kCountsAsUsual,  // needs `threshold` in a row, like any other
    kTripsAtOnce,    // trips the streak by itself
  };

  // A `threshold` below 1 counts as 1.
  FailureStreak(int threshold, BeforeFirstSuccess before_first_success);

  // Records one result; true exactly when this failure tripped the streak
  // (once per streak: later failures of the same streak return false).
  bool Record(bool ok);
  // Forgets everything, the first success included (a new child process).
  void Reset();

  // Failures in a row now; 0 after a success.
  int failures() const { return failures_; }
  // Failures in a row that trip the streak now: 1 before the first success
  // with kTripsAtOnce, `threshold` otherwise.
  int needed() const;
  // Failures still needed to trip (0 once tripped).
  int left() const { return tripped() ? 0 : needed() - failures_; }
  bool tripped() const { return failures_ >= needed(); }
  bool ever_succeeded() const { return ever_succeeded_; }

 private:
  int threshold_;
  BeforeFirstSuccess before_first_success_;
  int failures_ = 0;
  bool ever_succeeded_ = false;
};

}  // namespace refinery

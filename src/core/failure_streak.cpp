#include "core/failure_streak.h"

#include <algorithm>

namespace refinery {

FailureStreak::FailureStreak(int threshold, BeforeFirstSuccess before_first_success)
    : threshold_(std::max(1, threshold)), before_first_success_(before_first_success) {}

bool FailureStreak::Record(bool ok) {
  if (ok) {
    failures_ = 0;
    ever_succeeded_ = true;
    return false;
  }
  const bool was_tripped = tripped();
  // Saturates: nothing needs counting past the threshold.
  failures_ = std::min(failures_ + 1, threshold_);
  return !was_tripped && tripped();
}

void FailureStreak::Reset() {
  failures_ = 0;
  ever_succeeded_ = false;
}

int FailureStreak::needed() const {
  const bool at_once = !ever_succeeded_ && before_first_success_ == BeforeFirstSuccess::kTripsAtOnce;
  return at_once ? 1 : threshold_;
}

}  // namespace refinery

#include "core/backoff.h"

#include <algorithm>
#include <cmath>

#include "core/random.h"

namespace refinery {

double BackoffDelay(const Backoff& backoff, int attempt, double jitter_unit) {
  // ldexp overflows to +inf for huge attempts, which the cap then absorbs.
  const double exponential = std::ldexp(backoff.base_s, std::max(attempt, 1) - 1);
  const double capped = std::min(backoff.max_s, exponential);
  return capped * (0.75 + 0.5 * std::clamp(jitter_unit, 0.0, 1.0));
}

double PlainBackoff(const Backoff& backoff, int attempt) { return BackoffDelay(backoff, attempt, 0.5); }

double JitteredBackoff(const Backoff& backoff, int attempt) { return BackoffDelay(backoff, attempt, UniformUnit()); }

}  // namespace refinery

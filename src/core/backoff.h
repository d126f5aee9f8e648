// The one backoff rule: exponential with jitter, for job retries, database
// retries, Redis reconnects, S3 retries and supervisor restarts alike.
#pragma once

namespace refinery {

struct Backoff {
  double base_s = 1.0;  // the first delay
  double max_s = 60.0;  // the doubling stops here (before jitter)
};

// The delay before retry number `attempt` (1-based): base * 2^(attempt-1),
// capped at max, then jittered by +-25% (`jitter_unit` in [0, 1] picks where
// in that band; 0.5 is the middle). Pure, for tests.
double BackoffDelay(const Backoff& backoff, int attempt, double jitter_unit);

// BackoffDelay at the middle of the band (no jitter), for delays one
// process decides alone with no herd to spread out: a supervisor's restarts.
double PlainBackoff(const Backoff& backoff, int attempt);

// BackoffDelay with jitter from ProcessRng(): concurrent retriers spread out
// instead of hammering a recovering dependency in step.
double JitteredBackoff(const Backoff& backoff, int attempt);

}  // namespace refinery

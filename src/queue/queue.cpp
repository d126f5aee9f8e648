#include "queue/queue.h"

#include <unistd.h>

#include "queue/process_rng.h"

#include <algorithm>
#include <cmath>

#include "queue/redis_queue.h"
#include "queue/sqlite_queue.h"

namespace refinery {

std::mt19937_64& ProcessRng() {
  thread_local std::mt19937_64 rng;
  thread_local pid_t seeded_for = -1;
  if (seeded_for != getpid()) {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), static_cast<unsigned>(getpid())};
    rng.seed(seed);
    seeded_for = getpid();
  }
  return rng;
}

Result<std::unique_ptr<Queue>> OpenQueue(const Config& config) {
  if (!config.redis_url.empty()) {
    Result<std::unique_ptr<RedisQueue>> redis = RedisQueue::Open(config);
    if (!redis.ok()) return redis.status();
    return std::unique_ptr<Queue>(std::move(redis).value());
  }
  Result<std::unique_ptr<SqliteQueue>> queue = SqliteQueue::Open(config);
  if (!queue.ok()) return queue.status();
  return std::unique_ptr<Queue>(std::move(queue).value());
}

Result<std::vector<QueueDepth>> Queue::Depths(const std::vector<std::string>& stages) {
  std::vector<QueueDepth> depths;
  depths.reserve(stages.size());
  for (const std::string& stage : stages) {
    auto depth = Depth(stage);
    if (!depth.ok()) return depth.status();
    depths.push_back(*depth);
  }
  return depths;
}

double BackoffDelay(const RetryPolicy& policy, int attempt, double jitter_unit) {
  // ldexp overflows to +inf for huge attempts, which the cap then absorbs.
  double exponential = std::ldexp(policy.base_delay_s, std::max(attempt, 1) - 1);
  double capped = std::min(policy.max_delay_s, exponential);
  return capped * (0.75 + 0.5 * std::clamp(jitter_unit, 0.0, 1.0));
}

}  // namespace refinery

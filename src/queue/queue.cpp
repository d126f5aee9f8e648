#include "queue/queue.h"

#include "queue/redis_queue.h"
#include "queue/sqlite_queue.h"

namespace refinery {

Result<std::unique_ptr<Queue>> OpenQueue(const Config& config, bool create) {
  if (!config.redis_url.empty()) {
    Result<std::unique_ptr<RedisQueue>> redis = RedisQueue::Open(config);
    if (!redis.ok()) return redis.status();
    return std::unique_ptr<Queue>(std::move(redis).value());
  }
  SqliteQueueOptions options;
  options.create = create;
  Result<std::unique_ptr<SqliteQueue>> queue = SqliteQueue::Open(config, options);
  if (!queue.ok()) return queue.status();
  return std::unique_ptr<Queue>(std::move(queue).value());
}

Status Queue::AckAndEnqueue(const Job& job, const std::string& next_stage) {
  REFINERY_RETURN_IF_ERROR(Enqueue(next_stage, job.document_id));
  return Ack(job);
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

}  // namespace refinery

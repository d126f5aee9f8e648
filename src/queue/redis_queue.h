// RedisQueue: the production queue on Redis 7 streams (hiredis 0.14).
//
// Per stage: a stream with one consumer group (ready and leased jobs), a
// sorted set of delayed retries, and a hash document -> job state that makes
// Enqueue idempotent and answers HasLiveJob. Every state change is one Lua
// script (redis_scripts.h), hence atomic across processes.
//
// Self-healing: connections come from a pool that reconnects with backoff; a
// Redis that restarted empty gets its streams and groups back on first use,
// and leases taken before the restart report LeaseLost. A Redis that cannot
// be reached gives Unavailable within about the connect/command timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "queue/queue.h"
#include "queue/redis_conn.h"

namespace refinery {

struct RedisQueueOptions {
  // Every key starts with it (then "<stage>:<kind>"); Purge deletes all keys
  // under it. Tests give each test its own prefix to run side by side.
  std::string key_prefix = "refinery:q:";
  redis::PoolOptions pool;
  // Longest single blocking read inside Lease: expired leases and due retries
  // wake no reader, so Lease re-checks for them at least this often.
  std::chrono::milliseconds block_slice{200};
  // Consumers (one per worker process that ever leased) idle this long with
  // nothing pending are removed, checked at most once per sweep interval per
  // stage: killed workers would otherwise pile up in every group forever.
  std::chrono::milliseconds consumer_idle_limit{std::chrono::hours(1)};
  std::chrono::milliseconds consumer_sweep_interval{std::chrono::minutes(1)};
};

class RedisQueue final : public Queue {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Parses config.redis_url (redis://[:password@]host[:port][/db]); does not
  // connect yet, so a process can start while Redis is still down.
  static Result<std::unique_ptr<RedisQueue>> Open(const Config& config, const RedisQueueOptions& options = {});
  RedisQueue(PrivateTag, const redis::Endpoint& endpoint, const RedisQueueOptions& options);

  Status Enqueue(const std::string& stage, int64_t document_id, double delay_s = 0) override;
  Result<std::optional<Job>> Lease(const std::string& stage, double visibility_s,
                                   std::chrono::milliseconds wait) override;
  Status Heartbeat(const Job& job, double visibility_s) override;
  Status Ack(const Job& job) override;
  Status Release(const Job& job, double delay_s = 0) override;
  Result<bool> HasLiveJob(const std::string& stage, int64_t document_id) override;
  Result<QueueDepth> Depth(const std::string& stage) override;
  Result<std::vector<QueueDepth>> Depths(const std::vector<std::string>& stages) override;
  Status Purge() override;
  Status Ping() override;
  // A SET of a probe key that expires by itself.
  Status CheckWritable() override;

 private:
  // KEYS of every script for `stage` (see redis_scripts.h).
  std::vector<std::string> Keys(const std::string& stage) const;
  std::string JobsKey(const std::string& stage) const { return options_.key_prefix + stage + ":jobs"; }
  // One lease script run: the job, or (in `last_id`) where to wait for new entries.
  Result<std::optional<Job>> TryLease(const std::string& stage, int64_t visibility_ms, std::string& last_id);
  // Blocks until `stage`'s stream grows past `last_id` or `slice` passes.
  Status WaitForEntries(const std::string& stage, const std::string& last_id, std::chrono::milliseconds slice);
  // Runs a lease-guarded script; LeaseLost when it answered 0.
  Status RunLeased(const Job& job, const redis::Script& script, std::vector<std::string> extra_args);

  redis::Client client_;
  const RedisQueueOptions options_;
  const std::string consumer_;  // this queue object's name in every consumer group
};

}  // namespace refinery

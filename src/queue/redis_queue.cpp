#include "queue/redis_queue.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/clock.h"
#include "core/random.h"
#include "queue/redis_scripts.h"

namespace refinery {

using redis::Reply;
using redis::ReplyInteger;
using redis::ReplyString;

namespace {

constexpr const char* kGroup = "refinery";

// Lease deadlines are encoded as PEL idle times relative to this horizon
// (redis_scripts.h), so no lease may be longer: about 11.5 days.
constexpr int64_t kHorizonMs = 1'000'000'000;

// Unique per queue object: host, pid and randomness (pids repeat across hosts
// and restarts).
std::string NewConsumerName() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "-%d-", static_cast<int>(getpid()));
  return std::string(host.data()) + suffix + RandomHex(64);
}

Status CheckStage(const std::string& stage) {
  if (stage.empty()) return Status::InvalidArgument("queue: stage must not be empty");
  return Status::Ok();
}

Result<int64_t> VisibilityMs(double visibility_s) {
  if (!(visibility_s > 0) || !std::isfinite(visibility_s)) {
    return Status::InvalidArgument("queue: visibility must be > 0");
  }
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(visibility_s * 1000)), 1, kHorizonMs);
}

// The PEL idle time that makes a lease of `visibility_ms` expire on time.
std::string HoldIdle(int64_t visibility_ms) { return std::to_string(kHorizonMs - visibility_ms); }

int64_t ToInt64(const std::string& text) {
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// Escapes glob characters so SCAN MATCH treats the prefix literally.
std::string GlobLiteral(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Status LeaseLost(const Job& job) {
  return Status::LeaseLost("queue: lease on " + job.stage + " job for document " + std::to_string(job.document_id) +
                           " is gone");
}

}  // namespace

Result<std::unique_ptr<RedisQueue>> RedisQueue::Open(const Config& config, const RedisQueueOptions& options) {
  Result<redis::Endpoint> endpoint = redis::ParseRedisUrl(config.redis_url);
  if (!endpoint.ok()) return endpoint.status();
  if (options.key_prefix.empty()) return Status::InvalidArgument("queue: Redis key prefix must not be empty");
  return std::make_unique<RedisQueue>(PrivateTag{}, *endpoint, options);
}

RedisQueue::RedisQueue(PrivateTag, const redis::Endpoint& endpoint, const RedisQueueOptions& options)
    : client_(endpoint, options.pool), options_(options), consumer_(NewConsumerName()) {}

std::vector<std::string> RedisQueue::Keys(const std::string& stage) const {
  const std::string base = options_.key_prefix + stage;
  return {base + ":stream", base + ":delayed", JobsKey(stage), options_.key_prefix + "ids"};
}

Status RedisQueue::Enqueue(const std::string& stage, int64_t document_id, double delay_s) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  if (!(delay_s >= 0) || !std::isfinite(delay_s)) {
    return Status::InvalidArgument("queue: delay must be a finite number >= 0");
  }
  // Sub-millisecond delays are "now": the scripts count in whole ms.
  auto delay_ms = static_cast<int64_t>(std::ceil(delay_s * 1000));
  Result<Reply> reply = client_.Eval(redis_scripts::Enqueue(), Keys(stage),
                                     {kGroup, std::to_string(document_id), std::to_string(delay_ms)});
  return reply.status();
}

Result<std::optional<Job>> RedisQueue::Lease(const std::string& stage, double visibility_s,
                                             std::chrono::milliseconds wait) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  Result<int64_t> visibility_ms = VisibilityMs(visibility_s);
  if (!visibility_ms.ok()) return visibility_ms.status();
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + wait;
  while (true) {
    std::string last_id;
    Result<std::optional<Job>> job = TryLease(stage, *visibility_ms, last_id);
    if (!job.ok() || job->has_value()) return job;
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return job;
    REFINERY_RETURN_IF_ERROR(WaitForEntries(stage, last_id, std::min(remaining, options_.block_slice)));
  }
}

Result<std::optional<Job>> RedisQueue::TryLease(const std::string& stage, int64_t visibility_ms, std::string& last_id) {
  Result<Reply> reply = client_.Eval(redis_scripts::Lease(), Keys(stage),
                                     {kGroup, consumer_, HoldIdle(visibility_ms), std::to_string(kHorizonMs),
                                      std::to_string(options_.consumer_idle_limit.count()),
                                      std::to_string(std::max<int64_t>(1, options_.consumer_sweep_interval.count()))});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY) {
    last_id = ReplyString(r);
    return std::optional<Job>();
  }
  if (r->elements != 3) return Status::Internal("redis: unexpected lease reply");
  return std::optional<Job>(Job{.id = ReplyInteger(r->element[0]),
                                .stage = stage,
                                .document_id = ToInt64(ReplyString(r->element[1])),
                                .lease_token = ReplyString(r->element[2])});
}

Status RedisQueue::WaitForEntries(const std::string& stage, const std::string& last_id,
                                  std::chrono::milliseconds slice) {
  // A plain XREAD only watches: the lease itself is taken by the script, so a
  // consumer dying right after its blocking read can never strand a job.
  // BLOCK 0 would mean forever, hence at least 1 ms.
  std::string block_ms = std::to_string(std::max<int64_t>(1, slice.count()));
  Result<Reply> reply = client_.Run(
      {"XREAD", "COUNT", "1", "BLOCK", block_ms, "STREAMS", Keys(stage)[0], last_id.empty() ? "0-0" : last_id});
  return reply.status();
}

Status RedisQueue::RunLeased(const Job& job, const redis::Script& script, std::vector<std::string> extra_args) {
  if (job.lease_token.empty()) return Status::LeaseLost("queue: job has no lease token");
  std::vector<std::string> args{kGroup, job.lease_token};
  args.insert(args.end(), std::make_move_iterator(extra_args.begin()), std::make_move_iterator(extra_args.end()));
  Result<Reply> reply = client_.Eval(script, Keys(job.stage), args);
  if (!reply.ok()) return reply.status();
  return ReplyInteger(reply->get()) == 1 ? Status::Ok() : LeaseLost(job);
}

Status RedisQueue::Heartbeat(const Job& job, double visibility_s) {
  Result<int64_t> visibility_ms = VisibilityMs(visibility_s);
  if (!visibility_ms.ok()) return visibility_ms.status();
  return RunLeased(job, redis_scripts::Heartbeat(), {HoldIdle(*visibility_ms)});
}

Status RedisQueue::Ack(const Job& job) {
  return RunLeased(job, redis_scripts::Ack(), {std::to_string(job.document_id)});
}

Status RedisQueue::Release(const Job& job, double delay_s) {
  if (!(delay_s >= 0) || !std::isfinite(delay_s)) {
    return Status::InvalidArgument("queue: delay must be a finite number >= 0");
  }
  const auto delay_ms = static_cast<int64_t>(std::ceil(delay_s * 1000));
  return RunLeased(job, redis_scripts::Release(), {std::to_string(job.document_id), std::to_string(delay_ms)});
}

Result<bool> RedisQueue::HasLiveJob(const std::string& stage, int64_t document_id) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  Result<Reply> reply = client_.Run({"HGET", JobsKey(stage), std::to_string(document_id)});
  if (!reply.ok()) return reply.status();
  // "q ..." ready/leased, "d ..." delayed; "x ..." (a dead job an older
  // version left) is no live job.
  std::string state = ReplyString(reply->get());
  return !state.empty() && (state[0] == 'q' || state[0] == 'd');
}

Result<QueueDepth> RedisQueue::Depth(const std::string& stage) {
  auto depths = Depths({stage});
  if (!depths.ok()) return depths.status();
  return depths->front();
}

Result<std::vector<QueueDepth>> RedisQueue::Depths(const std::vector<std::string>& stages) {
  std::vector<std::string> keys;
  for (const std::string& stage : stages) {
    REFINERY_RETURN_IF_ERROR(CheckStage(stage));
    for (std::string& key : Keys(stage)) keys.push_back(std::move(key));
  }
  if (stages.empty()) return std::vector<QueueDepth>{};
  Result<Reply> reply = client_.Eval(redis_scripts::Depth(), keys, {kGroup, std::to_string(kHorizonMs)});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 * stages.size()) {
    return Status::Internal("redis: unexpected depth reply");
  }
  std::vector<QueueDepth> depths;
  for (size_t i = 0; i < r->elements; i += 3) {
    depths.push_back(QueueDepth{.ready = ReplyInteger(r->element[i]),
                                .in_flight = ReplyInteger(r->element[i + 1]),
                                .delayed = ReplyInteger(r->element[i + 2])});
  }
  return depths;
}

Status RedisQueue::Purge() {
  // SCAN + UNLINK in batches: never one huge blocking KEYS/DEL.
  const std::string pattern = GlobLiteral(options_.key_prefix) + "*";
  std::string cursor = "0";
  do {
    Result<Reply> reply = client_.Run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply.ok()) return reply.status();
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return Status::Internal("redis: unexpected SCAN reply");
    cursor = ReplyString(r->element[0]);
    std::vector<std::string> unlink{"UNLINK"};
    for (size_t i = 0; i < r->element[1]->elements; ++i) unlink.push_back(ReplyString(r->element[1]->element[i]));
    if (unlink.size() > 1) REFINERY_RETURN_IF_ERROR(client_.Run(unlink).status());
  } while (cursor != "0");
  return Status::Ok();
}

Status RedisQueue::CheckWritable() {
  // A Redis that cannot persist (MISCONF) or is out of memory (OOM) refuses
  // writes while still answering PING.
  Result<Reply> reply =
      client_.Run({"SET", options_.key_prefix + "health-probe", std::to_string(NowSeconds()), "PX", "60000"});
  return reply.status();
}

Status RedisQueue::Ping() {
  Result<Reply> reply = client_.Run({"PING"});
  if (!reply.ok()) return reply.status();
  if (ReplyString(reply->get()) != "PONG") return Status::Internal("redis: unexpected PING reply");
  return Status::Ok();
}

}  // namespace refinery

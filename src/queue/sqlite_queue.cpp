#include "queue/sqlite_queue.h"
#include "queue/process_rng.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>
#include <utility>

#include "core/clock.h"
#include "queue/sqlite_db.h"

namespace refinery {

using queue_db::Connection;
using queue_db::ConnectionPool;
using queue_db::WriteTransaction;

namespace {

// States at time `now`: dead; in flight = lease_expires > now; delayed =
// available_at > now (not in flight); ready = otherwise. An expired lease
// is simply ignored, so a crashed consumer's job becomes ready again.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  stage TEXT NOT NULL,
  document_id INTEGER NOT NULL,
  dead INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  available_at REAL NOT NULL,
  lease_token TEXT,
  lease_expires REAL,
  last_error TEXT,
  created_at REAL NOT NULL,
  UNIQUE (stage, document_id)
);
CREATE INDEX IF NOT EXISTS jobs_by_availability ON jobs (stage, dead, available_at);
)sql";

// Revives a dead job (attempts and error reset); for a ready or delayed one
// the earlier time wins; an in-flight job is left alone (WHERE fails).
constexpr const char* kEnqueueSql = R"sql(
INSERT INTO jobs (stage, document_id, available_at, created_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (stage, document_id) DO UPDATE SET
  available_at = CASE WHEN dead = 1 THEN excluded.available_at
                      ELSE MIN(available_at, excluded.available_at) END,
  attempts = CASE WHEN dead = 1 THEN 0 ELSE attempts END,
  last_error = CASE WHEN dead = 1 THEN NULL ELSE last_error END,
  dead = 0
WHERE dead = 1 OR lease_expires IS NULL OR lease_expires <= ?4
)sql";

// ?1 stage, ?2 now. Oldest first; id breaks ties in enqueue order.
constexpr const char* kPickSql = R"sql(
SELECT id, document_id, attempts FROM jobs
WHERE stage = ?1 AND dead = 0 AND available_at <= ?2
  AND (lease_expires IS NULL OR lease_expires <= ?2)
ORDER BY available_at, id LIMIT 1
)sql";

constexpr const char* kTakeLeaseSql =
    "UPDATE jobs SET lease_token = ?2, lease_expires = ?3, attempts = attempts + 1 WHERE id = ?1";
constexpr const char* kBurySql =
    "UPDATE jobs SET dead = 1, last_error = ?2, lease_token = NULL, lease_expires = NULL WHERE id = ?1";
constexpr const char* kExhaustedError = "exceeded max attempts (worker died or timed out repeatedly)";

// Lease-guarded statements for UpdateLeased: ?1 id, ?2 token, ?3 a time, ?4 an error.
constexpr const char* kHeartbeatSql =
    "UPDATE jobs SET lease_expires = ?3 WHERE id = ?1 AND lease_token = ?2 AND dead = 0";
constexpr const char* kAckSql = "DELETE FROM jobs WHERE id = ?1 AND lease_token = ?2";
constexpr const char* kReleaseSql =
    "UPDATE jobs SET lease_token = NULL, lease_expires = NULL, attempts = MAX(attempts - 1, 0), "
    "available_at = ?3 WHERE id = ?1 AND lease_token = ?2 AND dead = 0";
constexpr const char* kRetrySql =
    "UPDATE jobs SET available_at = ?3, last_error = ?4, lease_token = NULL, lease_expires = NULL "
    "WHERE id = ?1 AND lease_token = ?2 AND dead = 0";
constexpr const char* kFailDeadSql =
    "UPDATE jobs SET dead = 1, last_error = ?4, lease_token = NULL, lease_expires = NULL "
    "WHERE id = ?1 AND lease_token = ?2 AND dead = 0";

// 0 ready, 1 in flight, 2 delayed, 3 dead; ?1 stage, ?2 now.
constexpr const char* kDepthSql = R"sql(
SELECT state, COUNT(*) FROM (
  SELECT CASE WHEN dead = 1 THEN 3
              WHEN COALESCE(lease_expires, 0) > ?2 THEN 1
              WHEN available_at > ?2 THEN 2
              ELSE 0 END AS state
  FROM jobs WHERE stage = ?1)
GROUP BY state
)sql";

// Bounds the dead-lettering done by one lease call, so a backlog of
// exhausted jobs cannot hold the write lock for long.
constexpr int kMaxBuriedPerLease = 64;


// 128 random bits in hex: unguessable enough that a stale holder can never
// match a newer lease by accident.
std::string NewLeaseToken() {
  std::mt19937_64& rng = ProcessRng();
  uint64_t high = rng();
  uint64_t low = rng();
  char buffer[33];
  std::snprintf(buffer, sizeof buffer, "%016" PRIx64 "%016" PRIx64, high, low);
  return buffer;
}

double UniformUnit() { return std::uniform_real_distribution<double>(0.0, 1.0)(ProcessRng()); }

Status CreateSchema(ConnectionPool& pool) {
  Result<queue_db::PooledConnection> pooled = pool.Checkout();
  if (!pooled.ok()) return pooled.status();
  Connection& conn = *pooled.value();
  // Persistent in the file; concurrent readers and one writer across processes.
  REFINERY_RETURN_IF_ERROR(conn.Exec("PRAGMA journal_mode=WAL"));
  WriteTransaction txn(conn);
  REFINERY_RETURN_IF_ERROR(txn.Begin());
  REFINERY_RETURN_IF_ERROR(conn.Exec(kSchema));
  return txn.Commit();
}

// Runs `sql` in its own write transaction; reports the rows it changed.
template <typename BindFn>
Result<int64_t> WriteOne(ConnectionPool& pool, const char* sql, BindFn bind) {
  Result<queue_db::PooledConnection> pooled = pool.Checkout();
  if (!pooled.ok()) return pooled.status();
  Connection& conn = *pooled.value();
  WriteTransaction txn(conn);
  REFINERY_RETURN_IF_ERROR(txn.Begin());
  Result<queue_db::Statement> stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(stmt.value());
  REFINERY_RETURN_IF_ERROR(stmt->Run());
  int64_t changed = conn.Changes();
  REFINERY_RETURN_IF_ERROR(txn.Commit());
  return changed;
}

// Whether kPickSql finds a job, as a plain read (no write lock).
Result<bool> AnyDeliverable(Connection& conn, const std::string& stage, double now) {
  Result<queue_db::Statement> stmt = conn.Prepare(kPickSql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, stage).Bind(2, now);
  return stmt->Step();
}

Status CheckStage(const std::string& stage) {
  if (stage.empty()) return Status::InvalidArgument("queue: stage must not be empty");
  return Status::Ok();
}

}  // namespace

SqliteQueue::SqliteQueue(PrivateTag, std::unique_ptr<ConnectionPool> pool, int max_attempts)
    : pool_(std::move(pool)), max_attempts_(max_attempts) {}

SqliteQueue::~SqliteQueue() = default;

Result<std::unique_ptr<SqliteQueue>> SqliteQueue::Open(const Config& config,
                                                       const SqliteQueueOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::Unavailable("queue: cannot create " + config.data_dir + ": " + ec.message());
  auto pool = std::make_unique<ConnectionPool>(config.QueuePath(), options.pool_size,
                                               options.busy_timeout_ms);
  REFINERY_RETURN_IF_ERROR(CreateSchema(*pool));
  return std::make_unique<SqliteQueue>(PrivateTag{}, std::move(pool), config.max_attempts);
}

Status SqliteQueue::Enqueue(const std::string& stage, int64_t document_id, double delay_s) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  if (!(delay_s >= 0) || !std::isfinite(delay_s)) {
    return Status::InvalidArgument("queue: delay must be a finite number >= 0");
  }
  double now = NowSeconds();
  Result<int64_t> changed = WriteOne(*pool_, kEnqueueSql, [&](queue_db::Statement& stmt) {
    stmt.Bind(1, stage).Bind(2, document_id).Bind(3, now + delay_s).Bind(4, now);
  });
  return changed.status();
}

Result<std::optional<Job>> SqliteQueue::Lease(const std::string& stage, double visibility_s,
                                              std::chrono::milliseconds wait) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  if (!(visibility_s > 0)) return Status::InvalidArgument("queue: visibility must be > 0");
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::chrono::steady_clock::duration pause = 5ms;  // grows to 50 ms: quick pickup, cheap idling
  while (true) {
    Result<std::optional<Job>> job = TryLease(stage, visibility_s);
    if (!job.ok() || job->has_value()) return job;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return job;
    std::this_thread::sleep_for(std::min(pause, deadline - now));
    pause = std::min<std::chrono::steady_clock::duration>(pause * 2, 50ms);
  }
}

Result<std::optional<Job>> SqliteQueue::TryLease(const std::string& stage, double visibility_s) {
  Result<queue_db::PooledConnection> pooled = pool_->Checkout();
  if (!pooled.ok()) return pooled.status();
  Connection& conn = *pooled.value();
  // Read first: idle consumers polling an empty stage must not take turns
  // on the write lock that producers and other consumers need.
  Result<bool> any = AnyDeliverable(conn, stage, NowSeconds());
  if (!any.ok()) return any.status();
  if (!*any) return std::optional<Job>();
  WriteTransaction txn(conn);
  REFINERY_RETURN_IF_ERROR(txn.Begin());
  Result<std::optional<Job>> job = LeaseLocked(conn, stage, visibility_s);
  if (!job.ok()) return job;
  REFINERY_RETURN_IF_ERROR(txn.Commit());
  return job;
}

Result<std::optional<Job>> SqliteQueue::LeaseLocked(Connection& conn, const std::string& stage,
                                                    double visibility_s) {
  const double now = NowSeconds();
  for (int buried = 0; buried < kMaxBuriedPerLease; ++buried) {
    Result<queue_db::Statement> pick = conn.Prepare(kPickSql);
    if (!pick.ok()) return pick.status();
    pick->Bind(1, stage).Bind(2, now);
    Result<bool> row = pick->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Job>();
    Job job{.id = pick->Int(0), .stage = stage, .document_id = pick->Int(1),
            .attempt = static_cast<int>(pick->Int(2)) + 1, .lease_token = {}};
    bool exhausted = job.attempt > max_attempts_;
    Result<queue_db::Statement> update = conn.Prepare(exhausted ? kBurySql : kTakeLeaseSql);
    if (!update.ok()) return update.status();
    update->Bind(1, job.id);
    if (exhausted) {
      update->Bind(2, std::string_view(kExhaustedError));
    } else {
      job.lease_token = NewLeaseToken();
      update->Bind(2, job.lease_token).Bind(3, now + visibility_s);
    }
    REFINERY_RETURN_IF_ERROR(update->Run());
    if (!exhausted) return std::optional<Job>(std::move(job));
  }
  return std::optional<Job>();  // buried a batch; the next poll continues
}

Status SqliteQueue::UpdateLeased(const Job& job, const char* sql, double real_param,
                                 const std::string& text_param) {
  if (job.lease_token.empty()) return Status::LeaseLost("queue: job has no lease token");
  Result<int64_t> changed = WriteOne(*pool_, sql, [&](queue_db::Statement& stmt) {
    stmt.Bind(1, job.id).Bind(2, job.lease_token);
    if (stmt.ParamCount() >= 3) stmt.Bind(3, real_param);
    if (stmt.ParamCount() >= 4) stmt.Bind(4, text_param);
  });
  if (!changed.ok()) return changed.status();
  if (*changed == 0) {
    return Status::LeaseLost("queue: lease on " + job.stage + " job for document " +
                             std::to_string(job.document_id) + " is gone");
  }
  return Status::Ok();
}

Status SqliteQueue::Heartbeat(const Job& job, double visibility_s) {
  if (!(visibility_s > 0)) return Status::InvalidArgument("queue: visibility must be > 0");
  return UpdateLeased(job, kHeartbeatSql, NowSeconds() + visibility_s);
}

Status SqliteQueue::Ack(const Job& job) { return UpdateLeased(job, kAckSql); }

Status SqliteQueue::Release(const Job& job) { return UpdateLeased(job, kReleaseSql, NowSeconds()); }

Result<FailOutcome> SqliteQueue::Fail(const Job& job, const std::string& error,
                                      const RetryPolicy& policy) {
  FailOutcome outcome;
  outcome.dead = job.attempt >= policy.max_attempts;
  if (outcome.dead) {
    REFINERY_RETURN_IF_ERROR(UpdateLeased(job, kFailDeadSql, 0, error));
    return outcome;
  }
  outcome.retry_in_s = BackoffDelay(policy, job.attempt, UniformUnit());
  REFINERY_RETURN_IF_ERROR(UpdateLeased(job, kRetrySql, NowSeconds() + outcome.retry_in_s, error));
  return outcome;
}

Result<bool> SqliteQueue::HasLiveJob(const std::string& stage, int64_t document_id) {
  Result<queue_db::PooledConnection> pooled = pool_->Checkout();
  if (!pooled.ok()) return pooled.status();
  // Any row that is not dead is ready, delayed or in flight: an expired
  // lease makes a job ready again.
  Result<queue_db::Statement> stmt = pooled.value()->Prepare(
      "SELECT EXISTS (SELECT 1 FROM jobs WHERE stage = ?1 AND document_id = ?2 AND dead = 0)");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, stage).Bind(2, document_id);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row && stmt->Int(0) != 0;
}

Result<QueueDepth> SqliteQueue::Depth(const std::string& stage) {
  if (stage.empty()) return Status::InvalidArgument("queue: stage must not be empty");
  Result<queue_db::PooledConnection> pooled = pool_->Checkout();
  if (!pooled.ok()) return pooled.status();
  Result<queue_db::Statement> stmt = pooled.value()->Prepare(kDepthSql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, stage).Bind(2, NowSeconds());
  QueueDepth depth;
  int64_t* by_state[] = {&depth.ready, &depth.in_flight, &depth.delayed, &depth.dead};
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return depth;
    *by_state[stmt->Int(0)] = stmt->Int(1);
  }
}

Status SqliteQueue::Purge() {
  return WriteOne(*pool_, "DELETE FROM jobs", [](queue_db::Statement&) {}).status();
}

Status SqliteQueue::Ping() {
  Result<queue_db::PooledConnection> pooled = pool_->Checkout();
  if (!pooled.ok()) return pooled.status();
  return pooled.value()->Exec("SELECT 1");
}

}  // namespace refinery

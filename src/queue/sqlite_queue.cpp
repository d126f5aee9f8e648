#include "queue/sqlite_queue.h"

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
#include "core/disk_space.h"
#include "core/random.h"
#include "queue/sqlite_db.h"

namespace refinery {

using queue_db::Connection;
using queue_db::ConnectionPool;
using queue_db::WriteTransaction;

namespace {

// States at time `now`: in flight = lease_expires > now; delayed =
// available_at > now (not in flight); ready = otherwise. An expired lease
// is simply ignored, so a crashed consumer's job becomes ready again. No
// attempts and no dead jobs: the store owns those (queue.h).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  stage TEXT NOT NULL,
  document_id INTEGER NOT NULL,
  available_at REAL NOT NULL,
  lease_token TEXT,
  lease_expires REAL,
  created_at REAL NOT NULL,
  UNIQUE (stage, document_id)
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (stage, available_at);
CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, checked_at REAL NOT NULL);
)sql";

// Version 2 of the file: the queue no longer counts attempts or keeps dead
// jobs. A version-1 table is rebuilt without them; its dead jobs are dropped,
// and their documents (still in their stage) are re-enqueued by the
// reconciler, after which the store's attempt count decides their fate.
constexpr int kQueueFileVersion = 2;
constexpr const char* kUpgradeFromV1 = R"sql(
CREATE TABLE jobs_v2 (
  id INTEGER PRIMARY KEY,
  stage TEXT NOT NULL,
  document_id INTEGER NOT NULL,
  available_at REAL NOT NULL,
  lease_token TEXT,
  lease_expires REAL,
  created_at REAL NOT NULL,
  UNIQUE (stage, document_id)
);
INSERT INTO jobs_v2 (id, stage, document_id, available_at, lease_token, lease_expires, created_at)
  SELECT id, stage, document_id, available_at, lease_token, lease_expires, created_at
  FROM jobs WHERE dead = 0;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs (stage, available_at);
)sql";

// For a ready or delayed job the earlier time wins; an in-flight job is left
// alone (WHERE fails).
constexpr const char* kEnqueueSql = R"sql(
INSERT INTO jobs (stage, document_id, available_at, created_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (stage, document_id) DO UPDATE SET available_at = MIN(available_at, excluded.available_at)
WHERE lease_expires IS NULL OR lease_expires <= ?4
)sql";

// ?1 stage, ?2 now. Oldest first; id breaks ties in enqueue order.
constexpr const char* kPickSql = R"sql(
SELECT id, document_id FROM jobs
WHERE stage = ?1 AND available_at <= ?2
  AND (lease_expires IS NULL OR lease_expires <= ?2)
ORDER BY available_at, id LIMIT 1
)sql";

constexpr const char* kTakeLeaseSql = "UPDATE jobs SET lease_token = ?2, lease_expires = ?3 WHERE id = ?1";

// Lease-guarded statements for UpdateLeased: ?1 id, ?2 token, ?3 a time.
constexpr const char* kHeartbeatSql = "UPDATE jobs SET lease_expires = ?3 WHERE id = ?1 AND lease_token = ?2";
constexpr const char* kAckSql = "DELETE FROM jobs WHERE id = ?1 AND lease_token = ?2";
constexpr const char* kReleaseSql =
    "UPDATE jobs SET lease_token = NULL, lease_expires = NULL, available_at = ?3"
    " WHERE id = ?1 AND lease_token = ?2";

// A write a consumer never sees, proving the file takes writes.
constexpr const char* kProbeSql =
    "INSERT INTO health_probe (id, checked_at) VALUES (1, ?1)"
    " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";

// 0 ready, 1 in flight, 2 delayed; ?1 stage, ?2 now.
constexpr const char* kDepthSql = R"sql(
SELECT state, COUNT(*) FROM (
  SELECT CASE WHEN COALESCE(lease_expires, 0) > ?2 THEN 1
              WHEN available_at > ?2 THEN 2
              ELSE 0 END AS state
  FROM jobs WHERE stage = ?1)
GROUP BY state
)sql";

// 128 random bits in hex: unguessable enough that a stale holder can never
// match a newer lease by accident.
std::string NewLeaseToken() { return RandomHex(128); }

Result<int64_t> QueryInt(Connection& conn, const char* sql) {
  Result<queue_db::Statement> stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->Int(0) : 0;
}

// Inside the schema transaction: brings a version-1 file to version 2.
Status UpgradeFile(Connection& conn) {
  Result<int64_t> version = QueryInt(conn, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version >= kQueueFileVersion) return Status::Ok();
  Result<int64_t> has_dead = QueryInt(conn, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'dead'");
  if (!has_dead.ok()) return has_dead.status();
  if (*has_dead > 0) REFINERY_RETURN_IF_ERROR(conn.Exec(kUpgradeFromV1));
  return conn.Exec("PRAGMA user_version = 2");
}

Status CreateSchema(ConnectionPool& pool) {
  Result<queue_db::PooledConnection> pooled = pool.Checkout();
  if (!pooled.ok()) return pooled.status();
  Connection& conn = *pooled.value();
  // Persistent in the file; concurrent readers and one writer across processes.
  REFINERY_RETURN_IF_ERROR(conn.Exec("PRAGMA journal_mode=WAL"));
  WriteTransaction txn(conn);
  REFINERY_RETURN_IF_ERROR(txn.Begin());
  REFINERY_RETURN_IF_ERROR(conn.Exec(kSchema));
  REFINERY_RETURN_IF_ERROR(UpgradeFile(conn));
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

SqliteQueue::SqliteQueue(PrivateTag, std::unique_ptr<ConnectionPool> pool, std::string path, int busy_timeout_ms)
    : pool_(std::move(pool)), path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

SqliteQueue::~SqliteQueue() = default;

Result<std::unique_ptr<SqliteQueue>> SqliteQueue::Open(const Config& config,
                                                       const SqliteQueueOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::Unavailable("queue: cannot create " + config.data_dir + ": " + ec.message());
  auto pool = std::make_unique<ConnectionPool>(config.QueuePath(), options.pool_size,
                                               options.busy_timeout_ms);
  REFINERY_RETURN_IF_ERROR(CreateSchema(*pool));
  return std::make_unique<SqliteQueue>(PrivateTag{}, std::move(pool), config.QueuePath(), options.busy_timeout_ms);
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
  Result<queue_db::Statement> pick = conn.Prepare(kPickSql);
  if (!pick.ok()) return pick.status();
  pick->Bind(1, stage).Bind(2, now);
  Result<bool> row = pick->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Job>();
  Job job{.id = pick->Int(0), .stage = stage, .document_id = pick->Int(1), .lease_token = NewLeaseToken()};
  Result<queue_db::Statement> take = conn.Prepare(kTakeLeaseSql);
  if (!take.ok()) return take.status();
  take->Bind(1, job.id).Bind(2, job.lease_token).Bind(3, now + visibility_s);
  REFINERY_RETURN_IF_ERROR(take->Run());
  return std::optional<Job>(std::move(job));
}

Status SqliteQueue::UpdateLeased(const Job& job, const char* sql, double time_param) {
  if (job.lease_token.empty()) return Status::LeaseLost("queue: job has no lease token");
  Result<int64_t> changed = WriteOne(*pool_, sql, [&](queue_db::Statement& stmt) {
    stmt.Bind(1, job.id).Bind(2, job.lease_token);
    if (stmt.ParamCount() >= 3) stmt.Bind(3, time_param);
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

Status SqliteQueue::Release(const Job& job, double delay_s) {
  if (!(delay_s >= 0) || !std::isfinite(delay_s)) {
    return Status::InvalidArgument("queue: delay must be a finite number >= 0");
  }
  return UpdateLeased(job, kReleaseSql, NowSeconds() + delay_s);
}

Result<bool> SqliteQueue::HasLiveJob(const std::string& stage, int64_t document_id) {
  Result<queue_db::PooledConnection> pooled = pool_->Checkout();
  if (!pooled.ok()) return pooled.status();
  // Every row is ready, delayed or in flight: an expired lease makes a job
  // ready again.
  Result<queue_db::Statement> stmt = pooled.value()->Prepare(
      "SELECT EXISTS (SELECT 1 FROM jobs WHERE stage = ?1 AND document_id = ?2)");
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
  int64_t* by_state[] = {&depth.ready, &depth.in_flight, &depth.delayed};
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

Status SqliteQueue::CheckWritable() {
  REFINERY_RETURN_IF_ERROR(CheckFreeSpace(path_, "queue"));
  Result<queue_db::PooledConnection> pooled = pool_->Checkout();
  if (!pooled.ok()) return pooled.status();
  return queue_db::ProbeWrite(*pooled.value(), kProbeSql, busy_timeout_ms_);
}

}  // namespace refinery

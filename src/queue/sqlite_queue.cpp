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

#include "core/backoff.h"
#include "core/clock.h"
#include "core/disk_space.h"
#include "core/random.h"
#include "core/sqlite.h"

namespace refinery {

using sqlite::Connection;
using sqlite::ConnectionPool;
using sqlite::Transaction;

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
  Result<sqlite::Statement> stmt = conn.Prepare(sql);
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
  return sqlite::RunInTransaction(pool, Transaction::Kind::kWrite, [](Connection& conn) -> Status {
    REFINERY_RETURN_IF_ERROR(conn.Exec(kSchema));
    return UpgradeFile(conn);
  });
}

// Runs `sql` with `args` in its own write transaction; reports the rows it changed.
template <typename... Args>
Result<int64_t> WriteOne(ConnectionPool& pool, const char* sql, const Args&... args) {
  int64_t changed = 0;
  Status s = sqlite::RunInTransaction(pool, Transaction::Kind::kWrite, [&](Connection& conn) -> Status {
    Result<sqlite::Statement> stmt = conn.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(args...).Run());
    changed = conn.Changes();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return changed;
}

// Whether kPickSql finds a job, as a plain read (no write lock).
Result<bool> AnyDeliverable(Connection& conn, const std::string& stage, double now) {
  Result<sqlite::Statement> stmt = conn.Prepare(kPickSql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(stage, now).Step();
}

Status CheckStage(const std::string& stage) {
  if (stage.empty()) return Status::InvalidArgument("queue: stage must not be empty");
  return Status::Ok();
}

Status LeaseGone(const Job& job) {
  return Status::LeaseLost("queue: lease on " + job.stage + " job for document " + std::to_string(job.document_id) +
                           " is gone");
}

Status CheckDelay(double delay_s) {
  if (!(delay_s >= 0) || !std::isfinite(delay_s)) {
    return Status::InvalidArgument("queue: delay must be a finite number >= 0");
  }
  return Status::Ok();
}

}  // namespace

SqliteQueue::SqliteQueue(PrivateTag, const std::string& path, const SqliteQueueOptions& options)
    : pool_(std::make_unique<ConnectionPool>(path, sqlite::ConnectionOptions{options.busy_timeout_ms},
                                             static_cast<size_t>(options.pool_size),
                                             static_cast<size_t>(options.pool_size))),
      busy_timeout_ms_(options.busy_timeout_ms) {}

SqliteQueue::~SqliteQueue() = default;

Result<std::unique_ptr<SqliteQueue>> SqliteQueue::Open(const Config& config, const SqliteQueueOptions& options) {
  std::error_code ec;
  if (!options.create) {
    if (!std::filesystem::exists(config.QueuePath(), ec)) {
      return Status::InvalidArgument("no queue at " + config.QueuePath() + ": run `refinery migrate` (or `up`) first");
    }
    auto queue = std::make_unique<SqliteQueue>(PrivateTag{}, config.QueuePath(), options);
    REFINERY_RETURN_IF_ERROR(queue->CheckFileCurrent());
    return queue;
  }
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Status::Unavailable("queue: cannot create " + config.data_dir + ": " + ec.message());
  auto queue = std::make_unique<SqliteQueue>(PrivateTag{}, config.QueuePath(), options);
  REFINERY_RETURN_IF_ERROR(CreateSchema(*queue->pool_));
  return queue;
}

Status SqliteQueue::CheckFileCurrent() {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  Result<int64_t> version = QueryInt(**conn, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version >= kQueueFileVersion) return Status::Ok();
  return Status::InvalidArgument("the queue at " + pool_->path() +
                                 " is from an older Refinery: run `refinery migrate`");
}

Status SqliteQueue::Enqueue(const std::string& stage, int64_t document_id, double delay_s) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  REFINERY_RETURN_IF_ERROR(CheckDelay(delay_s));
  const double now = NowSeconds();
  return WriteOne(*pool_, kEnqueueSql, stage, document_id, now + delay_s, now).status();
}

Result<std::optional<Job>> SqliteQueue::Lease(const std::string& stage, double visibility_s,
                                              std::chrono::milliseconds wait) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  if (!(visibility_s > 0)) return Status::InvalidArgument("queue: visibility must be > 0");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // Polls 5 ms apart at first, growing to 50 ms: quick pickup, cheap idling.
  const Backoff poll{.base_s = 0.005, .max_s = 0.05};
  for (int polls = 1;; ++polls) {
    Result<std::optional<Job>> job = TryLease(stage, visibility_s);
    if (!job.ok() || job->has_value()) return job;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return job;
    const auto pause = std::chrono::duration<double>(JitteredBackoff(poll, polls));
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(pause), deadline - now));
  }
}

Result<std::optional<Job>> SqliteQueue::TryLease(const std::string& stage, double visibility_s) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  // Read first: idle consumers polling an empty stage must not take turns
  // on the write lock that producers and other consumers need.
  Result<bool> any = AnyDeliverable(**conn, stage, NowSeconds());
  if (!any.ok()) return any.status();
  if (!*any) return std::optional<Job>();
  auto txn = Transaction::Begin(**conn, Transaction::Kind::kWrite);
  if (!txn.ok()) return txn.status();
  Result<std::optional<Job>> job = LeaseLocked(**conn, stage, visibility_s);
  if (!job.ok()) return job;
  REFINERY_RETURN_IF_ERROR(txn->Commit());
  return job;
}

Result<std::optional<Job>> SqliteQueue::LeaseLocked(Connection& conn, const std::string& stage, double visibility_s) {
  const double now = NowSeconds();
  Result<sqlite::Statement> pick = conn.Prepare(kPickSql);
  if (!pick.ok()) return pick.status();
  Result<bool> row = pick->Bind(stage, now).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Job>();
  Job job{.id = pick->Int(0), .stage = stage, .document_id = pick->Int(1), .lease_token = NewLeaseToken()};
  Result<sqlite::Statement> take = conn.Prepare(kTakeLeaseSql);
  if (!take.ok()) return take.status();
  REFINERY_RETURN_IF_ERROR(take->Bind(job.id, job.lease_token, now + visibility_s).Run());
  return std::optional<Job>(std::move(job));
}

Status SqliteQueue::UpdateLeased(const Job& job, const char* sql, std::optional<double> time_param) {
  if (job.lease_token.empty()) return Status::LeaseLost("queue: job has no lease token");
  Result<int64_t> changed = time_param ? WriteOne(*pool_, sql, job.id, job.lease_token, *time_param)
                                       : WriteOne(*pool_, sql, job.id, job.lease_token);
  if (!changed.ok()) return changed.status();
  if (*changed == 0) {
    return LeaseGone(job);
  }
  return Status::Ok();
}

Status SqliteQueue::Heartbeat(const Job& job, double visibility_s) {
  if (!(visibility_s > 0)) return Status::InvalidArgument("queue: visibility must be > 0");
  return UpdateLeased(job, kHeartbeatSql, NowSeconds() + visibility_s);
}

Status SqliteQueue::Ack(const Job& job) { return UpdateLeased(job, kAckSql, std::nullopt); }

Status SqliteQueue::AckAndEnqueue(const Job& job, const std::string& next_stage) {
  REFINERY_RETURN_IF_ERROR(CheckStage(next_stage));
  const double now = NowSeconds();
  int64_t acked = 0;
  Status s = sqlite::RunInTransaction(*pool_, Transaction::Kind::kWrite, [&](Connection& conn) -> Status {
    Result<sqlite::Statement> enqueue = conn.Prepare(kEnqueueSql);
    if (!enqueue.ok()) return enqueue.status();
    REFINERY_RETURN_IF_ERROR(enqueue->Bind(next_stage, job.document_id, now, now).Run());
    if (job.lease_token.empty()) return Status::Ok();
    Result<sqlite::Statement> ack = conn.Prepare(kAckSql);
    if (!ack.ok()) return ack.status();
    REFINERY_RETURN_IF_ERROR(ack->Bind(job.id, job.lease_token).Run());
    acked = conn.Changes();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (acked == 0) {
    return LeaseGone(job);
  }
  return Status::Ok();
}

Status SqliteQueue::Release(const Job& job, double delay_s) {
  REFINERY_RETURN_IF_ERROR(CheckDelay(delay_s));
  return UpdateLeased(job, kReleaseSql, NowSeconds() + delay_s);
}

Result<bool> SqliteQueue::HasLiveJob(const std::string& stage, int64_t document_id) {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  // Every row is ready, delayed or in flight: an expired lease makes a job
  // ready again.
  Result<sqlite::Statement> stmt =
      (*conn)->Prepare("SELECT EXISTS (SELECT 1 FROM jobs WHERE stage = ?1 AND document_id = ?2)");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Bind(stage, document_id).Step();
  if (!row.ok()) return row.status();
  return *row && stmt->Int(0) != 0;
}

Result<QueueDepth> SqliteQueue::Depth(const std::string& stage) {
  REFINERY_RETURN_IF_ERROR(CheckStage(stage));
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  Result<sqlite::Statement> stmt = (*conn)->Prepare(kDepthSql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(stage, NowSeconds());
  QueueDepth depth;
  int64_t* by_state[] = {&depth.ready, &depth.in_flight, &depth.delayed};
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return depth;
    *by_state[stmt->Int(0)] = stmt->Int(1);
  }
}

Status SqliteQueue::Purge() { return WriteOne(*pool_, "DELETE FROM jobs").status(); }

Status SqliteQueue::Ping() {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return (*conn)->Exec("SELECT 1");
}

Status SqliteQueue::CheckWritable() {
  REFINERY_RETURN_IF_ERROR(CheckFreeSpace(pool_->path(), "queue"));
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::ProbeWrite(**conn, kProbeSql, busy_timeout_ms_);
}

}  // namespace refinery

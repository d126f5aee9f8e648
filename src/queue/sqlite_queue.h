// SqliteQueue: the embedded queue, a durable job table with leases in its own
// SQLite file (config.QueuePath()). Safe for many threads and for several
// processes on the same file: every write is a BEGIN IMMEDIATE transaction,
// so SQLite's single write lock serialises leases across processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "queue/queue.h"

namespace refinery {

namespace sqlite {
class ConnectionPool;
class Connection;
}  // namespace sqlite

// Tuning knobs that are not part of Config; tests shrink the busy timeout
// to observe Unavailable quickly.
struct SqliteQueueOptions {
  int pool_size = 4;             // connections shared by this process's threads
  int busy_timeout_ms = 10'000;  // wait for the write lock this long, then Unavailable
  // Create or upgrade the file; false: open an existing, current one only
  // (read-only commands), writing nothing.
  bool create = true;
};

class SqliteQueue final : public Queue {
  // Only Open() can name this, so only Open() can call the (public, for
  // make_unique) constructor.
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Creates config.data_dir and the schema if missing (upgrading a file
  // written by an older version); see SqliteQueueOptions::create.
  static Result<std::unique_ptr<SqliteQueue>> Open(const Config& config, const SqliteQueueOptions& options = {});
  SqliteQueue(PrivateTag, const std::string& path, const SqliteQueueOptions& options);
  ~SqliteQueue() override;
  SqliteQueue(const SqliteQueue&) = delete;
  SqliteQueue& operator=(const SqliteQueue&) = delete;

  Status Enqueue(const std::string& stage, int64_t document_id, double delay_s = 0) override;
  Result<std::optional<Job>> Lease(const std::string& stage, double visibility_s,
                                   std::chrono::milliseconds wait) override;
  Status Heartbeat(const Job& job, double visibility_s) override;
  Status Ack(const Job& job) override;
  Status AckAndEnqueue(const Job& job, const std::string& next_stage) override;  // one write transaction
  Status Release(const Job& job, double delay_s = 0) override;
  Result<bool> HasLiveJob(const std::string& stage, int64_t document_id) override;
  Result<QueueDepth> Depth(const std::string& stage) override;
  Status Purge() override;
  Status Ping() override;
  // Free space of the file's filesystem, then a probe write.
  Status CheckWritable() override;

 private:
  // InvalidArgument unless the file is at the current version.
  Status CheckFileCurrent();
  // One non-blocking lease attempt; nullopt when nothing is deliverable.
  Result<std::optional<Job>> TryLease(const std::string& stage, double visibility_s);
  // Inside a write transaction: leases the oldest deliverable job.
  Result<std::optional<Job>> LeaseLocked(sqlite::Connection& conn, const std::string& stage, double visibility_s);
  // Runs one UPDATE/DELETE guarded by the job's lease token in a write
  // transaction; LeaseLost when it matched no row. ?1 = id, ?2 = token,
  // ?3 = `time_param` when given.
  Status UpdateLeased(const Job& job, const char* sql, std::optional<double> time_param);

  std::unique_ptr<sqlite::ConnectionPool> pool_;
  const int busy_timeout_ms_;
};

}  // namespace refinery

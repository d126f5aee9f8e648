// SQLite-specific queue behaviour: files, processes, locks, the upgrade of
// a file an older version wrote; plus OpenQueue.
#include "queue/sqlite_queue.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue/queue.h"
#include "queue/redis_queue.h"
#include "support/raw_sqlite.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using namespace std::chrono_literals;

Config ConfigIn(const testing::TempDir& dir) {
  Config config;
  config.data_dir = dir.path() + "/nested/data";  // missing: Open must create it
  return config;
}

std::unique_ptr<SqliteQueue> MustOpen(const Config& config, const SqliteQueueOptions& options = {}) {
  Result<std::unique_ptr<SqliteQueue>> queue = SqliteQueue::Open(config, options);
  EXPECT_TRUE(queue.ok()) << queue.status().ToString();
  return queue.ok() ? std::move(queue).value() : nullptr;
}

TEST(OpenQueueTest, ChoosesSqliteUnlessRedisIsSet) {
  testing::TempDir dir;
  Config config = ConfigIn(dir);
  Result<std::unique_ptr<Queue>> queue = OpenQueue(config);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  EXPECT_NE(dynamic_cast<SqliteQueue*>(queue->get()), nullptr);
  EXPECT_TRUE(std::filesystem::exists(config.QueuePath()));

  config.redis_url = "redis://127.0.0.1:6379/2";  // connects lazily: no server needed here
  Result<std::unique_ptr<Queue>> redis = OpenQueue(config);
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  EXPECT_NE(dynamic_cast<RedisQueue*>(redis->get()), nullptr);

  config.redis_url = "redis://127.0.0.1:notaport";
  EXPECT_EQ(OpenQueue(config).status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteQueueTest, RejectsInvalidArguments) {
  testing::TempDir dir;
  std::unique_ptr<SqliteQueue> queue = MustOpen(ConfigIn(dir));
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->Enqueue("", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(queue->Enqueue("chunk", 1, -1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(queue->Lease("chunk", 0, 0ms).status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteQueueTest, JobsAndLeasesSurviveReopen) {
  testing::TempDir dir;
  Config config = ConfigIn(dir);
  Job leased;
  {
    std::unique_ptr<SqliteQueue> queue = MustOpen(config);
    ASSERT_NE(queue, nullptr);
    for (int64_t doc : {1, 2, 3}) ASSERT_TRUE(queue->Enqueue("chunk", doc).ok());
    Result<std::optional<Job>> job = queue->Lease("chunk", 60, 1s);
    ASSERT_TRUE(job.ok() && job->has_value());
    leased = **job;
  }
  std::unique_ptr<SqliteQueue> reopened = MustOpen(config);
  ASSERT_NE(reopened, nullptr);
  Result<QueueDepth> depth = reopened->Depth("chunk");
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->ready, 2);
  EXPECT_EQ(depth->in_flight, 1);
  EXPECT_TRUE(reopened->Ack(leased).ok());  // the lease token is durable too
}

TEST(SqliteQueueTest, HeldWriteLockIsUnavailableNotAHang) {
  testing::TempDir dir;
  Config config = ConfigIn(dir);
  std::unique_ptr<SqliteQueue> queue = MustOpen(config, {.pool_size = 2, .busy_timeout_ms = 200});
  ASSERT_NE(queue, nullptr);
  ASSERT_TRUE(queue->Enqueue("chunk", 1).ok());
  testing::RawSqlite other(config.QueuePath());
  ASSERT_TRUE(other.Exec("BEGIN IMMEDIATE").ok());  // another process's writer
  EXPECT_EQ(queue->Enqueue("chunk", 2).code(), StatusCode::kUnavailable);
  EXPECT_EQ(queue->Lease("chunk", 30, 0ms).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(queue->Depth("chunk").ok());  // WAL: readers are not blocked
  ASSERT_TRUE(other.Exec("ROLLBACK").ok());
  EXPECT_TRUE(queue->Enqueue("chunk", 2).ok());
}

// The jobs table version 1 wrote: attempts, dead jobs and their errors.
constexpr const char* kVersion1Jobs = R"sql(
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY, stage TEXT NOT NULL, document_id INTEGER NOT NULL,
  dead INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
  available_at REAL NOT NULL, lease_token TEXT, lease_expires REAL, last_error TEXT,
  created_at REAL NOT NULL, UNIQUE (stage, document_id));
CREATE INDEX jobs_by_availability ON jobs (stage, dead, available_at);
INSERT INTO jobs (stage, document_id, dead, attempts, available_at, created_at, last_error)
  VALUES ('chunk', 1, 0, 2, 0, 0, NULL), ('chunk', 2, 1, 5, 0, 0, 'exceeded max attempts'),
         ('embed', 3, 0, 0, 0, 0, NULL);
)sql";

// Upgrading keeps live jobs and drops the dead ones, whose documents the
// reconciler re-enqueues (the store decides their fate now).
TEST(SqliteQueueTest, OpeningAVersion1FileKeepsLiveJobsAndDropsDeadOnes) {
  testing::TempDir dir;
  Config config = ConfigIn(dir);
  std::filesystem::create_directories(config.data_dir);
  {
    testing::RawSqlite old(config.QueuePath());
    Status written = old.Exec(kVersion1Jobs);
    ASSERT_TRUE(written.ok()) << written.ToString();
  }
  std::unique_ptr<SqliteQueue> queue = MustOpen(config);
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->Depth("chunk")->ready, 1);
  EXPECT_FALSE(*queue->HasLiveJob("chunk", 2));
  EXPECT_TRUE(*queue->HasLiveJob("embed", 3));
  Result<std::optional<Job>> job = queue->Lease("chunk", 30, 1s);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->document_id, 1);
  EXPECT_TRUE(queue->Ack(**job).ok());
  testing::RawSqlite raw(config.QueuePath());
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 2);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name IN ('dead', 'attempts')"), 0);
  EXPECT_TRUE(MustOpen(config) != nullptr);  // reopening an upgraded file changes nothing
  EXPECT_TRUE(*queue->HasLiveJob("embed", 3));
}

// Read-only commands open an existing, current queue file only.
TEST(SqliteQueueTest, OpeningWithoutCreateChangesNoFile) {
  testing::TempDir dir;
  Config config = ConfigIn(dir);
  Result<std::unique_ptr<Queue>> missing = OpenQueue(config, /*create=*/false);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("refinery migrate"), std::string::npos) << missing.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(config.QueuePath()));
  std::filesystem::create_directories(config.data_dir);
  {
    testing::RawSqlite old(config.QueuePath());
    ASSERT_TRUE(old.Exec(kVersion1Jobs).ok());
  }
  Result<std::unique_ptr<Queue>> older = OpenQueue(config, /*create=*/false);
  EXPECT_EQ(older.status().code(), StatusCode::kInvalidArgument) << older.status().ToString();
  testing::RawSqlite raw(config.QueuePath());
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'dead'"), 1);  // not upgraded
  ASSERT_NE(MustOpen(config), nullptr);                                                         // serving upgrades it
  EXPECT_TRUE(OpenQueue(config, /*create=*/false).ok());
}

// Leases and acks until the stage stays empty for a moment. Plain code, no
// gtest macros: it also runs in a forked child. Returns false on any error.
bool Drain(Queue& queue, std::vector<int64_t>& documents) {
  const auto deadline = std::chrono::steady_clock::now() + 120s;  // hang guard only
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::optional<Job>> job = queue.Lease("chunk", 60, 300ms);
    if (!job.ok()) return false;
    if (!job->has_value()) return true;
    std::this_thread::sleep_for(1ms);  // "work", so the two processes interleave
    if (!queue.Ack(**job).ok()) return false;
    documents.push_back((*job)->document_id);
  }
  return false;
}

// Child side of the two-process test; never returns.
[[noreturn]] void RunChildConsumer(const Config& config, int ready_fd, const std::string& out_path) {
  std::vector<int64_t> documents;
  bool ok = false;
  {
    std::unique_ptr<SqliteQueue> queue = MustOpen(config);
    char byte = 'r';
    if (queue != nullptr && write(ready_fd, &byte, 1) == 1) ok = Drain(*queue, documents);
    std::ofstream out(out_path);
    for (int64_t doc : documents) out << doc << '\n';
  }
  _exit(ok ? 0 : 3);  // skip gtest's and the parent's atexit machinery
}

TEST(SqliteQueueTest, TwoProcessesNeverGetTheSameJob) {
  testing::TempDir dir;
  Config config = ConfigIn(dir);
  constexpr int kJobs = 300;
  {
    // Enqueue and close before fork(): an SQLite connection must never
    // cross a fork.
    std::unique_ptr<SqliteQueue> queue = MustOpen(config);
    ASSERT_NE(queue, nullptr);
    for (int doc = 1; doc <= kJobs; ++doc) ASSERT_TRUE(queue->Enqueue("chunk", doc).ok());
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const std::string child_out = dir.path() + "/child.txt";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    RunChildConsumer(config, ready[1], child_out);
  }
  close(ready[1]);
  std::unique_ptr<SqliteQueue> queue = MustOpen(config);
  ASSERT_NE(queue, nullptr);
  char byte = 0;
  EXPECT_EQ(read(ready[0], &byte, 1), 1);  // start together (EOF if the child died)
  close(ready[0]);
  std::vector<int64_t> mine;
  EXPECT_TRUE(Drain(*queue, mine));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  std::vector<int64_t> theirs;
  std::ifstream in(child_out);
  for (int64_t doc; in >> doc;) theirs.push_back(doc);
  std::map<int64_t, int> deliveries;
  for (int64_t doc : mine) ++deliveries[doc];
  for (int64_t doc : theirs) ++deliveries[doc];
  EXPECT_EQ(deliveries.size(), static_cast<size_t>(kJobs));
  for (const auto& [doc, count] : deliveries) EXPECT_EQ(count, 1) << "document " << doc;
  EXPECT_GT(mine.size(), 0u);
  EXPECT_GT(theirs.size(), 0u);
  std::printf("parent consumed %zu, child %zu\n", mine.size(), theirs.size());
}

}  // namespace
}  // namespace refinery

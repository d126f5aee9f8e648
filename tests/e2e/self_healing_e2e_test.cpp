// Self-healing of the embedded default with real processes: a queue emptied
// by hand, and a supervisor killed with SIGKILL.
#include <signal.h>
#include <sqlite3.h>

#include <thread>

#include <gtest/gtest.h>

#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Deletes every job row from the queue database, as an operator might by hand.
int64_t DeleteAllJobs(const std::string& queue_db) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(queue_db.c_str(), &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
  sqlite3_busy_timeout(db.get(), 10000);
  EXPECT_EQ(sqlite3_exec(db.get(), "DELETE FROM jobs", nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db.get());
  return sqlite3_changes(db.get());
}

TEST(SelfHealingEndToEnd, QueueDeletedByHandStillEndsWithEveryDocumentComplete) {
  TempDir dir;
  RefineryUp up(dir.path(), {{"REFINERY_TEST_STAGE_DELAY_MS", "20"},
                             {"REFINERY_STAGE_TIMEOUT_S", "2"},
                             {"REFINERY_RECONCILE_INTERVAL_S", "0.5"}});
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  const size_t count = 100;
  for (const auto& doc : LoadScifact(count)) {
    up.Post("/ingest", {{"title", doc.title}, {"content", doc.text}});
  }
  // Wipe the queue twice while documents sit in both stages.
  int64_t deleted = DeleteAllJobs(dir.path() + "/queue.db");
  EXPECT_GT(deleted, 0);
  ASSERT_TRUE(WaitUntil([&] { return up.Get("/stats").at("documents_by_stage").at("embedding") > 0; }, seconds(60)));
  DeleteAllJobs(dir.path() + "/queue.db");
  bool done = WaitUntil(
      [&] { return up.Get("/stats").at("documents_by_stage").value("complete", 0) == static_cast<int>(count); },
      seconds(180), milliseconds(250));
  EXPECT_TRUE(done) << up.Get("/stats").dump(2) << "\n" << up.Log();
  EXPECT_NE(up.Log().find("reconciler: re-enqueued"), std::string::npos);
}

TEST(SelfHealingEndToEnd, ChildrenExitWhenTheSupervisorIsKilled) {
  TempDir dir;
  RefineryUp up(dir.path());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  auto children = ChildPids(up.pid(), "refinery");
  ASSERT_EQ(children.size(), 3u) << up.Log();  // api + one worker per stage
  EXPECT_EQ(ChildPids(up.pid(), " api ").size(), 1u);
  EXPECT_EQ(ChildPids(up.pid(), "worker chunk").size(), 1u);
  EXPECT_EQ(ChildPids(up.pid(), "worker embed").size(), 1u);
  ASSERT_EQ(kill(up.pid(), SIGKILL), 0);
  bool all_gone = WaitUntil(
      [&] {
        for (pid_t pid : children) {
          if (IsAlive(pid)) return false;
        }
        return true;
      },
      seconds(15));
  EXPECT_TRUE(all_gone);
}

}  // namespace
}  // namespace refinery::testing

// Self-healing of the embedded default with real processes: a queue emptied
// by hand, and a supervisor killed with SIGKILL.
#include <signal.h>

#include <cstdlib>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline/stage_chain.h"
#include "support/process_util.h"
#include "support/production_env.h"
#include "support/raw_sqlite.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Deletes every job row from the queue database, as an operator might by hand.
int64_t DeleteAllJobs(const std::string& queue_db) {
  RawSqlite db(queue_db);
  Status deleted = db.Exec("DELETE FROM jobs");
  EXPECT_TRUE(deleted.ok()) << deleted.ToString();
  return db.Changes();
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
  ASSERT_EQ(children.size(), 1 + WorkerStages().size()) << up.Log();  // api + one worker per stage
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

// Issue 3: a Redis that restarts empty mid-ingest loses no document (the
// database is the source of truth; the reconciler re-enqueues).
TEST(SelfHealingEndToEnd, RedisRestartedEmptyMidIngestLosesNoDocument) {
  auto backends = ProductionBackends::Create();
  const char* restart = std::getenv("REFINERY_TEST_REDIS_START");
  if (!backends || restart == nullptr) GTEST_SKIP() << "test servers not configured (scripts/test-services.sh)";
  TempDir dir;
  auto env = backends->Env();
  env.merge(std::map<std::string, std::string>{{"REFINERY_TEST_STAGE_DELAY_MS", "20"},
                                               {"REFINERY_STAGE_TIMEOUT_S", "3"},
                                               {"REFINERY_RECONCILE_INTERVAL_S", "1"}});
  RefineryUp up(dir.path(), env);
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  const size_t count = 300;
  auto docs = LoadScifact(count);
  std::string redis_url = std::getenv("REFINERY_TEST_REDIS_URL");
  bool restarted = false;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i == count / 2 && !restarted) {
      restarted = true;
      // Jobs are queued and in flight now: drop Redis with everything in it.
      ASSERT_EQ(
          std::system(("redis-cli -u " + redis_url + " SHUTDOWN NOSAVE >/dev/null 2>&1; sleep 1; " + restart).c_str()),
          0);
    }
    long status = 0;
    auto reply = up.Post("/ingest", {{"title", docs[i].title}, {"content", docs[i].text}}, &status);
    EXPECT_TRUE(status == 201 || status == 503) << reply.dump();  // 503 only while Redis is away
    if (status == 503) --i;                                       // the client retries, as a client of a 503 should
  }
  bool done = WaitUntil(
      [&] { return up.Get("/stats").at("documents_by_stage").value("complete", 0) == static_cast<int>(count); },
      seconds(240), milliseconds(250));
  EXPECT_TRUE(done) << up.Get("/stats").dump(2) << "\n" << up.Log();
}

}  // namespace
}  // namespace refinery::testing

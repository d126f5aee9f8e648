// Issue 9: a poison document -- one whose chunk worker dies every time it
// holds the job -- ends in `error` after max_attempts deliveries, because
// the store counts each attempt when a worker takes the job. (Before, the
// queue dead-lettered the job at lease time without the store hearing of
// it, and the reconciler revived it with its attempts reset: the document
// looped forever.) It stays in `error` (no revival), and a retry then takes
// it to `complete`. Run with real processes under `refinery up`, on the
// embedded default and on PostgreSQL + Redis + S3.
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "support/process_util.h"
#include "support/production_env.h"
#include "support/refinery_process.h"
#include "support/test_support.h"
#include "support/worker_killer.h"

namespace refinery::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// Two attempts, then the store gives up on the document. The stage is slow
// (4 s) so a kill can catch the worker holding the job; a lease expires 1 s
// after its worker died; the reconciler looks every second at documents
// idle for 3 s, so a revived job would show within the 4 s the test watches.
std::map<std::string, std::string> PoisonSettings() {
  return {{"REFINERY_MAX_ATTEMPTS", "2"},
          {"REFINERY_TEST_STAGE_DELAY_MS", "4000"},
          {"REFINERY_VISIBILITY_TIMEOUT_S", "1"},
          {"REFINERY_STAGE_TIMEOUT_S", "3"},
          {"REFINERY_RECONCILE_INTERVAL_S", "1"}};
}

json Document(const RefineryUp& up, int64_t id) { return up.Get("/documents/" + std::to_string(id)); }

std::string StageOf(const RefineryUp& up, int64_t id) { return Document(up, id).value("stage", ""); }

const json& ChunkQueue(const json& stats) { return stats.at("queue_depths").at("chunk"); }

int64_t ChunkJobsAlive(const RefineryUp& up) {
  json stats = up.Get("/stats");
  const json& chunk = ChunkQueue(stats);
  return chunk.at("ready").get<int64_t>() + chunk.at("in_flight").get<int64_t>() + chunk.at("delayed").get<int64_t>();
}

int CountLog(const json& doc, const std::string& status) {
  int count = 0;
  for (const json& entry : doc.value("processing_log", json::array())) {
    if (entry.value("status", "") == status) ++count;
  }
  return count;
}

// The pid of the chunk worker that provably holds the job now, 0 if none:
// its heartbeat file names a live child of the supervisor counting a lease
// (a killed worker's stale file names a pid that is gone), and the queue
// counts the job in flight. `not_pid` excludes a worker killed already.
pid_t ChunkWorkerHoldingTheJob(const RefineryUp& up, const std::string& heartbeat, pid_t not_pid) {
  auto file = ReadHeartbeatFile(heartbeat);
  if (!file || file->in_flight < 1 || file->pid == not_pid) return 0;
  if (!IsAlive(file->pid) || ParentPid(file->pid) != up.pid()) return 0;
  if (ChunkQueue(up.Get("/stats")).at("in_flight").get<int64_t>() != 1) return 0;
  return file->pid;
}

// Waits for a chunk worker other than `previous` to hold the job and for
// the store to count that attempt (the `attempt`th: a worker leases the job
// before it records the attempt, and a kill between the two would count
// none), kills it with SIGKILL and waits until it is gone. Returns its pid;
// 0 when no worker held the job in time or it would not die.
pid_t KillChunkWorkerHoldingTheJob(const RefineryUp& up, const std::string& heartbeat, pid_t previous, int64_t id,
                                   int attempt) {
  pid_t holder = 0;
  if (!WaitUntil(
          [&] {
            holder = ChunkWorkerHoldingTheJob(up, heartbeat, previous);
            return holder != 0 && Document(up, id).value("attempts", 0) >= attempt;
          },
          seconds(30))) {
    return 0;
  }
  // The signal once more right before the kill: the stage takes 4 s, so
  // the job cannot have been finished in between.
  auto again = ReadHeartbeatFile(heartbeat);
  if (!again || again->pid != holder || again->in_flight < 1) return 0;
  if (::kill(holder, SIGKILL) != 0) return 0;
  if (!WaitUntil([&] { return !IsAlive(holder); }, seconds(10))) return 0;
  return holder;
}

// The whole scenario, for either backend; `env` is the backends' variables
// (empty for the embedded default).
void PoisonDocumentEndsInErrorAndRetryCompletesIt(const std::string& data_dir, std::map<std::string, std::string> env) {
  env.merge(PoisonSettings());
  RefineryUp up(data_dir, env);
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  long status = 0;
  json ingested =
      up.Post("/ingest", {{"title", "Poison"}, {"content", "A document whose worker dies every time."}}, &status);
  ASSERT_EQ(status, 201) << ingested.dump();
  const int64_t id = ingested.at("id").get<int64_t>();

  // Both attempts allowed die with their worker; the supervisor restarts it
  // by itself, and the third delivery finds the attempts used up.
  const std::string heartbeat = data_dir + "/run/worker-chunk.heartbeat";
  const pid_t first = KillChunkWorkerHoldingTheJob(up, heartbeat, 0, id, 1);
  ASSERT_NE(first, 0) << "no chunk worker held the job\n" << Document(up, id).dump(2) << "\n" << up.Log();
  const pid_t second = KillChunkWorkerHoldingTheJob(up, heartbeat, first, id, 2);
  ASSERT_NE(second, 0) << "the restarted chunk worker never held the job again\n"
                       << Document(up, id).dump(2) << "\n"
                       << up.Log();

  // Waits for error, but stops early once the document has left chunking
  // otherwise: then its dead job was revived (the bug) and error cannot come.
  std::string stage;
  WaitUntil(
      [&] {
        stage = StageOf(up, id);
        return stage == "error" || stage == "embedding" || stage == "complete";
      },
      seconds(60), milliseconds(100));
  json doc = Document(up, id);
  ASSERT_EQ(stage, "error") << "the dead-lettered document never ended in error\n" << doc.dump(2) << "\n" << up.Log();
  ASSERT_TRUE(doc["error_message"].is_string()) << doc.dump(2);
  EXPECT_NE(doc["error_message"].get<std::string>().find("2 attempts"), std::string::npos) << doc.dump(2);

  EXPECT_EQ(ChunkQueue(up.Get("/stats")).at("dead").get<int64_t>(), 1) << up.Get("/stats").dump(2);
  const std::string metrics = up.GetText("/metrics");
  EXPECT_TRUE(HasLine(metrics, R"(refinery_queue_jobs{stage="chunk",state="dead"} 1)")) << metrics;
  EXPECT_TRUE(HasLine(metrics, R"(refinery_stage_jobs_total{stage="chunk",outcome="dead_lettered"} 1)")) << metrics;

  // Over four reconcile intervals nothing revives it.
  const int requeued_before = CountLog(doc, "requeued");
  const auto watch_until = Clock::now() + seconds(4);
  while (Clock::now() < watch_until) {
    ASSERT_EQ(StageOf(up, id), "error") << "revived after ending in error\n"
                                        << Document(up, id).dump(2) << "\n"
                                        << up.Log();
    std::this_thread::sleep_for(milliseconds(100));
  }
  doc = Document(up, id);
  EXPECT_EQ(ChunkJobsAlive(up), 0) << up.Get("/stats").dump(2);
  EXPECT_EQ(CountLog(doc, "requeued"), requeued_before) << "the reconciler re-enqueued it\n" << doc.dump(2);

  // An operator's retry is the way back; no kills now.
  json retried = up.Post("/documents/" + std::to_string(id) + "/retry", json::object(), &status);
  ASSERT_EQ(status, 202) << retried.dump();
  EXPECT_TRUE(WaitUntil([&] { return StageOf(up, id) == "complete"; }, seconds(60), milliseconds(250)))
      << Document(up, id).dump(2) << "\n"
      << up.Log();
}

TEST(PoisonDocumentEndToEnd, EmbeddedDeadLetteredDocumentEndsInErrorAndRetryCompletesIt) {
  TempDir dir;
  PoisonDocumentEndsInErrorAndRetryCompletesIt(dir.path(), {});
}

TEST(PoisonDocumentEndToEnd, ProductionDeadLetteredDocumentEndsInErrorAndRetryCompletesIt) {
  auto backends = ProductionBackends::Create();
  if (!backends) GTEST_SKIP() << "REFINERY_TEST_* servers not configured (scripts/test-services.sh)";
  TempDir dir;
  PoisonDocumentEndsInErrorAndRetryCompletesIt(dir.path(), backends->Env());
}

}  // namespace
}  // namespace refinery::testing

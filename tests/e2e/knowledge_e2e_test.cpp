// The knowledge stages through `refinery up`: a resolve worker killed with
// SIGKILL while it holds a job leaves every count exact once the supervisor
// has restarted it and the job was redelivered.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(KnowledgeEndToEnd, ResolveWorkerKilledMidJobLeavesCountsExact) {
  TempDir dir;
  // Slow stages keep a resolve job in flight long enough to be hit.
  RefineryUp up(dir.path(), {{"REFINERY_TEST_STAGE_DELAY_MS", "400"}, {"REFINERY_VISIBILITY_TIMEOUT_S", "2"}});
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  const int count = 8;
  for (int i = 0; i < count; ++i) {
    up.Post("/ingest", {{"title", "doc " + std::to_string(i)},
                        {"content", "In a randomized trial, patient " + std::to_string(i) +
                                        " was scanned with diffusion tensor imaging (DTI) and magnetic resonance "
                                        "spectroscopy (MRS); we measured significant changes and analysed the data "
                                        "with regression models."}});
  }
  ASSERT_TRUE(WaitUntil([&] { return up.Get("/stats").at("queue_depths").at("resolve").at("in_flight") > 0; },
                        seconds(60), milliseconds(20)))
      << up.Get("/stats").dump(2);
  const pid_t worker = up.ServicePid("worker-resolve");
  ASSERT_GT(worker, 0);
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  bool done = WaitUntil([&] { return up.Get("/stats").at("documents_by_stage").value("complete", 0) == count; },
                        seconds(120), milliseconds(250));
  ASSERT_TRUE(done) << up.Get("/stats").dump(2) << "\n" << up.Log();
  EXPECT_NE(up.ServicePid("worker-resolve"), worker);  // restarted
  nlohmann::json list = up.Get("/entities?type=acronym");
  std::map<std::string, int64_t> sources;
  for (const auto& e : list["entities"]) sources[e["key"]] = e["source_count"];
  EXPECT_EQ(sources, (std::map<std::string, int64_t>{{"DTI", count}, {"MRS", count}})) << list.dump(2);
  EXPECT_EQ(up.Get("/stats").at("documents_by_stage").value("error", 0), 0);
}

}  // namespace
}  // namespace refinery::testing

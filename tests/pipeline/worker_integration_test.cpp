// The worker's threaded run loop against the real embedded backends: many
// consumer threads, the reconciler thread, and a stop request.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
#include "support/process_util.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

TEST(WorkerRunLoop, ProcessesEverythingAndStopsOnRequest) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path();
  auto opened = OpenServices(config, OpenMode::kServe);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Services services = std::move(opened).value();
  for (int i = 0; i < 20; ++i) {
    IngestRequest request;
    request.content = "Document number " + std::to_string(i) + " of the loop test.";
    ASSERT_TRUE(IngestDocument(services, request).ok());
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;  // one per stage of the chain
  for (const StageDef& stage : StageChain()) workers.emplace_back([&, &stage = stage] { Worker(services, stage).Run(stop); });
  // Hang detection only.
  bool done = testing::WaitUntil(
      [&] { return services.store->telemetry().Stats()->documents_by_state["complete"] == 20; }, milliseconds(60000));
  stop = true;
  for (auto& worker : workers) worker.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(services.queue->Depth("chunk")->in_flight, 0);
  EXPECT_EQ(services.queue->Depth("embed")->ready, 0);
}

}  // namespace
}  // namespace refinery

// The lease keeper against the real embedded queue: a held job stays
// leased past several visibility timeouts, and is delivered again once its
// hold is dropped and one more timeout has passed.
#include "pipeline/lease_keeper.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "queue/queue.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

constexpr double kVisibilityS = 1.0;  // beats every 0.33 s: 0.67 s of slack per beat on a loaded machine

std::optional<Job> TryLease(Queue& queue) {
  auto job = queue.Lease("chunk", kVisibilityS, milliseconds(0));
  EXPECT_TRUE(job.ok()) << job.status().ToString();
  return job.ok() ? *job : std::nullopt;
}

TEST(LeaseKeeperTest, HeldJobStaysLeasedAndIsRedeliveredOnceDropped) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path();
  auto queue = OpenQueue(config);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  ASSERT_TRUE((*queue)->Enqueue("chunk", 7).ok());
  std::optional<Job> job = TryLease(**queue);
  ASSERT_TRUE(job.has_value());

  LeaseKeeper keeper(**queue, kVisibilityS);
  {
    LeaseKeeper::Hold hold = keeper.Keep(*job);
    std::this_thread::sleep_for(std::chrono::duration<double>(3 * kVisibilityS));
    EXPECT_FALSE(TryLease(**queue).has_value()) << "a held job was delivered again";
  }
  // Dropped: the lease runs out and the job is due again (within a hang bound).
  std::optional<Job> again;
  for (int i = 0; i < 100 && !again; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    again = TryLease(**queue);
  }
  ASSERT_TRUE(again.has_value()) << "a dropped job was never redelivered";
  EXPECT_EQ(again->document_id, 7);
  EXPECT_NE(again->lease_token, job->lease_token);
}

}  // namespace
}  // namespace refinery

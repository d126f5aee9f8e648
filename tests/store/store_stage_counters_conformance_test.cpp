// Store conformance, part 3: the stage counters every AppendLog keeps
// (what /metrics reports as stage throughput, durations, retries, dead
// letters and reconciler re-enqueues). Every backend in StoreBackends().
#include <latch>
#include <limits>
#include <map>
#include <thread>

#include "store_backends.h"

namespace refinery {
namespace {

// Index into StageCounter::buckets of the bucket whose bound is `le`
// (+infinity: the overflow bucket).
size_t BucketOf(double le) {
  const auto& bounds = StageDurationBuckets();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (bounds[i] == le) return i;
  }
  return bounds.size();
}

// A counter's buckets as {bound index: count}, zeros left out.
std::map<size_t, int64_t> NonZero(const StageCounter& c) {
  std::map<size_t, int64_t> out;
  for (size_t i = 0; i < c.buckets.size(); ++i) {
    if (c.buckets[i] != 0) out[i] = c.buckets[i];
  }
  return out;
}

class StoreStageCounters : public StoreConformance {
 protected:
  Status Append(int64_t doc, const std::string& stage, const std::string& status, double duration_ms) {
    return store().telemetry().AppendLog({0, doc, stage, status, "m", duration_ms, 0});
  }

  // The counter of (stage, status); fails the test when there is none.
  StageCounter Counter(const std::string& stage, const std::string& status) {
    auto counters = store().telemetry().StageCounters();
    EXPECT_TRUE(counters.ok()) << counters.status().ToString();
    if (!counters.ok()) return {};
    for (const StageCounter& c : *counters) {
      if (c.stage == stage && c.status == status) return c;
    }
    ADD_FAILURE() << "no counter for " << stage << "/" << status;
    return {};
  }
};

TEST_P(StoreStageCounters, CountEveryAppendByStageStatusAndDurationBucket) {
  auto empty = store().telemetry().StageCounters();
  ASSERT_STORE_OK(empty);
  EXPECT_TRUE(empty->empty());
  const int64_t id = Insert("counted");
  // 5 ms sits exactly on a bound: Prometheus buckets are "<= le".
  for (double ms : {3.0, 5.0, 7.0, 1500.0, 400000.0}) ASSERT_STORE_OK(Append(id, "chunk", kLogCompleted, ms));
  ASSERT_STORE_OK(Append(id, "chunk", kLogFailed, 20));
  ASSERT_STORE_OK(Append(id, "embed", kLogRequeued, 0));

  auto counters = store().telemetry().StageCounters();
  ASSERT_STORE_OK(counters);
  ASSERT_EQ(counters->size(), 3u);
  EXPECT_EQ((*counters)[0].stage + "/" + (*counters)[0].status, "chunk/completed");
  EXPECT_EQ((*counters)[1].stage + "/" + (*counters)[1].status, "chunk/failed");
  EXPECT_EQ((*counters)[2].stage + "/" + (*counters)[2].status, "embed/requeued");

  const StageCounter& done = (*counters)[0];
  EXPECT_EQ(done.count, 5);
  EXPECT_NEAR(done.duration_sum_s, 401.515, 1e-9);
  ASSERT_EQ(done.buckets.size(), StageDurationBuckets().size() + 1);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(NonZero(done), (std::map<size_t, int64_t>{
                               {BucketOf(0.005), 2}, {BucketOf(0.01), 1}, {BucketOf(2.5), 1}, {BucketOf(inf), 1}}));
  EXPECT_EQ((*counters)[1].count, 1);
  EXPECT_EQ(NonZero((*counters)[1]), (std::map<size_t, int64_t>{{BucketOf(0.025), 1}}));
  EXPECT_EQ((*counters)[2].count, 1);
  EXPECT_DOUBLE_EQ((*counters)[2].duration_sum_s, 0);
}

TEST_P(StoreStageCounters, OutliveDeletedDocumentsAndCountAppendsForMissingOnes) {
  const int64_t id = Insert("short-lived");
  ASSERT_STORE_OK(Append(id, "chunk", kLogRetried, 40));
  ASSERT_STORE_OK(store().documents().Delete(id));
  EXPECT_EQ(Counter("chunk", kLogRetried).count, 1);  // not deleted with the document

  // The job of a document deleted meanwhile still ran: counted, not logged.
  EXPECT_STORE_CODE(Append(id, "chunk", kLogRetried, 60), kNotFound);
  const StageCounter after = Counter("chunk", kLogRetried);
  EXPECT_EQ(after.count, 2);
  EXPECT_NEAR(after.duration_sum_s, 0.1, 1e-9);
  EXPECT_EQ(NonZero(after), (std::map<size_t, int64_t>{{BucketOf(0.05), 1}, {BucketOf(0.1), 1}}));
  EXPECT_STORE_CODE(store().telemetry().GetLog(id), kNotFound);
}

TEST_P(StoreStageCounters, ConcurrentAppendsAreEachCountedExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  const int64_t id = Insert("contended-counter");
  std::latch start(kThreads);
  std::vector<Status> failures(kThreads, Status::Ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread && failures[t].ok(); ++i) {
        // Most on one hot row (same stage, status and bucket), some beside it.
        failures[t] = Append(id, "embed", kLogCompleted, i % 4 == 0 ? 2000 : 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Status& s : failures) ASSERT_STORE_OK(s);

  const StageCounter c = Counter("embed", kLogCompleted);
  EXPECT_EQ(c.count, kThreads * kPerThread);
  EXPECT_EQ(NonZero(c), (std::map<size_t, int64_t>{{BucketOf(0.005), kThreads * 30}, {BucketOf(2.5), kThreads * 10}}));
  EXPECT_NEAR(c.duration_sum_s, kThreads * (30 * 0.001 + 10 * 2.0), 1e-6);
  auto log = store().telemetry().GetLog(id);
  ASSERT_STORE_OK(log);
  EXPECT_EQ(log->size(), static_cast<size_t>(kThreads * kPerThread));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreStageCounters, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

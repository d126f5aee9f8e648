// The Queue contract, run against every backend. A backend joins by adding
// one entry to Backends() (e.g. Redis, skipped when no server is set).
//
// Timing: waits are generous upper bounds that only catch hangs; the short
// visibilities (0.2-0.3 s) are what the tests exercise.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "queue/queue.h"
#include "queue/redis_queue.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using namespace std::chrono_literals;

#define EXPECT_OK(expr)                              \
  do {                                               \
    ::refinery::Status status_ = (expr);             \
    EXPECT_TRUE(status_.ok()) << status_.ToString(); \
  } while (0)

struct Backend {
  std::string name;
  // Opens a queue on empty storage. `config` carries a fresh data_dir; a
  // server backend fills in its URL and may purge first.
  std::function<Result<std::unique_ptr<Queue>>(Config config)> open;
  // Why this backend cannot run here (no server configured); empty: it can.
  std::function<std::string()> unavailable = [] { return std::string(); };
};

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

std::string RedisUrl() {
  const char* url = std::getenv("REFINERY_TEST_REDIS_URL");
  return url == nullptr ? std::string() : std::string(url);
}

std::vector<Backend> Backends() {
  Backend sqlite{"sqlite", [](Config config) { return OpenQueue(config); }};
  // The test's fresh data_dir names its keys: every handle of one test shares
  // them, and no two tests ever do (so tests may run in parallel, no FLUSHDB).
  Backend redis{"redis", [](Config config) -> Result<std::unique_ptr<Queue>> {
                  config.redis_url = RedisUrl();
                  RedisQueueOptions options;
                  options.key_prefix = "refinery-test:" + config.data_dir + ":";
                  Result<std::unique_ptr<RedisQueue>> queue = RedisQueue::Open(config, options);
                  if (!queue.ok()) return queue.status();
                  return std::unique_ptr<Queue>(std::move(queue).value());
                }};
  redis.unavailable = [] {
    return RedisUrl().empty() ? std::string("REFINERY_TEST_REDIS_URL is not set") : std::string();
  };
  return {sqlite, redis};
}

using DepthTuple = std::tuple<int64_t, int64_t, int64_t>;  // ready, in flight, delayed

class QueueConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (std::string why = GetParam().unavailable(); !why.empty()) GTEST_SKIP() << why;
    queue_ = Open();
    ASSERT_NE(queue_, nullptr);
  }

  // A server backend's storage outlives the test: leave it clean.
  void TearDown() override {
    if (queue_ != nullptr) {
      EXPECT_TRUE(queue_->Purge().ok());
    }
  }

  // Another handle on the same storage (another consumer).
  std::unique_ptr<Queue> Open() {
    Config config;
    config.data_dir = dir_.path() + "/data";
    Result<std::unique_ptr<Queue>> queue = GetParam().open(config);
    if (!queue.ok()) {
      ADD_FAILURE() << queue.status().ToString();
      return nullptr;
    }
    return std::move(queue).value();
  }

  std::optional<Job> Lease(const std::string& stage, double visibility_s, std::chrono::milliseconds wait,
                           Queue* queue = nullptr) {
    Result<std::optional<Job>> job = (queue ? queue : queue_.get())->Lease(stage, visibility_s, wait);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? *job : std::nullopt;
  }

  DepthTuple Depth(const std::string& stage) {
    Result<QueueDepth> depth = queue_->Depth(stage);
    EXPECT_TRUE(depth.ok()) << depth.status().ToString();
    if (!depth.ok()) return {-1, -1, -1};
    return {depth->ready, depth->in_flight, depth->delayed};
  }

  bool HasLiveJob(const std::string& stage, int64_t document_id) {
    Result<bool> live = queue_->HasLiveJob(stage, document_id);
    EXPECT_TRUE(live.ok()) << live.status().ToString();
    return live.ok() && *live;
  }

  testing::TempDir dir_;
  std::unique_ptr<Queue> queue_;
};

TEST_P(QueueConformanceTest, EnqueueLeaseAck) {
  EXPECT_OK(queue_->Enqueue("chunk", 7));
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 0));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->stage, "chunk");
  EXPECT_EQ(job->document_id, 7);
  EXPECT_FALSE(job->lease_token.empty());
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 1, 0));
  EXPECT_OK(queue_->Ack(*job));
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 0));
  EXPECT_FALSE(Lease("chunk", 30, 0ms).has_value());
}

TEST_P(QueueConformanceTest, AckAndEnqueueHandsTheDocumentToTheNextStage) {
  EXPECT_OK(queue_->Enqueue("chunk", 7));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_OK(queue_->AckAndEnqueue(*job, "embed"));
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 0));
  EXPECT_EQ(Depth("embed"), DepthTuple(1, 0, 0));
  std::optional<Job> next = Lease("embed", 30, 5s);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->document_id, 7);

  // A lost lease: LeaseLost, the current holder untouched, the next stage's job there anyway.
  EXPECT_OK(queue_->Enqueue("chunk", 8));
  std::optional<Job> old = Lease("chunk", 0.2, 5s);
  ASSERT_TRUE(old.has_value());
  std::optional<Job> current = Lease("chunk", 30, 10s);
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(queue_->AckAndEnqueue(*old, "embed").code(), StatusCode::kLeaseLost);
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 1, 0));
  EXPECT_TRUE(HasLiveJob("embed", 8));
  // The next stage's job in flight is left alone, as Enqueue leaves it.
  std::optional<Job> leased = Lease("embed", 30, 5s);
  ASSERT_TRUE(leased.has_value());
  EXPECT_OK(queue_->AckAndEnqueue(*current, "embed"));
  EXPECT_EQ(Depth("embed"), DepthTuple(0, 2, 0));
  EXPECT_EQ(queue_->AckAndEnqueue(*current, "").code(), StatusCode::kInvalidArgument);
}

TEST_P(QueueConformanceTest, LeasesOldestFirst) {
  for (int64_t doc : {3, 1, 2}) EXPECT_OK(queue_->Enqueue("chunk", doc));
  for (int64_t doc : {3, 1, 2}) {
    std::optional<Job> job = Lease("chunk", 30, 5s);
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->document_id, doc);
  }
}

TEST_P(QueueConformanceTest, EnqueueIsIdempotentAndEarlierTimeWins) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_OK(queue_->Enqueue("chunk", 1, 3600));  // later: ignored
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 0));

  EXPECT_OK(queue_->Enqueue("chunk", 2, 3600));
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 1));
  EXPECT_OK(queue_->Enqueue("chunk", 2));  // earlier: wins
  EXPECT_EQ(Depth("chunk"), DepthTuple(2, 0, 0));
}

TEST_P(QueueConformanceTest, EnqueueLeavesInFlightJobAlone) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 1, 0));
  EXPECT_OK(queue_->Ack(*job));
}

TEST_P(QueueConformanceTest, ExpiredLeaseIsRedeliveredWithANewToken) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> first = Lease("chunk", 0.2, 5s);
  ASSERT_TRUE(first.has_value());
  std::optional<Job> second = Lease("chunk", 30, 10s);  // after ~0.2 s
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->document_id, 1);
  EXPECT_NE(second->lease_token, first->lease_token);
  EXPECT_OK(queue_->Ack(*second));
}

// The queue gives up on nothing (the store owns attempts): a job whose
// consumers keep dying is redelivered every time its lease expires.
TEST_P(QueueConformanceTest, ExpiredLeasesAreRedeliveredWithoutLimit) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  for (int delivery = 1; delivery <= 8; ++delivery) {
    std::optional<Job> job = Lease("chunk", 0.05, 10s);  // never acked
    ASSERT_TRUE(job.has_value()) << "delivery " << delivery;
    EXPECT_EQ(job->document_id, 1);
  }
  std::optional<Job> last = Lease("chunk", 30, 10s);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 1, 0));
  EXPECT_OK(queue_->Ack(*last));
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 0));
}

TEST_P(QueueConformanceTest, HeartbeatPreventsRedelivery) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  // Visibility 1 s, beats every 200 ms for 3 s: without the beats the lease
  // would expire three times over; with them a loaded machine has 800 ms slack.
  std::optional<Job> job = Lease("chunk", 1.0, 5s);
  ASSERT_TRUE(job.has_value());
  std::atomic<int> failed_beats{0};
  std::thread beater([&] {
    for (int i = 0; i < 15; ++i) {
      std::this_thread::sleep_for(200ms);
      if (!queue_->Heartbeat(*job, 1.0).ok()) ++failed_beats;
    }
  });
  std::unique_ptr<Queue> other = Open();  // another consumer, polling all along
  ASSERT_NE(other, nullptr);
  std::optional<Job> stolen = Lease("chunk", 1.0, 2800ms, other.get());
  beater.join();
  EXPECT_FALSE(stolen.has_value());
  EXPECT_EQ(failed_beats.load(), 0);
  EXPECT_OK(queue_->Ack(*job));
}

TEST_P(QueueConformanceTest, LostLeaseRejectsEveryLeaseOperation) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> old = Lease("chunk", 0.2, 5s);
  ASSERT_TRUE(old.has_value());
  std::optional<Job> current = Lease("chunk", 30, 10s);
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(queue_->Ack(*old).code(), StatusCode::kLeaseLost);
  EXPECT_EQ(queue_->Heartbeat(*old, 30).code(), StatusCode::kLeaseLost);
  EXPECT_EQ(queue_->Release(*old).code(), StatusCode::kLeaseLost);
  EXPECT_EQ(queue_->Release(*old, 60).code(), StatusCode::kLeaseLost);
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 1, 0));  // the current holder is untouched
  EXPECT_OK(queue_->Ack(*current));
  EXPECT_EQ(queue_->Ack(*current).code(), StatusCode::kLeaseLost);  // acked twice
}

TEST_P(QueueConformanceTest, ReleaseWithADelayMakesTheJobDelayedThenReady) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_OK(queue_->Release(*job, 0.3));
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 1));
  EXPECT_TRUE(HasLiveJob("chunk", 1));
  EXPECT_FALSE(Lease("chunk", 30, 0ms).has_value());
  std::optional<Job> retry = Lease("chunk", 30, 10s);  // once the delay passed
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->document_id, 1);
  EXPECT_EQ(queue_->Ack(*job).code(), StatusCode::kLeaseLost);  // released leases are gone
  EXPECT_OK(queue_->Ack(*retry));
}

TEST_P(QueueConformanceTest, ReleaseRejectsANegativeOrEndlessDelay) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(queue_->Release(*job, -1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(queue_->Release(*job, std::numeric_limits<double>::infinity()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 1, 0));  // still ours
  EXPECT_OK(queue_->Ack(*job));
}

TEST_P(QueueConformanceTest, EnqueueMovesADelayedJobEarlier) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_OK(queue_->Release(*job, 3600));  // a retry far away
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 1));
  EXPECT_OK(queue_->Enqueue("chunk", 1));  // e.g. an operator's retry: now wins
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 0));
  std::optional<Job> again = Lease("chunk", 30, 5s);
  ASSERT_TRUE(again.has_value());
  EXPECT_OK(queue_->Ack(*again));
}

TEST_P(QueueConformanceTest, ReleaseMakesJobReadyAtOnce) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_OK(queue_->Release(*job));
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 0));
  std::optional<Job> again = Lease("chunk", 30, 0ms);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(queue_->Ack(*job).code(), StatusCode::kLeaseLost);  // released leases are gone
  EXPECT_OK(queue_->Ack(*again));
}

TEST_P(QueueConformanceTest, ConcurrentConsumersGetEachJobExactlyOnce) {
  constexpr int kJobs = 200;
  constexpr int kThreads = 8;
  for (int doc = 1; doc <= kJobs; ++doc) EXPECT_OK(queue_->Enqueue("embed", doc));
  std::mutex mu;
  std::set<int64_t> live;             // leased, not yet acked
  std::map<int64_t, int> deliveries;  // document -> times delivered
  int overlaps = 0;
  std::atomic<int> acked{0};
  const auto deadline = std::chrono::steady_clock::now() + 120s;  // hang guard only
  auto consume = [&] {
    while (acked.load() < kJobs && std::chrono::steady_clock::now() < deadline) {
      std::optional<Job> job = Lease("embed", 60, 100ms);
      if (!job) continue;
      {
        std::lock_guard lock(mu);
        if (!live.insert(job->document_id).second) ++overlaps;
        ++deliveries[job->document_id];
      }
      EXPECT_OK(queue_->Ack(*job));
      {
        std::lock_guard lock(mu);  // live until acked
        live.erase(job->document_id);
      }
      ++acked;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(consume);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(acked.load(), kJobs);
  EXPECT_EQ(deliveries.size(), static_cast<size_t>(kJobs));
  for (const auto& [doc, count] : deliveries) EXPECT_EQ(count, 1) << "document " << doc;
  EXPECT_EQ(Depth("embed"), DepthTuple(0, 0, 0));
}

TEST_P(QueueConformanceTest, DepthCountsEachState) {
  EXPECT_OK(queue_->Enqueue("chunk", 4));
  std::optional<Job> retried = Lease("chunk", 30, 5s);
  ASSERT_TRUE(retried.has_value());
  EXPECT_OK(queue_->Release(*retried, 3600));
  EXPECT_OK(queue_->Enqueue("chunk", 3));
  std::optional<Job> held = Lease("chunk", 30, 5s);
  ASSERT_TRUE(held.has_value());
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_OK(queue_->Enqueue("chunk", 2, 3600));
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 1, 2));
  EXPECT_EQ(Depth("embed"), DepthTuple(0, 0, 0));

  // Depths answers for several stages at once, in the order asked.
  EXPECT_OK(queue_->Enqueue("embed", 9));
  Result<std::vector<QueueDepth>> both = queue_->Depths({"embed", "chunk"});
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  ASSERT_EQ(both->size(), 2u);
  const QueueDepth& embed = (*both)[0];
  const QueueDepth& chunk = (*both)[1];
  EXPECT_EQ(DepthTuple(embed.ready, embed.in_flight, embed.delayed), DepthTuple(1, 0, 0));
  EXPECT_EQ(DepthTuple(chunk.ready, chunk.in_flight, chunk.delayed), DepthTuple(1, 1, 2));
  EXPECT_FALSE(queue_->Depths({"chunk", ""}).ok());  // an empty stage name is refused
}

TEST_P(QueueConformanceTest, HasLiveJobTracksTheJobsLife) {
  EXPECT_FALSE(HasLiveJob("chunk", 1));
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_TRUE(HasLiveJob("chunk", 1));
  EXPECT_FALSE(HasLiveJob("embed", 1));
  EXPECT_FALSE(HasLiveJob("chunk", 2));
  std::optional<Job> job = Lease("chunk", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_TRUE(HasLiveJob("chunk", 1));  // in flight
  EXPECT_OK(queue_->Ack(*job));
  EXPECT_FALSE(HasLiveJob("chunk", 1));
  EXPECT_OK(queue_->Enqueue("chunk", 1, 3600));
  EXPECT_TRUE(HasLiveJob("chunk", 1));  // delayed
}

TEST_P(QueueConformanceTest, PurgeRemovesEverything) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_OK(queue_->Enqueue("chunk", 2, 3600));
  EXPECT_OK(queue_->Enqueue("embed", 1));
  std::optional<Job> job = Lease("embed", 30, 5s);
  ASSERT_TRUE(job.has_value());
  EXPECT_OK(queue_->Purge());
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 0));
  EXPECT_EQ(Depth("embed"), DepthTuple(0, 0, 0));
  EXPECT_FALSE(HasLiveJob("chunk", 1));
  EXPECT_EQ(queue_->Ack(*job).code(), StatusCode::kLeaseLost);
}

TEST_P(QueueConformanceTest, StagesAreIndependent) {
  EXPECT_OK(queue_->Enqueue("chunk", 1));
  EXPECT_OK(queue_->Enqueue("embed", 1));
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 0));
  EXPECT_EQ(Depth("embed"), DepthTuple(1, 0, 0));
  std::optional<Job> embed = Lease("embed", 30, 5s);
  ASSERT_TRUE(embed.has_value());
  EXPECT_EQ(embed->stage, "embed");
  EXPECT_EQ(Depth("chunk"), DepthTuple(1, 0, 0));
  EXPECT_FALSE(Lease("evaluate", 30, 0ms).has_value());
  std::optional<Job> chunk = Lease("chunk", 30, 5s);
  ASSERT_TRUE(chunk.has_value());
  EXPECT_EQ(chunk->stage, "chunk");
  EXPECT_NE(chunk->id, embed->id);
  EXPECT_OK(queue_->Ack(*embed));
  EXPECT_OK(queue_->Ack(*chunk));
}

TEST_P(QueueConformanceTest, Ping) { EXPECT_OK(queue_->Ping()); }

TEST_P(QueueConformanceTest, CheckWritableLeavesNoJobBehind) {
  EXPECT_OK(queue_->CheckWritable());
  EXPECT_OK(queue_->CheckWritable());
  EXPECT_EQ(Depth("chunk"), DepthTuple(0, 0, 0));
  EXPECT_FALSE(Lease("chunk", 30, 0ms).has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace refinery

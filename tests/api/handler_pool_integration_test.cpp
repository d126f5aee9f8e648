// The handler pool on real threads: jobs run at most `threads` at a time,
// a job that waits past max_wait is shed instead of run (exactly one of the
// two, every time), handler threads run at the pool's niceness, and Stop
// drops what is still queued.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "api/handler_pool.h"

namespace refinery::api {
namespace {

using std::chrono::milliseconds;

// Holds handler threads until opened.
class Latch {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Until `n` threads wait (or 10 s: a hang, not a timing assertion).
  bool AwaitWaiting(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(HandlerPool, RunsJobsAndShedsWhatWaitsTooLong) {
  HandlerPool pool({/*threads=*/1, /*nice=*/0, /*max_wait=*/milliseconds(200)});
  Latch latch;
  std::promise<void> first_done;
  pool.Submit(
      [&] {
        latch.Wait();
        first_done.set_value();
      },
      [] { ADD_FAILURE() << "the first job was shed"; });
  ASSERT_TRUE(latch.AwaitWaiting(1));

  // The only thread is busy: this one waits, then is shed.
  std::promise<std::string> second;
  pool.Submit([&] { second.set_value("ran"); }, [&] { second.set_value("shed"); });
  auto outcome = second.get_future();
  ASSERT_EQ(outcome.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(outcome.get(), "shed");
  EXPECT_EQ(pool.shed_total(), 1);

  latch.Open();
  first_done.get_future().wait();
  // A free thread takes the next job in time.
  std::promise<std::string> third;
  pool.Submit([&] { third.set_value("ran"); }, [&] { third.set_value("shed"); });
  EXPECT_EQ(third.get_future().get(), "ran");
  EXPECT_EQ(pool.shed_total(), 1);
}

TEST(HandlerPool, ExactlyOneOfWorkAndShedRunsForEveryJob) {
  HandlerPool pool({/*threads=*/2, /*nice=*/0, /*max_wait=*/milliseconds(5)});
  constexpr int kJobs = 2000;
  std::atomic<int> ran{0}, shed{0};
  std::mutex mutex;
  std::condition_variable done;
  int finished = 0;
  auto finish = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    if (++finished == kJobs) done.notify_all();
  };
  for (int i = 0; i < kJobs; ++i) {
    pool.Submit(
        [&] {
          ++ran;
          volatile int spin = 0;
          for (int k = 0; k < 20000; ++k) spin = spin + k;  // enough work that some jobs expire
          finish();
        },
        [&] {
          ++shed;
          finish();
        });
  }
  std::unique_lock<std::mutex> lock(mutex);
  ASSERT_TRUE(done.wait_for(lock, std::chrono::seconds(60), [&] { return finished == kJobs; }));
  EXPECT_EQ(ran + shed, kJobs);
  EXPECT_EQ(pool.shed_total(), shed.load());
}

TEST(HandlerPool, HandlerThreadsRunAtThePoolsNiceness) {
  const int base = getpriority(PRIO_PROCESS, 0);
  if (base >= 5) GTEST_SKIP() << "this process already runs at niceness " << base;
  HandlerPool pool({/*threads=*/2, /*nice=*/5, /*max_wait=*/milliseconds(10000)});
  std::promise<int> nice;
  pool.Submit([&] { nice.set_value(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()))); }, [] {});
  EXPECT_EQ(nice.get_future().get(), 5);
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), base);  // callers keep theirs
}

TEST(HandlerPool, StopWaitsForRunningJobsAndDropsQueuedOnes) {
  auto pool = std::make_unique<HandlerPool>(HandlerPool::Options{1, 0, milliseconds(60000)});
  Latch latch;
  std::atomic<bool> first_finished{false};
  pool->Submit(
      [&] {
        latch.Wait();
        first_finished = true;
      },
      [] {});
  ASSERT_TRUE(latch.AwaitWaiting(1));
  auto token = std::make_shared<int>(0);  // held by the queued job's captures
  std::atomic<bool> queued_ran{false};
  pool->Submit([&, token] { queued_ran = true; }, [&, token] { queued_ran = true; });
  EXPECT_EQ(pool->queued(), 1u);
  std::thread stopper([&] { pool->Stop(); });
  // Stop drops the queue first, then waits for the running job: only now
  // may that job end (else the free thread could take the queued one).
  while (pool->queued() != 0) std::this_thread::yield();
  latch.Open();
  stopper.join();
  EXPECT_TRUE(first_finished);
  EXPECT_FALSE(queued_ran);
  EXPECT_EQ(token.use_count(), 1);  // the dropped job's captures are gone
  pool->Submit([&] { queued_ran = true; }, [&] { queued_ran = true; });  // after Stop: dropped
  pool.reset();
  EXPECT_FALSE(queued_ran);
}

}  // namespace
}  // namespace refinery::api

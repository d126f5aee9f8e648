// The one connection pool (core/pool.h) with fake connections: slot
// accounting, first come first served, timeouts, failed opens, validation,
// discards and rebuilds. Threads meet through latches and condition
// variables, never sleeps.
#include "core/pool.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <latch>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace refinery {
namespace {

using namespace std::chrono_literals;

struct FakeConn {
  FakeConn(int id, int* closed) : id(id), closed(closed) {}
  ~FakeConn() { ++*closed; }
  int id;
  int* closed;  // bumped by whichever thread closes it; read once the others are done
  bool broken = false;
};
using Pool = FcfsPool<FakeConn>;
using Failure = Pool::Failure;

// A pool whose hooks the tests steer; counts opens and closes.
class PoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pool> Make(Pool::Limits limits) {
    Pool::Hooks hooks;
    hooks.open = [this](Pool::Deadline) { return Open(); };
    hooks.validate = [this](FakeConn& conn, Pool::Deadline) {
      return conn.id == invalid_id_ ? Status::Unavailable("dead") : Status::Ok();
    };
    hooks.discard = [](FakeConn& conn) { return conn.broken; };
    hooks.queued = [this] {
      std::lock_guard lock(mu_);
      ++queued_;
      queued_cv_.notify_all();
    };
    return std::make_unique<Pool>("test", limits, hooks);
  }
  virtual Result<std::unique_ptr<FakeConn>> Open() {
    if (fail_opens_ > 0) {
      --fail_opens_;
      return Status::Unavailable("refused");
    }
    return std::make_unique<FakeConn>(++opened_, &closed_);
  }
  // Blocks until `n` callers have queued in all (not a poll: woken by the hook).
  void AwaitQueued(int n) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(queued_cv_.wait_for(lock, 30s, [&] { return queued_ >= n; })) << "nobody queued";
  }
  static Pool::Deadline Soon() { return Pool::Clock::now() + 30s; }  // never reached when all is well

  std::mutex mu_;
  std::condition_variable queued_cv_;
  int queued_ = 0;  // GUARDED_BY(mu_)
  int opened_ = 0;
  int closed_ = 0;
  int fail_opens_ = 0;
  int invalid_id_ = -1;
};

TEST_F(PoolTest, CountsSlotsAndReusesIdleConnections) {
  auto pool = Make({.max_size = 2});
  {
    auto a = pool->Checkout(Soon());
    auto b = pool->Checkout(Soon());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(a->reused());
    const Pool::Counts counts = pool->counts();
    EXPECT_EQ(counts.size, 2);
    EXPECT_EQ(counts.in_use, 2);
    EXPECT_EQ(counts.idle, 0);
    EXPECT_EQ(counts.created, 2);
  }
  const Pool::Counts returned = pool->counts();
  EXPECT_EQ(returned.in_use, 0);
  EXPECT_EQ(returned.idle, 2);
  EXPECT_EQ(returned.size, 2);
  auto again = pool->Checkout(Soon());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->reused());
  EXPECT_EQ((*again)->id, 1);  // the most recently returned one
  EXPECT_EQ(pool->counts().created, 2);
  EXPECT_EQ(closed_, 0);
}

TEST_F(PoolTest, AnExhaustedPoolIsUnavailableOnceTheWaitIsOver) {
  auto pool = Make({.max_size = 1});
  auto held = pool->Checkout(Soon());
  ASSERT_TRUE(held.ok());
  Failure why = Failure::kNone;
  const Pool::Deadline now = Pool::Clock::now();
  auto none = pool->Checkout(now, now, &why);
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find("test: connection pool exhausted: all 1 connections"), std::string::npos)
      << none.status().message();
  EXPECT_EQ(why, Failure::kExhausted);
  EXPECT_EQ(queued_, 1);
  EXPECT_EQ(pool->counts().waiting, 0);  // it left the line
  EXPECT_EQ(pool->counts().in_use, 1);
}

// A caller that returns its connection and at once asks again queues behind
// the callers already waiting instead of taking it straight back.
TEST_F(PoolTest, WaitersAreServedFirstComeFirstServed) {
  auto pool = Make({.max_size = 1});
  std::mutex order_mu;
  std::vector<std::string> order;
  auto take = [&](const std::string& who) {
    auto lease = pool->Checkout(Soon());
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    std::lock_guard lock(order_mu);
    order.push_back(who);
  };
  std::optional<Result<Pool::Lease>> held(pool->Checkout(Soon()));
  ASSERT_TRUE(held->ok());
  std::thread second([&] { take("second"); });
  AwaitQueued(1);
  std::thread third([&] { take("third"); });
  AwaitQueued(2);
  EXPECT_EQ(pool->counts().waiting, 2);
  held.reset();  // returned, and asked for again right away
  take("first again");
  second.join();
  third.join();
  EXPECT_EQ(order, (std::vector<std::string>{"second", "third", "first again"}));
  const Pool::Counts after = pool->counts();
  EXPECT_EQ(after.waiting, 0);
  EXPECT_EQ(after.in_use, 0);
  EXPECT_EQ(after.created, 1);
}

TEST_F(PoolTest, AFailedOpenFreesItsSlot) {
  auto pool = Make({.max_size = 1});
  fail_opens_ = 1;
  Failure why = Failure::kNone;
  auto failed = pool->Checkout(Soon(), Soon(), &why);
  EXPECT_EQ(failed.status().message(), "refused");
  EXPECT_EQ(why, Failure::kOpen);
  EXPECT_EQ(pool->counts().size, 0);
  EXPECT_EQ(pool->counts().in_use, 0);
  auto next = pool->Checkout(Soon(), Soon(), &why);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(why, Failure::kNone);
  EXPECT_EQ(pool->counts().size, 1);
}

// The open hook blocks on a latch, so a second caller queues for the only
// slot while the first is still connecting; the failed connect hands it on.
class BlockingOpenTest : public PoolTest {
 protected:
  Result<std::unique_ptr<FakeConn>> Open() override {
    if (opened_ == 0 && blocked_++ == 0) {
      opening_.count_down();
      may_fail_.wait();
      return Status::Unavailable("refused");
    }
    return PoolTest::Open();
  }
  int blocked_ = 0;
  std::latch opening_{1};
  std::latch may_fail_{1};
};

TEST_F(BlockingOpenTest, AFailedOpenHandsItsSlotToTheNextWaiter) {
  auto pool = Make({.max_size = 1});
  Failure first_why = Failure::kNone;
  std::thread first([&] {
    auto failed = pool->Checkout(Soon(), Soon(), &first_why);
    EXPECT_FALSE(failed.ok());
  });
  opening_.wait();
  EXPECT_EQ(pool->counts().size, 1);  // the slot being opened counts
  bool second_ok = false;
  std::thread second([&] { second_ok = pool->Checkout(Soon()).ok(); });
  AwaitQueued(1);
  may_fail_.count_down();
  first.join();
  second.join();
  EXPECT_EQ(first_why, Failure::kOpen);
  EXPECT_TRUE(second_ok);
  EXPECT_EQ(pool->counts().created, 1);
  EXPECT_EQ(pool->counts().idle, 1);
}

TEST_F(PoolTest, AThrowingOpenFreesItsSlot) {
  Pool::Hooks hooks;
  hooks.open = [](Pool::Deadline) -> Result<std::unique_ptr<FakeConn>> { throw std::runtime_error("boom"); };
  Pool pool("test", {.max_size = 1}, hooks);
  EXPECT_THROW((void)pool.Checkout(Soon()), std::runtime_error);
  EXPECT_EQ(pool.counts().size, 0);
  EXPECT_EQ(pool.counts().in_use, 0);
}

TEST_F(PoolTest, AnIdleConnectionFailingValidationIsClosedAndTheNextTried) {
  auto pool = Make({.max_size = 2});
  {
    auto a = pool->Checkout(Soon());
    auto b = pool->Checkout(Soon());
  }  // b goes back first, then a: id 1 is taken first
  invalid_id_ = 1;
  auto lease = pool->Checkout(Soon());
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)->id, 2);
  EXPECT_TRUE(lease->reused());
  EXPECT_EQ(closed_, 1);
  EXPECT_EQ(pool->counts().size, 1);
  EXPECT_EQ(pool->counts().in_use, 1);
}

TEST_F(PoolTest, WhenEveryIdleOneFailsValidationANewOneIsOpened) {
  auto pool = Make({.max_size = 1});
  { auto a = pool->Checkout(Soon()); }
  invalid_id_ = 1;
  auto lease = pool->Checkout(Soon());
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)->id, 2);
  EXPECT_FALSE(lease->reused());
  EXPECT_EQ(pool->counts().size, 1);
}

TEST_F(PoolTest, ReturnedConnectionsAreClosedWhenDiscardedOrBeyondMaxIdle) {
  auto pool = Make({.max_size = 3, .max_idle = 1});
  {
    auto a = pool->Checkout(Soon());
    auto b = pool->Checkout(Soon());
    auto c = pool->Checkout(Soon());
    (*a)->broken = true;
  }
  EXPECT_EQ(closed_, 2);  // the broken one, and one beyond max_idle
  const Pool::Counts counts = pool->counts();
  EXPECT_EQ(counts.idle, 1);
  EXPECT_EQ(counts.size, 1);
  EXPECT_EQ(counts.in_use, 0);
}

TEST_F(PoolTest, RebuildClosesIdleOnesNowAndLeasedOnesOnReturn) {
  auto pool = Make({.max_size = 2});
  std::optional<Result<Pool::Lease>> held(pool->Checkout(Soon()));
  { auto idle = pool->Checkout(Soon()); }
  pool->Rebuild();
  EXPECT_EQ(closed_, 1);
  EXPECT_EQ(pool->counts().size, 1);
  EXPECT_EQ(pool->counts().rebuilds, 1);
  held.reset();  // the lease goes back: stale, closed
  EXPECT_EQ(closed_, 2);
  const Pool::Counts after = pool->counts();
  EXPECT_EQ(after.size, 0);
  EXPECT_EQ(after.closed_by_rebuild, 2);
  { auto fresh = pool->Checkout(Soon()); }
  EXPECT_EQ(pool->counts().idle, 1);  // opened after the rebuild: kept
}

TEST_F(PoolTest, DiscardIdleClosesOnlyTheIdleOnes) {
  auto pool = Make({.max_size = 2});
  std::optional<Result<Pool::Lease>> held(pool->Checkout(Soon()));
  { auto idle = pool->Checkout(Soon()); }
  pool->DiscardIdle();
  EXPECT_EQ(closed_, 1);
  held.reset();
  EXPECT_EQ(closed_, 1);  // a leased one still goes back
  EXPECT_EQ(pool->counts().idle, 1);
  EXPECT_EQ(pool->counts().closed_by_rebuild, 0);
}

}  // namespace
}  // namespace refinery

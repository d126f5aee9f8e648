// The handler queue's rules with explicit times: first come, first served,
// and only what waited longer than the bound is shed.
#include <gtest/gtest.h>

#include "api/handler_pool.h"

namespace refinery::api {
namespace {

using Clock = WaitQueue<int>::Clock;
using std::chrono::milliseconds;

TEST(WaitQueue, PopsInArrivalOrder) {
  WaitQueue<int> queue(milliseconds(100));
  const Clock::time_point t0{};
  EXPECT_TRUE(queue.empty());
  queue.Push(1, t0);
  queue.Push(2, t0 + milliseconds(1));
  queue.Push(3, t0 + milliseconds(2));
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.Pop(), 1);
  EXPECT_EQ(queue.Pop(), 2);
  EXPECT_EQ(queue.Pop(), 3);
  EXPECT_TRUE(queue.empty());
}

TEST(WaitQueue, ShedsOnlyWhatWaitedPastTheBoundOldestFirst) {
  WaitQueue<int> queue(milliseconds(100));
  const Clock::time_point t0{};
  queue.Push(1, t0);
  queue.Push(2, t0 + milliseconds(30));
  queue.Push(3, t0 + milliseconds(60));
  EXPECT_EQ(queue.next_expiry(), t0 + milliseconds(100));
  EXPECT_TRUE(queue.TakeExpired(t0 + milliseconds(100)).empty());  // exactly at the bound: still waits
  EXPECT_EQ(queue.TakeExpired(t0 + milliseconds(131)), (std::vector<int>{1, 2}));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.next_expiry(), t0 + milliseconds(160));
  queue.Push(4, t0 + milliseconds(150));
  EXPECT_EQ(queue.Pop(), 3);  // taken by a thread in time: never shed
  EXPECT_TRUE(queue.TakeExpired(t0 + milliseconds(200)).empty());
  EXPECT_EQ(queue.TakeExpired(t0 + milliseconds(251)), (std::vector<int>{4}));
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace refinery::api

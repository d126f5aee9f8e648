// HealthMonitor's threads with short timings, on the wall clock: first
// results, hangs after a good result, throwing checks, and shutdown with a
// hung check. What results mean is unit-tested in health_state_test.cpp.
#include "api/health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

namespace refinery::api {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

HealthTiming Fast() {
  HealthTiming timing;
  timing.interval = 20ms;
  timing.first_result_wait = 200ms;
  timing.timeout = 200ms;
  timing.shutdown_grace = 300ms;
  return timing;
}

TEST(HealthMonitorTest, FirstSnapshotWaitsForTheFirstResult) {
  HealthMonitor monitor(Fast());
  monitor.Add("ok", [] {
    std::this_thread::sleep_for(50ms);
    return Status::Ok();
  });
  monitor.Add("bad", [] { return Status::Unavailable("refused"); });
  auto snapshot = monitor.Snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].name, "ok");
  EXPECT_TRUE(snapshot[0].up);
  EXPECT_GE(snapshot[0].latency_ms, 40.0);
  EXPECT_TRUE(snapshot[0].error.empty());
  EXPECT_EQ(snapshot[1].name, "bad");
  EXPECT_FALSE(snapshot[1].up);
  EXPECT_EQ(snapshot[1].error, "unavailable: refused");
}

TEST(HealthMonitorTest, CheckHangingAfterSuccessTurnsDownAfterThreeTimeouts) {
  auto hang = std::make_shared<std::atomic<bool>>(false);
  auto release = std::make_shared<std::atomic<bool>>(false);
  HealthMonitor monitor(Fast());
  monitor.Add("store", [hang, release] {
    while (hang->load() && !release->load()) std::this_thread::sleep_for(5ms);
    return Status::Ok();
  });
  EXPECT_TRUE(monitor.Snapshot()[0].up);
  hang->store(true);
  std::this_thread::sleep_for(900ms);  // > interval + 3 x timeout (failures_before_down)
  auto start = Clock::now();
  auto down = monitor.Snapshot()[0];
  EXPECT_LT(Clock::now() - start, 50ms);  // answered from the cache
  EXPECT_FALSE(down.up);
  EXPECT_NE(down.error.find("timeout"), std::string::npos) << down.error;
  EXPECT_GE(down.latency_ms, 600.0);
  release->store(true);
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(monitor.Snapshot()[0].up);
}

// A saturated machine slows a healthy dependency's answers: a check that
// runs long but within the timeout keeps the component up.
TEST(HealthMonitorTest, SlowCheckWithinTheTimeoutStaysUp) {
  HealthTiming timing = Fast();
  timing.timeout = 2000ms;
  auto slow = std::make_shared<std::atomic<bool>>(false);
  HealthMonitor monitor(timing);
  monitor.Add("store", [slow] {
    if (slow->load()) std::this_thread::sleep_for(500ms);
    return Status::Ok();
  });
  ASSERT_TRUE(monitor.Snapshot()[0].up);
  slow->store(true);
  for (int i = 0; i < 12; ++i) {  // spans more than one slow check
    std::this_thread::sleep_for(60ms);
    EXPECT_TRUE(monitor.Snapshot()[0].up) << monitor.Snapshot()[0].error;
  }
}

// After a success, failed checks are tolerated twice in a row (load, not an
// outage: on a saturated machine round trips took 2 s); three are down.
TEST(HealthMonitorTest, TwoFailuresAfterSuccessAreToleratedThreeInARowAreDown) {
  HealthTiming timing = Fast();
  timing.interval = 1000ms;  // room to look between two checks
  auto failures_left = std::make_shared<std::atomic<int>>(0);
  auto failed = std::make_shared<std::atomic<int>>(0);
  auto passed = std::make_shared<std::atomic<int>>(0);
  HealthMonitor monitor(timing);
  monitor.Add("queue", [failures_left, failed, passed] {
    if (failures_left->load() <= 0) {
      passed->fetch_add(1);
      return Status::Ok();
    }
    failures_left->fetch_sub(1);
    failed->fetch_add(1);
    return Status::Unavailable("no reply in time");
  });
  ASSERT_TRUE(monitor.Snapshot()[0].up);
  failures_left->store(2);
  while (failed->load() < 2) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // past the 50 ms snapshot cache
  auto twice = monitor.Snapshot()[0];
  EXPECT_TRUE(twice.up) << twice.error;
  EXPECT_TRUE(twice.error.empty());

  const int passed_before = passed->load();
  while (passed->load() == passed_before) std::this_thread::sleep_for(5ms);  // a success ends the streak
  failures_left->store(3);
  while (failed->load() < 5) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);
  auto thrice = monitor.Snapshot()[0];
  EXPECT_FALSE(thrice.up);
  EXPECT_EQ(thrice.error, "unavailable: no reply in time");
}

TEST(HealthMonitorTest, ThrowingCheckIsDown) {
  HealthMonitor monitor(Fast());
  monitor.Add("queue", []() -> Status { throw std::runtime_error("kaput"); });
  auto snapshot = monitor.Snapshot();
  EXPECT_FALSE(snapshot[0].up);
  EXPECT_NE(snapshot[0].error.find("kaput"), std::string::npos);
}

TEST(HealthMonitorTest, ShutdownDoesNotWaitForeverForAHungCheck) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto start = Clock::now();
  {
    HealthMonitor monitor(Fast());
    monitor.Add("hung", [release] {
      while (!release->load()) std::this_thread::sleep_for(5ms);
      return Status::Ok();
    });
    monitor.Add("fine", [] { return Status::Ok(); });
    EXPECT_FALSE(monitor.Snapshot()[0].up);
  }
  EXPECT_LT(Clock::now() - start, 2s);
  release->store(true);  // the detached checker ends on its own
  std::this_thread::sleep_for(50ms);
}

}  // namespace
}  // namespace refinery::api

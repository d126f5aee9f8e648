// The health monitor's decisions (api/health_state.h) on a made-up clock:
// first results, tolerated failures, hung and slow checks. No threads, no
// sleeping; the threads are tested in health_monitor_integration_test.cpp.
#include "api/health_state.h"

#include <gtest/gtest.h>

namespace refinery::api {
namespace {

using namespace std::chrono_literals;

HealthTiming Timing() {
  HealthTiming timing;
  timing.interval = 500ms;
  timing.first_result_wait = 800ms;
  timing.timeout = 2000ms;
  timing.failures_before_down = 3;
  return timing;
}

class ComponentStateTest : public ::testing::Test {
 protected:
  // One check, starting now and taking `took`.
  ComponentState::Change Check(Status status, HealthClock::duration took) {
    state_.CheckStarted(now_);
    now_ += took;
    return state_.CheckFinished(status, now_);
  }
  ComponentState::Change Pass() { return Check(Status::Ok(), 10ms); }
  ComponentState::Change Fail() { return Check(Status::Unavailable("refused"), 10ms); }

  const HealthClock::time_point t0_{std::chrono::hours(1)};
  HealthClock::time_point now_ = t0_;
  ComponentState state_{"store", Timing(), t0_};
};

TEST_F(ComponentStateTest, NoResultYetIsATimeoutOnceTheFirstWaitIsOver) {
  EXPECT_FALSE(state_.has_result());
  EXPECT_EQ(state_.first_result_due(), t0_ + 800ms);
  state_.CheckStarted(t0_);
  const ComponentHealth health = state_.Report(t0_ + 800ms);
  EXPECT_EQ(health.name, "store");
  EXPECT_FALSE(health.up);
  EXPECT_DOUBLE_EQ(health.latency_ms, 800.0);
  EXPECT_EQ(health.error, "timeout: no answer after 800 ms");
}

TEST_F(ComponentStateTest, AResultReportsItsLatencyAndError) {
  EXPECT_EQ(Check(Status::Ok(), 50ms), ComponentState::Change::kNone);
  ComponentHealth up = state_.Report(now_);
  EXPECT_TRUE(up.up);
  EXPECT_DOUBLE_EQ(up.latency_ms, 50.0);
  EXPECT_TRUE(up.error.empty());
  EXPECT_EQ(state_.next_check_due(), t0_ + 500ms);  // from the start of the check
}

TEST_F(ComponentStateTest, BeforeItWasEverUpTheFirstFailureIsDown) {
  EXPECT_EQ(Fail(), ComponentState::Change::kDown);
  ComponentHealth down = state_.Report(now_);
  EXPECT_FALSE(down.up);
  EXPECT_EQ(down.error, "unavailable: refused");
  EXPECT_EQ(Fail(), ComponentState::Change::kNone);  // already down: reported once
  EXPECT_EQ(Pass(), ComponentState::Change::kNone);
  EXPECT_TRUE(state_.Report(now_).up);
}

TEST_F(ComponentStateTest, OnceUpTwoFailuresAreToleratedThreeInARowAreDown) {
  Check(Status::Ok(), 20ms);
  EXPECT_EQ(Fail(), ComponentState::Change::kTolerated);
  EXPECT_EQ(Fail(), ComponentState::Change::kTolerated);
  ComponentHealth twice = state_.Report(now_);
  EXPECT_TRUE(twice.up);  // the latest success, as it was
  EXPECT_DOUBLE_EQ(twice.latency_ms, 20.0);
  EXPECT_EQ(state_.failures(), 2);

  EXPECT_EQ(Pass(), ComponentState::Change::kNone);  // a success ends the streak
  EXPECT_EQ(Fail(), ComponentState::Change::kTolerated);
  EXPECT_EQ(Fail(), ComponentState::Change::kTolerated);
  EXPECT_EQ(Fail(), ComponentState::Change::kDown);
  ComponentHealth thrice = state_.Report(now_);
  EXPECT_FALSE(thrice.up);
  EXPECT_EQ(thrice.error, "unavailable: refused");
}

// A check running past the timeout counts as one more failure per timeout.
TEST_F(ComponentStateTest, ACheckHangingAfterASuccessIsDownAfterThreeTimeouts) {
  Pass();
  const HealthClock::time_point started = now_;
  state_.CheckStarted(started);
  EXPECT_TRUE(state_.Report(started + 5999ms).up);
  ComponentHealth hung = state_.Report(started + 6000ms);
  EXPECT_FALSE(hung.up);
  EXPECT_EQ(hung.error, "timeout: no answer after 6000 ms");
  EXPECT_DOUBLE_EQ(hung.latency_ms, 6000.0);
  EXPECT_EQ(state_.CheckFinished(Status::Ok(), started + 7000ms), ComponentState::Change::kNone);
  EXPECT_TRUE(state_.Report(started + 7000ms).up);  // it answered after all
}

TEST_F(ComponentStateTest, AHangAfterFailuresNeedsOnlyTheTimeoutsStillMissing) {
  Pass();
  Fail();
  Fail();  // one more failure turns it down
  state_.CheckStarted(now_);
  EXPECT_TRUE(state_.Report(now_ + 1999ms).up);
  EXPECT_FALSE(state_.Report(now_ + 2000ms).up);
}

TEST_F(ComponentStateTest, AHangWhileDownStaysDownAfterOneTimeout) {
  Fail();
  state_.CheckStarted(now_);
  ComponentHealth still = state_.Report(now_ + 1000ms);
  EXPECT_EQ(still.error, "unavailable: refused");  // the last answer, until the timeout
  EXPECT_EQ(state_.Report(now_ + 2000ms).error, "timeout: no answer after 2000 ms");
}

// A saturated machine slows a healthy dependency's answers: a check that
// runs long but within the timeout keeps the component up.
TEST_F(ComponentStateTest, ASlowCheckWithinTheTimeoutStaysUp) {
  Pass();
  for (int i = 0; i < 5; ++i) {
    state_.CheckStarted(now_);
    EXPECT_TRUE(state_.Report(now_ + 1900ms).up);
    now_ += 1900ms;
    EXPECT_EQ(state_.CheckFinished(Status::Ok(), now_), ComponentState::Change::kNone);
    EXPECT_TRUE(state_.Report(now_).up);
    EXPECT_DOUBLE_EQ(state_.Report(now_).latency_ms, 1900.0);
  }
}

}  // namespace
}  // namespace refinery::api

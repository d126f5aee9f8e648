// Pure restart logic: backoff sequence, policy decisions, spec validation,
// and the stop-signal flag. No child processes.
#include <csignal>

#include <gtest/gtest.h>

#include "supervisor/supervisor.h"

namespace refinery {
namespace {

TEST(RestartBackoff, DoublesFromInitialAndCapsAtMax) {
  RestartBackoff backoff(0.5, 30, 10);
  std::vector<double> delays;
  for (int i = 0; i < 9; ++i) delays.push_back(backoff.NextDelay(0.1));
  EXPECT_EQ(delays, (std::vector<double>{0.5, 1, 2, 4, 8, 16, 30, 30, 30}));
}

TEST(RestartBackoff, ResetsAfterAStableRun) {
  RestartBackoff backoff(1, 60, 10);
  EXPECT_EQ(backoff.NextDelay(0), 1);
  EXPECT_EQ(backoff.NextDelay(9.9), 2);
  EXPECT_EQ(backoff.NextDelay(3), 4);
  EXPECT_EQ(backoff.NextDelay(10), 1);  // ran stable_after_s: start over
  EXPECT_EQ(backoff.NextDelay(0), 2);
}

TEST(RestartBackoff, InitialAboveMaxIsCapped) {
  RestartBackoff backoff(5, 2, 10);
  EXPECT_EQ(backoff.NextDelay(0), 2);
  EXPECT_EQ(backoff.NextDelay(0), 2);
}

TEST(ShouldRestart, FollowsPolicy) {
  const ExitStatus ok{0, 0};
  const ExitStatus failed{3, 0};
  const ExitStatus killed{0, SIGKILL};
  EXPECT_FALSE(ShouldRestart(RestartPolicy::kNo, failed));
  EXPECT_FALSE(ShouldRestart(RestartPolicy::kNo, killed));
  EXPECT_FALSE(ShouldRestart(RestartPolicy::kOnFailure, ok));
  EXPECT_TRUE(ShouldRestart(RestartPolicy::kOnFailure, failed));
  EXPECT_TRUE(ShouldRestart(RestartPolicy::kOnFailure, killed));
  for (auto policy : {RestartPolicy::kAlways, RestartPolicy::kUnlessStopped}) {
    EXPECT_TRUE(ShouldRestart(policy, ok));
    EXPECT_TRUE(ShouldRestart(policy, failed));
    EXPECT_TRUE(ShouldRestart(policy, killed));
  }
}

TEST(ExitStatus, Describes) {
  EXPECT_EQ((ExitStatus{3, 0}).ToString(), "code 3");
  EXPECT_EQ((ExitStatus{0, 9}).ToString(), "signal 9");
  EXPECT_TRUE((ExitStatus{0, 0}).success());
  EXPECT_FALSE((ExitStatus{0, 15}).success());
}

TEST(RestartPolicy, NamesRoundTrip) {
  for (auto policy :
       {RestartPolicy::kNo, RestartPolicy::kOnFailure, RestartPolicy::kAlways, RestartPolicy::kUnlessStopped}) {
    auto parsed = ParseRestartPolicy(RestartPolicyName(policy));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, policy);
  }
  auto bad = ParseRestartPolicy("sometimes");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

ServiceSpec Valid(const std::string& name) {
  ServiceSpec spec;
  spec.name = name;
  spec.argv = {"/bin/true"};
  return spec;
}

TEST(ValidateServiceSpecs, AcceptsValidSpecs) {
  EXPECT_TRUE(ValidateServiceSpecs({Valid("api"), Valid("worker-chunk")}).ok());
  EXPECT_TRUE(ValidateServiceSpecs({}).ok());
}

TEST(ValidateServiceSpecs, RejectsBadSpecs) {
  auto relative = Valid("a");
  relative.argv = {"true"};
  auto no_argv = Valid("a");
  no_argv.argv.clear();
  auto bad_backoff = Valid("a");
  bad_backoff.backoff_initial_s = 0;
  auto inverted_backoff = Valid("a");
  inverted_backoff.backoff_max_s = 0.1;
  for (const auto& bad : {relative, no_argv, bad_backoff, inverted_backoff, Valid("")}) {
    Status status = ValidateServiceSpecs({bad});
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad.name;
  }
  EXPECT_EQ(ValidateServiceSpecs({Valid("a"), Valid("a")}).code(), StatusCode::kInvalidArgument);
}

TEST(ServiceStateName, NamesEveryState) {
  EXPECT_STREQ(ServiceStateName(ServiceState::kStarting), "starting");
  EXPECT_STREQ(ServiceStateName(ServiceState::kRunning), "running");
  EXPECT_STREQ(ServiceStateName(ServiceState::kBackoff), "backoff");
  EXPECT_STREQ(ServiceStateName(ServiceState::kExited), "exited");
  EXPECT_STREQ(ServiceStateName(ServiceState::kStopped), "stopped");
}

TEST(StopSignals, SignalsSetTheFlagWhileInstalled) {
  std::atomic<bool> stop{false};
  {
    StopSignals signals(stop);
    ASSERT_EQ(raise(SIGTERM), 0);
    EXPECT_TRUE(stop.load());
    stop = false;
    ASSERT_EQ(raise(SIGINT), 0);
    EXPECT_TRUE(stop.load());
  }
  struct sigaction restored {};
  ASSERT_EQ(sigaction(SIGTERM, nullptr, &restored), 0);
  EXPECT_EQ(restored.sa_handler, SIG_DFL);
}

TEST(StopSignals, NestedScopesRestoreTheOuterFlag) {
  std::atomic<bool> outer{false};
  std::atomic<bool> inner{false};
  StopSignals outer_signals(outer);
  {
    StopSignals inner_signals(inner);
    ASSERT_EQ(raise(SIGTERM), 0);
    EXPECT_TRUE(inner.load());
    EXPECT_FALSE(outer.load());
  }
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_TRUE(outer.load());
}

}  // namespace
}  // namespace refinery

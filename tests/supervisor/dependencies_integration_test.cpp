// Supervisor start order with real children: a service with depends_on
// waits until its dependency is ready (its ready probe passed, else its
// health check, else it runs), and manual control of replica groups.
// Also: the backoff of a child that had passed a health check. Timeouts
// only catch hangs.
#include <signal.h>

#include <fstream>

#include <gtest/gtest.h>

#include "supervisor/supervisor_test_util.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using namespace std::chrono_literals;

ServiceSpec Sleeper(const std::string& name) { return QuickSpec(name, {"/bin/sleep", "100"}); }

// "db" is ready once `flag` exists (fresh within an hour); "app" needs it.
std::vector<ServiceSpec> DbAndApp(const std::string& flag) {
  ServiceSpec db = Sleeper("db");
  db.ready = {HealthCheckSpec::Kind::kHeartbeat, flag, 0.05, 3600, 1};
  ServiceSpec app = Sleeper("app");
  app.depends_on = {"db"};
  return {db, app};
}

TEST(SupervisorDependencies, DependentWaitsUntilItsDependencyIsReady) {
  TempDir dir;
  const std::string flag = dir.path() + "/db-ready";
  SupervisorThread sup(DbAndApp(flag));
  ASSERT_GT(sup.WaitRunning(0), 0);
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kWaiting; }, 1));
  // Several ready probes fail meanwhile (every 50 ms); app must still wait.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sup.Status(1).state, ServiceState::kWaiting);
  EXPECT_EQ(sup.Status(1).pid, 0);
  EXPECT_EQ(sup.Status(1).last_error, "waiting for db");
  std::ofstream(flag) << "up";
  ASSERT_GT(sup.WaitRunning(1), 0);
  EXPECT_GE(sup.Status(1).started_at, sup.Status(0).started_at);
  EXPECT_EQ(sup.Status(1).last_error, "");
}

TEST(SupervisorDependencies, HealthCheckGatesWhenThereIsNoReadyProbe) {
  TempDir dir;
  const std::string beat = dir.path() + "/beat";
  ServiceSpec db = QuickSpec("db", {"/bin/sh", "-c", "sleep 0.3; while true; do touch " + beat + "; sleep 0.05; done"});
  db.health = {HealthCheckSpec::Kind::kHeartbeat, beat, 0.05, 1, 3};
  ServiceSpec app = Sleeper("app");
  app.depends_on = {"db"};
  SupervisorThread sup({db, app});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kWaiting; }, 1));
  ASSERT_GT(sup.WaitRunning(1), 0);
  EXPECT_EQ(sup.Status(0).health, Health::kHealthy);
}

TEST(SupervisorDependencies, ADependentThatCrashesLaterRestartsWithoutWaiting) {
  TempDir dir;
  const std::string flag = dir.path() + "/db-ready";
  std::ofstream(flag) << "up";
  SupervisorThread sup(DbAndApp(flag));
  const pid_t app = sup.WaitRunning(1);
  ASSERT_GT(app, 0);
  ASSERT_EQ(kill(sup.Status(0).pid, SIGSTOP), 0);  // the dependency hangs: no longer matters to app
  ASSERT_EQ(kill(app, SIGKILL), 0);
  ASSERT_TRUE(sup.WaitUntil([&](const ServiceStatus& s) { return s.pid > 0 && s.pid != app; }, 1));
  EXPECT_EQ(sup.Status(1).restarts, 1);
  kill(sup.Status(0).pid, SIGCONT);
}

TEST(SupervisorDependencies, StartingAWaitingServiceByHandStartsItAtOnce) {
  TempDir dir;
  SupervisorThread sup(DbAndApp(dir.path() + "/never"));
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kWaiting; }, 1));
  ASSERT_TRUE(sup.supervisor().Control(ControlAction::kStart, "app", 10s).ok());
  EXPECT_GT(sup.WaitRunning(1), 0);
}

TEST(SupervisorDependencies, SpecsWithUnknownOrCyclicDependenciesAreRejected) {
  ServiceSpec a = Sleeper("a");
  ServiceSpec b = Sleeper("b");
  a.depends_on = {"nope"};
  Status unknown = ValidateServiceSpecs({a, b});
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("'nope'"), std::string::npos) << unknown.message();
  a.depends_on = {"b"};
  b.depends_on = {"a"};
  Status cycle = ValidateServiceSpecs({a, b});
  EXPECT_EQ(cycle.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cycle.message().find("cycle"), std::string::npos) << cycle.message();
  b.depends_on = {};
  EXPECT_TRUE(ValidateServiceSpecs({a, b}).ok());
}

TEST(SupervisorGroups, StopAndStartByGroupNameActOnEveryReplica) {
  SupervisorThread sup({Sleeper("w.1"), Sleeper("w.2"), Sleeper("wx")});
  for (size_t i = 0; i < 3; ++i) ASSERT_GT(sup.WaitRunning(i), 0);
  const pid_t other = sup.Status(2).pid;
  ASSERT_TRUE(sup.supervisor().Control(ControlAction::kStop, "w", 10s).ok());
  EXPECT_EQ(sup.Status(0).state, ServiceState::kStopped);
  EXPECT_EQ(sup.Status(1).state, ServiceState::kStopped);
  EXPECT_EQ(sup.Status(2).pid, other);  // "wx" is not a replica of "w"
  ASSERT_TRUE(sup.supervisor().Control(ControlAction::kStart, "w", 10s).ok());
  EXPECT_GT(sup.WaitRunning(0), 0);
  EXPECT_GT(sup.WaitRunning(1), 0);
  EXPECT_EQ(sup.supervisor().Control(ControlAction::kStop, "w.3", 10s).code(), StatusCode::kNotFound);
}

// A child that dies 0.4 s after starting: with a heartbeat it first passes
// a health check, so every death restarts after the initial delay and is no
// crash loop; without one the delay doubles and the service is failing.
ServiceSpec DiesAfterBeating(const std::string& beat, bool checked) {
  auto spec = QuickSpec("worker",
                        {"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do touch " + beat + "; sleep 0.05; done; exit 1"});
  spec.backoff_initial_s = 0.05;
  spec.backoff_max_s = 5;
  spec.stable_after_s = 100;
  spec.start_period_s = 5;
  if (checked) spec.health = {HealthCheckSpec::Kind::kHeartbeat, beat, 0.05, 1, 3};
  return spec;
}

TEST(SupervisorBackoff, ChildThatWasHealthyComesBackAfterTheInitialDelay) {
  TempDir dir;
  SupervisorThread sup({DiesAfterBeating(dir.path() + "/beat", true)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 4; }));
  EXPECT_DOUBLE_EQ(sup.Status().backoff_s, 0.05);
  EXPECT_NE(sup.Status().state, ServiceState::kFailing);
}

TEST(SupervisorBackoff, ChildThatNeverPassedACheckBacksOffAndIsFailing) {
  TempDir dir;
  SupervisorThread sup({DiesAfterBeating(dir.path() + "/beat", false)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 3; }));
  EXPECT_GE(sup.Status().backoff_s, 0.2);  // 0.05, 0.1, 0.2: doubled each time
  EXPECT_EQ(sup.Status().state, ServiceState::kFailing);
}

}  // namespace
}  // namespace refinery::testing

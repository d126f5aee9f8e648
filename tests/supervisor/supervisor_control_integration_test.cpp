// Supervisor with real children: crash-loop detection, health checks
// (heartbeat file, HTTP), stop/start/restart by hand with the held set
// persisted, and the control socket. Timeouts only catch hangs.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "control/control_client.h"
#include "supervisor/supervisor_test_util.h"
#include "support/process_util.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using namespace std::chrono_literals;

ServiceSpec Sleeper(const std::string& name) { return QuickSpec(name, {"/bin/sleep", "100"}); }

TEST(SupervisorCrashLoop, ServiceExitingAtOnceIsFailingWhileOthersRun) {
  SupervisorThread sup({QuickSpec("broken", {"/bin/false"}), Sleeper("ok")});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kFailing; }));
  EXPECT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 5; }));  // retries go on
  EXPECT_EQ(sup.Status(0).state, ServiceState::kFailing);
  EXPECT_EQ(sup.Status(1).state, ServiceState::kRunning);
  EXPECT_EQ(sup.Status(1).restarts, 0);
}

TEST(SupervisorCrashLoop, FailingServiceIsRunningAgainOnceStable) {
  TempDir dir;
  const std::string fixed = dir.path() + "/fixed";
  auto spec = QuickSpec("flaky", {"/bin/sh", "-c", "[ -e " + fixed + " ] && exec sleep 100; exit 1"});
  spec.stable_after_s = 0.5;
  SupervisorThread sup({spec});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kFailing; }));
  std::ofstream(fixed) << "x";
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kRunning; }));
  EXPECT_GT(sup.Status().pid, 0);
}

TEST(SupervisorHealth, ChildThatStopsHeartbeatingIsKilledAndRestarted) {
  TempDir dir;
  const std::string beat = dir.path() + "/beat";
  auto spec = QuickSpec("beater", {"/bin/sh", "-c", "while true; do touch " + beat + "; sleep 0.1; done"});
  spec.start_period_s = 1;
  spec.health = {HealthCheckSpec::Kind::kHeartbeat, beat, 0.1, 0.5, 2};
  SupervisorThread sup({spec});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.health == Health::kHealthy; }));
  const pid_t first = sup.Status().pid;
  ASSERT_EQ(kill(first, SIGSTOP), 0);
  ASSERT_TRUE(sup.WaitUntil([&](const ServiceStatus& s) { return s.pid > 0 && s.pid != first; }));
  EXPECT_EQ(sup.Status().last_exit->signal, SIGKILL);
  EXPECT_EQ(sup.Status().restarts, 1);
}

TEST(SupervisorHealth, FailingHttpCheckKillsTheChildAfterRetries) {
  auto spec = Sleeper("server");
  spec.start_period_s = 0.2;
  spec.health = {HealthCheckSpec::Kind::kHttp, "http://127.0.0.1:" + std::to_string(FreePort()) + "/health", 0.1, 0.5,
                 2};
  SupervisorThread sup({spec});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 1; }));
  EXPECT_EQ(sup.Status().last_exit->signal, SIGKILL);
}

TEST(SupervisorControl, StoppedByHandStaysStoppedAcrossSupervisors) {
  TempDir dir;
  SupervisorOptions options;
  options.stopped_file = dir.path() + "/stopped.json";
  {
    SupervisorThread sup({Sleeper("a"), Sleeper("b")}, options);
    const pid_t pid = sup.WaitRunning(0);
    ASSERT_GT(sup.WaitRunning(1), 0);
    ASSERT_TRUE(sup.supervisor().Control(ControlAction::kStop, "a", 10s).ok());
    EXPECT_EQ(sup.Status(0).state, ServiceState::kStopped);
    EXPECT_TRUE(sup.Status(0).held);
    EXPECT_FALSE(IsAlive(pid));
    std::this_thread::sleep_for(300ms);  // several backoffs: no restart
    EXPECT_EQ(sup.Status(0).pid, 0);
    EXPECT_EQ(sup.Status(0).restarts, 0);
  }
  SupervisorThread again({Sleeper("a"), Sleeper("b")}, options);
  ASSERT_GT(again.WaitRunning(1), 0);
  EXPECT_EQ(again.Status(0).state, ServiceState::kStopped);
  ASSERT_TRUE(again.supervisor().Control(ControlAction::kStart, "a", 10s).ok());
  EXPECT_GT(again.WaitRunning(0), 0);
  std::ifstream in(options.stopped_file);
  EXPECT_EQ(nlohmann::json::parse(in), nlohmann::json::array());
}

TEST(SupervisorControl, RestartByHandGivesANewPid) {
  SupervisorThread sup({Sleeper("a")});
  const pid_t first = sup.WaitRunning();
  ASSERT_TRUE(sup.supervisor().Control(ControlAction::kRestart, "a", 10s).ok());
  ASSERT_TRUE(sup.WaitUntil([&](const ServiceStatus& s) { return s.pid > 0 && s.pid != first; }));
  EXPECT_EQ(sup.Status().state, ServiceState::kRunning);
}

TEST(SupervisorControl, UnknownServiceIsNotFound) {
  SupervisorThread sup({Sleeper("a")});
  ASSERT_GT(sup.WaitRunning(), 0);
  EXPECT_EQ(sup.supervisor().Control(ControlAction::kStop, "zzz", 10s).code(), StatusCode::kNotFound);
}

TEST(SupervisorControl, SocketServesStatusAndCommands) {
  TempDir dir;
  const std::string path = dir.path() + "/sup.sock";
  SupervisorThread sup({Sleeper("a")});
  ASSERT_GT(sup.WaitRunning(), 0);
  auto server = ControlServer::Listen(sup.supervisor(), path);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ(ControlServer::Listen(sup.supervisor(), path).status().code(), StatusCode::kConflict);
  auto status = ControlRequest(path, "status", 5);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  auto services = nlohmann::json::parse(*status).at("services");
  EXPECT_EQ(services.at(0).at("name"), "a");
  EXPECT_EQ(services.at(0).at("state"), "running");
  EXPECT_EQ(nlohmann::json::parse(*ControlRequest(path, "stop a", 15)).at("ok"), true);
  EXPECT_EQ(nlohmann::json::parse(*ControlRequest(path, "bogus", 5)).at("ok"), false);
  server->reset();
  EXPECT_EQ(ControlRequest(path, "status", 5).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace refinery::testing

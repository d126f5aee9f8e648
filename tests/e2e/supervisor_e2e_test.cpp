// `refinery up` as an operator sees it: a hung (SIGSTOPped) worker is
// restarted by its heartbeat check, a crash-looping worker is reported
// failing while the rest stays up, status/stop/start/restart go through the
// control socket, each service's output lands in its own log file, and
// refinery.toml's [services.*] tables (replicas, start order) take effect.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/stage_chain.h"
#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SupervisorEndToEnd, StoppedWorkerIsRestartedWithinItsHealthBudget) {
  TempDir dir;
  RefineryUp up(dir.path());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  ASSERT_TRUE(WaitUntil([&] { return up.ServicePid("worker-embed") > 0; }, seconds(10)));
  const pid_t worker = up.ServicePid("worker-embed");
  ASSERT_EQ(kill(worker, SIGSTOP), 0);
  // Budget: heartbeat stale after 1.5 s, 3 failed checks 0.5 s apart, a 0.1 s restart.
  EXPECT_TRUE(WaitUntil(
      [&] {
        const pid_t now = up.ServicePid("worker-embed");
        return now > 0 && now != worker;
      },
      seconds(10), milliseconds(100)))
      << up.Log();
  EXPECT_FALSE(IsAlive(worker));
  EXPECT_NE(up.Log().find("worker-embed (pid " + std::to_string(worker) + ") is unhealthy"), std::string::npos);
}

TEST(SupervisorEndToEnd, CrashLoopingWorkerIsFailingAndTheOthersStayUp) {
  TempDir dir;
  RefineryUp up(dir.path(), {{"REFINERY_TEST_WORKER_EXIT_STAGE", "embed"}});
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  ASSERT_TRUE(WaitUntil([&] { return up.ServiceStateOf("worker-embed") == "failing"; }, seconds(20)))
      << up.Cli({"status"}) << up.Log();
  EXPECT_EQ(up.ServiceStateOf("api"), "running");
  EXPECT_EQ(up.ServiceStateOf("worker-chunk"), "running");
  int code = -1;
  const std::string table = up.Cli({"status"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_NE(table.find("SERVICE"), std::string::npos) << table;
  EXPECT_NE(table.find("failing"), std::string::npos) << table;
  // Its log says why, for the operator to investigate.
  EXPECT_NE(up.Cli({"logs", "worker-embed", "--tail", "5"}).find("REFINERY_TEST_WORKER_EXIT_STAGE"), std::string::npos);
  // The doctor fails on it, naming it, and passes the services still up.
  const std::string url = up.url("");
  const std::string report = up.Cli({"doctor", "--port", url.substr(url.rfind(':') + 1)}, &code);
  EXPECT_EQ(code, 1) << report;
  EXPECT_NE(report.find("[FAIL] worker-embed: failing"), std::string::npos) << report;
  EXPECT_NE(report.find("[ OK ] worker-chunk: running"), std::string::npos) << report;
  EXPECT_NE(report.find("== API [ OK ]"), std::string::npos) << report;
}

TEST(SupervisorEndToEnd, StopStartRestartThroughTheCli) {
  TempDir dir;
  RefineryUp up(dir.path());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  ASSERT_TRUE(WaitUntil([&] { return up.ServicePid("worker-chunk") > 0; }, seconds(10)));
  const pid_t chunk = up.ServicePid("worker-chunk");
  int code = -1;
  EXPECT_NE(up.Cli({"stop", "worker-chunk"}, &code).find("stopped"), std::string::npos);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(up.ServiceStateOf("worker-chunk"), "stopped");
  EXPECT_FALSE(IsAlive(chunk));
  std::ifstream held(dir.path() + "/run/stopped.json");
  EXPECT_EQ(nlohmann::json::parse(held), nlohmann::json::array({"worker-chunk"}));
  up.Cli({"start", "worker-chunk"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_GT(up.ServicePid("worker-chunk"), 0);
  const pid_t api = up.ServicePid("api");
  up.Cli({"restart", "api"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(WaitUntil([&] { return up.ServicePid("api") > 0 && up.ServicePid("api") != api; }, seconds(15)));
  EXPECT_TRUE(up.WaitHealthy(seconds(10)));
  up.Cli({"stop", "no-such-service"}, &code);
  EXPECT_EQ(code, 1);
}

TEST(SupervisorEndToEnd, StatusWithoutASupervisorSaysSo) {
  TempDir dir;
  const std::string out = dir.path() + "/status.out";
  auto status = Subprocess::Spawn({REFINERY_BINARY, "--data-dir", dir.path(), "status"}, {}, out);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->Wait().code, 3);
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("no supervisor is running"), std::string::npos) << text;
}

TEST(SupervisorEndToEnd, EachServiceLogsToItsOwnFile) {
  TempDir dir;
  RefineryUp up(dir.path());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  for (const std::string name : {"api", "worker-chunk", "worker-embed"}) {
    EXPECT_TRUE(WaitUntil([&] { return !up.Cli({"logs", name}).empty(); }, seconds(10))) << name;
  }
  const std::string tail = up.Cli({"logs", "api", "--tail", "1"});
  EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), 1) << tail;
  EXPECT_NE(up.Cli({"logs", "api"}).find("api listening on"), std::string::npos);
  int code = -1;
  up.Cli({"logs", "nope"}, &code);
  EXPECT_EQ(code, 1);
}

// refinery.toml's [services.*]: two chunk workers, both started only after
// the API reported ready, stopped and started together by group name, and
// ingested documents still all complete.
TEST(SupervisorEndToEnd, ServicesTableRunsReplicasAfterTheApiIsReady) {
  TempDir dir;
  const std::string toml = dir.path() + "/refinery.toml";
  std::ofstream(toml) << "[services.worker-chunk]\nreplicas = 2\n[services.workers]\nconcurrency = 1\n";
  RefineryUp up(dir.path(), {{"REFINERY_CONFIG", toml}});
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  EXPECT_EQ(up.ServiceStateOf("worker-chunk.1"), "running");
  EXPECT_EQ(up.ServiceStateOf("worker-chunk.2"), "running");
  EXPECT_EQ(up.ServiceStateOf("worker-chunk"), "");
  EXPECT_EQ(ChildPids(up.pid(), "worker chunk").size(), 2u);
  EXPECT_EQ(ChildPids(up.pid(), "--concurrency 1").size(), WorkerStages().size() + 1);  // chunk runs twice
  const std::string log = up.Log();
  const size_t ready = log.find("service api (pid");
  const size_t started = log.find("service worker-chunk.1 started");
  ASSERT_NE(ready, std::string::npos) << log;
  ASSERT_NE(started, std::string::npos) << log;
  EXPECT_LT(ready, started) << log;

  int code = -1;
  const std::string logs = up.Cli({"logs", "worker-chunk"}, &code);  // one log per replica
  EXPECT_EQ(code, 1);
  EXPECT_NE(logs.find("logs exist for: api, worker-chunk.1, worker-chunk.2, worker-crawl, worker-embed"),
            std::string::npos)
      << logs;
  up.Cli({"stop", "worker-chunk"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(up.ServiceStateOf("worker-chunk.1"), "stopped");
  EXPECT_EQ(up.ServiceStateOf("worker-chunk.2"), "stopped");
  up.Cli({"start", "worker-chunk"}, &code);
  EXPECT_EQ(code, 0);
  ASSERT_TRUE(WaitUntil([&] { return up.ServicePid("worker-chunk.2") > 0; }, seconds(10)));

  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    up.Post("/ingest", {{"title", "doc " + n}, {"content", "Replica document " + n + ". Second sentence."}});
  }
  EXPECT_TRUE(
      WaitUntil([&] { return up.Get("/stats").at("documents_by_stage").value("complete", 0) == 20; }, seconds(60)))
      << up.Get("/stats").dump();
}

TEST(SupervisorEndToEnd, BadServicesTableIsOneLineAndExitCode2) {
  TempDir dir;
  const std::string toml = dir.path() + "/refinery.toml";
  std::ofstream(toml) << "[services.worker-chnk]\nreplicas = 2\n";
  auto spawned = Subprocess::Spawn({REFINERY_BINARY, "--data-dir", dir.path(), "up", "--port", "0"},
                                   {{"REFINERY_CONFIG", toml}}, dir.path() + "/out.log");
  ASSERT_TRUE(spawned.ok()) << spawned.status().ToString();
  ExitStatus status = spawned->Wait();
  EXPECT_EQ(status.code, 2);
  std::ifstream in(dir.path() + "/out.log");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::set<std::string> services = {"api", "workers"};
  for (const StageDef& stage : WorkerStages()) services.insert("worker-" + stage.name);
  std::string known;
  for (const auto& name : services) known += (known.empty() ? "" : ", ") + name;
  EXPECT_EQ(text, "refinery: services.worker-chnk: unknown service (known: " + known + ")\n");
}

}  // namespace
}  // namespace refinery::testing

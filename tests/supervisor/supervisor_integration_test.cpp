// Supervisor against real children: start, restart by policy with backoff,
// shutdown with SIGTERM then SIGKILL, child death with a SIGKILLed
// supervisor, log files. Timeouts are only there to catch hangs.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "supervisor/supervisor.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout = 20s) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!condition()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string Comm(pid_t pid) { return ReadFile("/proc/" + std::to_string(pid) + "/comm"); }

ServiceSpec Spec(const std::string& name, std::vector<std::string> argv, RestartPolicy policy) {
  ServiceSpec spec;
  spec.name = name;
  spec.argv = std::move(argv);
  spec.policy = policy;
  spec.backoff_initial_s = 0.05;  // keep restart tests quick
  spec.backoff_max_s = 0.2;
  return spec;
}

ServiceSpec Sleeper(const std::string& name) { return Spec(name, {"/bin/sleep", "100"}, RestartPolicy::kAlways); }

// Runs a Supervisor on its own thread; stops and joins it on destruction.
class SupervisorThread {
 public:
  explicit SupervisorThread(std::vector<ServiceSpec> specs, SupervisorOptions options = {})
      : supervisor_(std::move(specs), options), thread_([this] { result_ = supervisor_.Run(stop_); }) {}
  ~SupervisorThread() { Stop(); }
  SupervisorThread(const SupervisorThread&) = delete;
  SupervisorThread& operator=(const SupervisorThread&) = delete;

  int Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return result_;
  }
  ServiceStatus Status(size_t i = 0) const { return supervisor_.Snapshot().at(i); }
  bool WaitUntil(const std::function<bool(const ServiceStatus&)>& predicate, size_t i = 0) const {
    return WaitFor([&] { return predicate(Status(i)); });
  }
  pid_t WaitRunning(size_t i = 0) const {
    const bool ok = WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kRunning; }, i);
    return ok ? Status(i).pid : 0;
  }

 private:
  std::atomic<bool> stop_{false};
  Supervisor supervisor_;
  int result_ = -1;
  std::thread thread_;  // declared last: starts once the members it uses exist
};

bool IsState(const ServiceStatus& s, ServiceState state) { return s.state == state; }

TEST(Supervisor, StartsChildAndStopsItWithSigterm) {
  SupervisorThread sup({Sleeper("api")});
  const pid_t pid = sup.WaitRunning();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(kill(pid, 0), 0);
  EXPECT_EQ(Comm(pid), "sleep\n");
  EXPECT_EQ(sup.Status().name, "api");
  EXPECT_GT(sup.Status().started_at, 0);

  EXPECT_EQ(sup.Stop(), 0);
  const ServiceStatus status = sup.Status();
  EXPECT_EQ(status.state, ServiceState::kStopped);
  EXPECT_EQ(status.pid, 0);
  ASSERT_TRUE(status.last_exit.has_value());
  EXPECT_EQ(status.last_exit->signal, SIGTERM);
  EXPECT_EQ(kill(pid, 0), -1);  // reaped
}

TEST(Supervisor, RestartsAKilledChildWithANewPid) {
  SupervisorThread sup({Sleeper("worker-chunk")});
  const pid_t first = sup.WaitRunning();
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(sup.WaitUntil(
      [&](const ServiceStatus& s) { return s.state == ServiceState::kRunning && s.pid != first && s.pid != 0; }));
  const ServiceStatus status = sup.Status();
  EXPECT_EQ(status.restarts, 1);
  ASSERT_TRUE(status.last_exit.has_value());
  EXPECT_EQ(status.last_exit->signal, SIGKILL);
  EXPECT_EQ(kill(status.pid, 0), 0);
}

TEST(Supervisor, PolicyNoDoesNotRestart) {
  SupervisorThread sup({Spec("once", {"/bin/sh", "-c", "exit 3"}, RestartPolicy::kNo)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return IsState(s, ServiceState::kExited); }));
  std::this_thread::sleep_for(300ms);  // several backoff periods: nothing may happen
  const ServiceStatus status = sup.Status();
  EXPECT_EQ(status.state, ServiceState::kExited);
  EXPECT_EQ(status.restarts, 0);
  ASSERT_TRUE(status.last_exit.has_value());
  EXPECT_EQ(status.last_exit->code, 3);
}

TEST(Supervisor, OnFailureRestartsAfterAFailure) {
  SupervisorThread sup({Spec("flaky", {"/bin/sh", "-c", "exit 3"}, RestartPolicy::kOnFailure)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 2; }));
  EXPECT_EQ(sup.Status().last_exit->code, 3);
}

TEST(Supervisor, OnFailureDoesNotRestartAfterSuccess) {
  SupervisorThread sup({Spec("job", {"/bin/true"}, RestartPolicy::kOnFailure)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return IsState(s, ServiceState::kExited); }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sup.Status().state, ServiceState::kExited);
  EXPECT_EQ(sup.Status().restarts, 0);
  EXPECT_TRUE(sup.Status().last_exit->success());
}

TEST(Supervisor, AlwaysAndUnlessStoppedRestartAfterSuccess) {
  SupervisorThread sup(
      {Spec("a", {"/bin/true"}, RestartPolicy::kAlways), Spec("u", {"/bin/true"}, RestartPolicy::kUnlessStopped)});
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 2; }, i));
    EXPECT_TRUE(sup.Status(i).last_exit->success());
  }
}

TEST(Supervisor, BackoffGrowsAndIsCapped) {
  auto spec = Spec("crashloop", {"/bin/sh", "-c", "exit 1"}, RestartPolicy::kAlways);
  spec.backoff_initial_s = 0.1;
  spec.backoff_max_s = 0.4;
  spec.crash_loop_after = 100;  // stays kBackoff (not kFailing) between restarts
  const auto start = SteadyClock::now();
  SupervisorThread sup({spec});
  std::map<int, double> delay_before_restart;  // restart number -> delay observed in backoff
  ASSERT_TRUE(sup.WaitUntil([&](const ServiceStatus& s) {
    if (s.state == ServiceState::kBackoff) delay_before_restart[s.restarts + 1] = s.backoff_s;
    return s.restarts >= 5;
  }));
  // The supervisor really waited: 0.1 + 0.2 + 0.4 + 0.4 + 0.4 at least.
  EXPECT_GE(SteadyClock::now() - start, 1400ms);
  // Sampling may miss a short backoff on a loaded machine; whatever was seen must fit.
  ASSERT_FALSE(delay_before_restart.empty());
  for (const auto& [restart, delay] : delay_before_restart) {
    EXPECT_DOUBLE_EQ(delay, std::min(0.1 * (1 << (restart - 1)), 0.4)) << "restart " << restart;
  }
  EXPECT_DOUBLE_EQ(delay_before_restart.rbegin()->second, 0.4);
}

TEST(Supervisor, StopSendsSigtermToEveryChild) {
  SupervisorThread sup({Sleeper("api"), Sleeper("worker-embed")});
  const pid_t api = sup.WaitRunning(0);
  const pid_t worker = sup.WaitRunning(1);
  ASSERT_GT(api, 0);
  ASSERT_GT(worker, 0);
  EXPECT_EQ(sup.Stop(), 0);
  for (size_t i : {0, 1}) {
    EXPECT_EQ(sup.Status(i).state, ServiceState::kStopped);
    EXPECT_EQ(sup.Status(i).last_exit->signal, SIGTERM);
  }
  EXPECT_EQ(kill(api, 0), -1);
  EXPECT_EQ(kill(worker, 0), -1);
}

TEST(Supervisor, ChildIgnoringSigtermIsKilledAfterTheGracePeriod) {
  SupervisorOptions options;
  options.stop_grace_s = 0.5;
  SupervisorThread sup(
      {Spec("stubborn", {"/bin/sh", "-c", "trap '' TERM; exec /bin/sleep 100"}, RestartPolicy::kAlways),
       Sleeper("polite")},
      options);
  const pid_t stubborn = sup.WaitRunning(0);
  ASSERT_GT(stubborn, 0);
  ASSERT_GT(sup.WaitRunning(1), 0);
  ASSERT_TRUE(WaitFor([&] { return Comm(stubborn) == "sleep\n"; }));  // the trap is in place
  const auto start = SteadyClock::now();
  EXPECT_EQ(sup.Stop(), 0);
  EXPECT_GE(SteadyClock::now() - start, 450ms);
  EXPECT_EQ(sup.Status(0).last_exit->signal, SIGKILL);
  EXPECT_EQ(sup.Status(1).last_exit->signal, SIGTERM);
  EXPECT_EQ(kill(stubborn, 0), -1);
}

TEST(Supervisor, StopDuringBackoffDoesNotRestart) {
  auto spec = Spec("slow-restart", {"/bin/sh", "-c", "exit 1"}, RestartPolicy::kAlways);
  spec.backoff_initial_s = spec.backoff_max_s = 60;
  SupervisorThread sup({spec});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return IsState(s, ServiceState::kBackoff); }));
  EXPECT_EQ(sup.Stop(), 0);
  EXPECT_EQ(sup.Status().state, ServiceState::kStopped);
  EXPECT_EQ(sup.Status().restarts, 0);
}

TEST(Supervisor, WritesChildOutputToLogPath) {
  testing::TempDir dir;
  auto spec = Spec("worker", {"/bin/sh", "-c", "echo hello from $SERVICE; echo oops >&2"}, RestartPolicy::kNo);
  spec.extra_env = {{"SERVICE", "worker"}};
  spec.log_path = dir.path() + "/worker.log";
  SupervisorThread sup({spec});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return IsState(s, ServiceState::kExited); }));
  EXPECT_EQ(ReadFile(spec.log_path), "hello from worker\noops\n");
}

TEST(Supervisor, InvalidSpecIsReportedAndNeverStarted) {
  SupervisorThread sup({Spec("relative", {"sleep", "100"}, RestartPolicy::kAlways)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return IsState(s, ServiceState::kExited); }));
  EXPECT_EQ(sup.Status().restarts, 0);
  EXPECT_NE(sup.Status().last_error.find("absolute"), std::string::npos) << sup.Status().last_error;
}

TEST(Supervisor, MissingBinaryIsRetriedWithBackoff) {
  SupervisorThread sup({Spec("missing", {"/nonexistent/refinery"}, RestartPolicy::kOnFailure)});
  ASSERT_TRUE(sup.WaitUntil([](const ServiceStatus& s) { return s.restarts >= 2; }));
  EXPECT_NE(sup.Status().last_error.find("No such file"), std::string::npos) << sup.Status().last_error;
}

// While alive, orphans anywhere below this process are re-parented to it,
// so the test can reap (and inspect) a grandchild whose parent died.
class ScopedSubreaper {
 public:
  ScopedSubreaper() { ok_ = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }
  ~ScopedSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
  ScopedSubreaper(const ScopedSubreaper&) = delete;
  ScopedSubreaper& operator=(const ScopedSubreaper&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

// Forked helper process: supervises one child that writes its pid to
// `pid_file`; never returns.
[[noreturn]] void RunHelperSupervisor(const std::string& pid_file) {
  try {
    const std::string script =
        "echo $$ > " + pid_file + ".tmp && mv " + pid_file + ".tmp " + pid_file + " && exec /bin/sleep 100";
    Supervisor supervisor({Spec("grandchild", {"/bin/sh", "-c", script}, RestartPolicy::kNo)});
    std::atomic<bool> never{false};
    supervisor.Run(never);
  } catch (...) {
  }
  _exit(1);
}

TEST(Supervisor, ChildrenDieWhenTheSupervisorIsKilled) {
  ScopedSubreaper subreaper;
  ASSERT_TRUE(subreaper.ok());
  testing::TempDir dir;
  const std::string pid_file = dir.path() + "/grandchild.pid";
  const pid_t helper = fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) RunHelperSupervisor(pid_file);

  pid_t grandchild = 0;
  const bool started = WaitFor([&] {
    grandchild = std::atoi(ReadFile(pid_file).c_str());
    return grandchild > 0 && Comm(grandchild) == "sleep\n";
  });
  ASSERT_EQ(kill(helper, SIGKILL), 0);
  ASSERT_EQ(waitpid(helper, nullptr, 0), helper);
  ASSERT_TRUE(started);

  // PDEATHSIG's SIGTERM kills the orphan, which re-parents to us: reap it.
  int status = 0;
  const bool died = WaitFor([&] { return waitpid(grandchild, &status, WNOHANG) == grandchild; }, 5s);
  if (!died) {  // do not leak it into other tests
    kill(grandchild, SIGKILL);
    waitpid(grandchild, nullptr, 0);
  }
  ASSERT_TRUE(died) << "grandchild " << grandchild << " outlived its supervisor";
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

}  // namespace
}  // namespace refinery

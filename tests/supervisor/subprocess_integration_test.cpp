// Subprocess against real children: exec, environment, log redirection,
// signal state and fd hygiene in the child, termination and reaping.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "supervisor/supervisor.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `condition` until it holds or a timeout generous enough to mean "hung".
bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The value of a "Key:\tvalue" line of /proc/<pid>/status.
std::string ProcStatusField(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(line.find_first_not_of(" \t", key.size() + 1));
  }
  return "";
}

std::string Comm(pid_t pid) { return ReadFile("/proc/" + std::to_string(pid) + "/comm"); }

Subprocess SpawnOrDie(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                      const std::string& log_path = "") {
  auto child = Subprocess::Spawn(argv, env, log_path);
  if (!child.ok()) throw std::runtime_error(child.status().ToString());
  return std::move(child).value();
}

TEST(Subprocess, ReportsExitCode) {
  Subprocess child = SpawnOrDie({"/bin/sh", "-c", "exit 3"});
  EXPECT_GT(child.pid(), 0);
  const ExitStatus status = child.Wait();
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.signal, 0);
  EXPECT_FALSE(child.running());
  EXPECT_FALSE(child.Signal(SIGTERM));  // reaped: the pid may belong to someone else now
}

TEST(Subprocess, ExecsArgvExactly) {
  Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
  const std::string cmdline = ReadFile("/proc/" + std::to_string(child.pid()) + "/cmdline");
  EXPECT_EQ(cmdline, std::string("/bin/sleep\0"
                                 "100\0",
                                 15));
}

TEST(Subprocess, PollReportsNothingWhileRunning) {
  Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
  EXPECT_FALSE(child.Poll().has_value());
  EXPECT_TRUE(child.running());
  ASSERT_TRUE(child.Signal(SIGKILL));
  ASSERT_TRUE(WaitFor([&] { return child.Poll().has_value(); }));
  EXPECT_EQ(child.exit_status()->signal, SIGKILL);
}

TEST(Subprocess, DestructorTerminatesAndReaps) {
  pid_t pid = 0;
  {
    Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
    pid = child.pid();
    ASSERT_EQ(kill(pid, 0), 0);
  }
  // Reaped, not merely killed: no zombie left to wait for.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(Subprocess, TerminateKillsAChildIgnoringSigterm) {
  Subprocess child = SpawnOrDie({"/bin/sh", "-c", "trap '' TERM; exec /bin/sleep 100"});
  ASSERT_TRUE(WaitFor([&] { return Comm(child.pid()) == "sleep\n"; }));  // the trap is in place
  const auto start = std::chrono::steady_clock::now();
  const ExitStatus status = child.Terminate(300ms);
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
}

TEST(Subprocess, TerminateUsesSigtermFirst) {
  Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
  EXPECT_EQ(child.Terminate(20s).signal, SIGTERM);
}

TEST(Subprocess, MoveTransfersOwnership) {
  Subprocess first = SpawnOrDie({"/bin/sleep", "100"});
  const pid_t pid = first.pid();
  Subprocess second = std::move(first);
  EXPECT_FALSE(first.running());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(second.running());
  EXPECT_EQ(second.pid(), pid);
  second = SpawnOrDie({"/bin/sleep", "100"});  // the old child is terminated and reaped
  EXPECT_EQ(kill(pid, 0), -1);
}

TEST(Subprocess, RejectsRelativeArgv0) {
  auto child = Subprocess::Spawn({"sleep", "1"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kInvalidArgument);
}

TEST(Subprocess, ReportsExecFailure) {
  auto child = Subprocess::Spawn({"/nonexistent/refinery-binary"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(child.status().message().find("No such file"), std::string::npos) << child.status().ToString();
}

TEST(Subprocess, AppendsStdoutAndStderrToLogPath) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/child.log";
  std::ofstream(log) << "before\n";
  Subprocess child = SpawnOrDie({"/bin/sh", "-c", "echo out; echo err >&2"}, {}, log);
  EXPECT_EQ(child.Wait().code, 0);
  EXPECT_EQ(ReadFile(log), "before\nout\nerr\n");
}

TEST(Subprocess, ReportsAnUnopenableLogPath) {
  auto child = Subprocess::Spawn({"/bin/true"}, {}, "/nonexistent-dir/child.log");
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kUnavailable);
}

TEST(Subprocess, ExtraEnvOverridesAndExtendsOurs) {
  ASSERT_EQ(setenv("REFINERY_SUP_TEST_A", "parent", 1), 0);
  ASSERT_EQ(setenv("REFINERY_SUP_TEST_B", "kept", 1), 0);
  testing::TempDir dir;
  const std::string log = dir.path() + "/env.log";
  Subprocess child =
      SpawnOrDie({"/bin/sh", "-c", "echo $REFINERY_SUP_TEST_A $REFINERY_SUP_TEST_B $REFINERY_SUP_TEST_C"},
                 {{"REFINERY_SUP_TEST_A", "child"}, {"REFINERY_SUP_TEST_C", "new"}}, log);
  EXPECT_EQ(child.Wait().code, 0);
  EXPECT_EQ(ReadFile(log), "child kept new\n");
  unsetenv("REFINERY_SUP_TEST_A");
  unsetenv("REFINERY_SUP_TEST_B");
}

TEST(Subprocess, ChildStartsWithDefaultSignalState) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigset_t previous_mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &blocked, &previous_mask), 0);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous_action {};
  ASSERT_EQ(sigaction(SIGUSR2, &ignore, &previous_action), 0);  // ignored dispositions survive exec

  Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  sigaction(SIGUSR2, &previous_action, nullptr);

  // Only the classic signals 1..31 are ours to reset: glibc reserves 32 and
  // 33 for itself (sigaction refuses them), so a parent environment that
  // ignores those passes them on whatever we do.
  auto classic = [](const std::string& hex) { return std::stoull(hex, nullptr, 16) & 0x7FFFFFFFULL; };
  EXPECT_EQ(classic(ProcStatusField(child.pid(), "SigBlk")), 0u);
  EXPECT_EQ(classic(ProcStatusField(child.pid(), "SigIgn")), 0u);
}

TEST(Subprocess, FdsWithoutCloexecDoNotLeak) {
  const int fd = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 0);
  Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
  const std::string fd_path = "/proc/" + std::to_string(child.pid()) + "/fd/" + std::to_string(fd);
  EXPECT_NE(access(fd_path.c_str(), F_OK), 0) << fd_path << " leaked into the child";
  close(fd);
}

TEST(Subprocess, StaysInOurSession) {
  Subprocess child = SpawnOrDie({"/bin/sleep", "100"});
  EXPECT_EQ(getsid(child.pid()), getsid(0));
  EXPECT_EQ(getpgid(child.pid()), getpgid(0));
}

}  // namespace
}  // namespace refinery

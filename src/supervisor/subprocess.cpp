// Subprocess: fork+execve of one child, and its reaping.
//
// Between fork and exec the child may run only async-signal-safe code (the
// parent may have other threads holding malloc's or spdlog's locks), so
// everything it needs -- argv, envp, the log fd -- is prepared before fork.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <system_error>
#include <thread>
#include <utility>

#include "supervisor/supervisor.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace refinery {

namespace {

using Clock = std::chrono::steady_clock;

// A file descriptor closed on scope exit.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string ErrnoMessage(int err) { return std::error_code(err, std::generic_category()).message(); }

// The strings and NULL-terminated pointer arrays execve wants, built before
// fork because the child must not allocate.
class ExecPlan {
 public:
  ExecPlan(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env)
      : argv_storage_(argv), env_storage_(MergedEnvironment(extra_env)) {
    for (auto& arg : argv_storage_) argv_.push_back(arg.data());
    argv_.push_back(nullptr);
    for (auto& entry : env_storage_) envp_.push_back(entry.data());
    envp_.push_back(nullptr);
  }
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  // Our environment, minus the keys extra_env overrides, plus extra_env.
  static std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      std::string text(*entry);
      if (extra.count(text.substr(0, text.find('='))) == 0) env.push_back(std::move(text));
    }
    for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
    return env;
  }

  std::vector<std::string> argv_storage_;
  std::vector<std::string> env_storage_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

// Blocks every signal in this thread for its lifetime, so that between fork
// and the reset of dispositions no inherited handler can run in the child.
class BlockAllSignals {
 public:
  BlockAllSignals() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous_);
  }
  ~BlockAllSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockAllSignals(const BlockAllSignals&) = delete;
  BlockAllSignals& operator=(const BlockAllSignals&) = delete;

 private:
  sigset_t previous_;
};

// Child side: tells the parent why exec failed, then exits.
[[noreturn]] void ReportErrnoAndExit(int error_fd) {
  const int err = errno;
  [[maybe_unused]] ssize_t ignored = ::write(error_fd, &err, sizeof err);
  _exit(127);
}

// Child side: default dispositions first, then an empty mask, so a pending
// SIGTERM (e.g. from PDEATHSIG) is delivered with its default action.
void ResetSignals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);  // EINVAL for KILL/STOP: fine
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Child side, async-signal-safe only. Signals are blocked on entry.
[[noreturn]] void RunChild(const ExecPlan& plan, pid_t parent, int log_fd, int error_fd) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The parent may have died before prctl took effect: then no signal comes.
  if (getppid() != parent) _exit(127);
  ResetSignals();
  if (log_fd >= 0 && (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)) {
    ReportErrnoAndExit(error_fd);
  }
  // Fds other code opened without O_CLOEXEC must not leak into the child;
  // best effort (kernel >= 5.11), ours are O_CLOEXEC already.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(plan.argv()[0], plan.argv(), plan.envp());
  ReportErrnoAndExit(error_fd);
}

// Reads the child's exec errno; false (EOF) means exec succeeded.
bool ReadExecErrno(int fd, int* child_errno) {
  ssize_t n;
  do {
    n = ::read(fd, child_errno, sizeof *child_errno);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof *child_errno);
}

}  // namespace

Result<Subprocess> Subprocess::Spawn(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& extra_env, const std::string& log_path) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return Status::InvalidArgument("argv[0] must be an absolute path");
  }
  const ExecPlan plan(argv, extra_env);
  UniqueFd log(log_path.empty() ? -1 : ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log_path.empty() && log.get() < 0) {
    return Status::Unavailable("open " + log_path + ": " + ErrnoMessage(errno));
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::Internal("pipe2: " + ErrnoMessage(errno));
  UniqueFd error_read(pipe_fds[0]);
  UniqueFd error_write(pipe_fds[1]);

  const pid_t parent = getpid();
  pid_t pid;
  {
    BlockAllSignals blocked;
    pid = fork();
    if (pid == 0) RunChild(plan, parent, log.get(), error_write.get());
  }
  if (pid < 0) return Status::Unavailable("fork: " + ErrnoMessage(errno));
  error_write.reset();  // so the read below sees EOF once exec closes the child's copy

  Subprocess child(pid);
  int child_errno = 0;
  if (ReadExecErrno(error_read.get(), &child_errno)) {
    child.Wait();
    return Status::Unavailable("exec " + argv[0] + ": " + ErrnoMessage(child_errno));
  }
  return Result<Subprocess>(std::move(child));
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      exit_(std::exchange(other.exit_, std::nullopt)),
      stop_grace_(other.stop_grace_) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (running()) Terminate(stop_grace_);
    pid_ = std::exchange(other.pid_, -1);
    exit_ = std::exchange(other.exit_, std::nullopt);
    stop_grace_ = other.stop_grace_;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (running()) Terminate(stop_grace_);
}

void Subprocess::Record(int wait_status) {
  ExitStatus status;
  if (WIFSIGNALED(wait_status)) {
    status.signal = WTERMSIG(wait_status);
  } else {
    status.code = WEXITSTATUS(wait_status);
  }
  exit_ = status;
}

std::optional<ExitStatus> Subprocess::Poll() {
  if (!running()) return exit_;
  int wait_status = 0;
  const pid_t reaped = waitpid(pid_, &wait_status, WNOHANG);
  if (reaped == pid_) {
    Record(wait_status);
  } else if (reaped < 0 && errno == ECHILD) {
    exit_ = ExitStatus{-1, 0};  // reaped behind our back (SIGCHLD ignored, or waitpid(-1) elsewhere)
  }
  return exit_;
}

ExitStatus Subprocess::Wait() {
  while (running()) {
    int wait_status = 0;
    const pid_t reaped = waitpid(pid_, &wait_status, 0);
    if (reaped == pid_) {
      Record(wait_status);
    } else if (reaped < 0 && errno != EINTR) {
      exit_ = ExitStatus{-1, 0};
    }
  }
  return exit_.value_or(ExitStatus{-1, 0});
}

bool Subprocess::Signal(int sig) { return running() && ::kill(pid_, sig) == 0; }

ExitStatus Subprocess::Terminate(std::chrono::milliseconds grace) {
  if (!running()) return exit_.value_or(ExitStatus{-1, 0});
  Signal(SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (!Poll() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (running()) Signal(SIGKILL);
  return Wait();
}

}  // namespace refinery

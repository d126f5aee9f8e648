// Supervisor: runs a set of services as child processes of this one, and
// restarts them by policy with exponential backoff, like docker compose's
// restart policies where there is no Docker (`refinery up`).
//
// Process model: children are fork+execve'd directly (no shell), stay in our
// session and process group (Ctrl-C reaches them too), and get SIGTERM from
// the kernel if the thread that spawned them dies (PR_SET_PDEATHSIG), so a
// SIGKILLed supervisor leaves no orphans. Only pids we have not yet reaped
// are ever signalled, so a recycled pid is never hit.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace refinery {

// When an exited service is started again. kUnlessStopped behaves like
// kAlways here (docker's difference concerns daemon restarts, which a
// supervisor that stops with its children does not have).
enum class RestartPolicy { kNo, kOnFailure, kAlways, kUnlessStopped };

// "no" | "on-failure" | "always" | "unless-stopped", as in compose files.
Result<RestartPolicy> ParseRestartPolicy(const std::string& name);
const char* RestartPolicyName(RestartPolicy policy);

struct ServiceSpec {
  std::string name;               // unique; used in logs and Snapshot()
  std::vector<std::string> argv;  // argv[0]: absolute path, exec'd as is (no PATH search)
  std::map<std::string, std::string> extra_env;  // set on top of our environment
  RestartPolicy policy = RestartPolicy::kUnlessStopped;
  double backoff_initial_s = 0.5;  // delay before the first restart
  double backoff_max_s = 30;       // the doubling delay never exceeds this
  double stable_after_s = 10;      // a child that ran this long resets the backoff
  std::string log_path;            // stdout+stderr appended here; empty: inherit ours
};

// Checks what Supervisor would otherwise only discover at spawn time: unique
// non-empty names, absolute argv[0], positive backoff with initial <= max.
Status ValidateServiceSpecs(const std::vector<ServiceSpec>& specs);

// How a child ended.
struct ExitStatus {
  int code = 0;    // exit code when signal == 0; -1 if someone else reaped it
  int signal = 0;  // the signal that killed it, 0 if it exited
  bool success() const { return signal == 0 && code == 0; }
  std::string ToString() const;  // "code 3" | "signal 9"
};

// Whether `policy` restarts a child that ended with `status`. Death by
// signal counts as a failure.
bool ShouldRestart(RestartPolicy policy, const ExitStatus& status);

// Restart delays of one service: initial, doubling, capped at max. Pure
// logic (no clock) so it is unit-testable; the caller says how long the
// child ran.
class RestartBackoff {
 public:
  RestartBackoff(double initial_s, double max_s, double stable_after_s);

  // The delay before restarting a child that ran for `ran_for_s`; a child
  // that ran at least stable_after_s starts the sequence over.
  double NextDelay(double ran_for_s);

 private:
  double initial_s_;
  double max_s_;
  double stable_after_s_;
  double last_s_ = 0;  // the previous delay; 0 right after a reset
};

// Owns one child process: the object's lifetime bounds the child's, so a
// child is never leaked and never left a zombie. Move-only. Not thread-safe;
// use from one thread.
class Subprocess {
 public:
  // Forks and execve's argv (argv[0] an absolute path) with our environment
  // plus extra_env. With a log_path, the child's stdout and stderr are
  // appended to that file. Fails if argv is invalid, the log cannot be
  // opened, or exec fails (the child's errno is reported, not an exit 127).
  // The child gets SIGTERM when the *calling thread* exits, so spawn from a
  // thread that outlives the child.
  static Result<Subprocess> Spawn(const std::vector<std::string>& argv,
                                  const std::map<std::string, std::string>& extra_env = {},
                                  const std::string& log_path = "");

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // If the child still runs: Terminate(stop_grace).
  ~Subprocess();

  pid_t pid() const { return pid_; }  // kept after reaping, for logs
  bool running() const { return pid_ > 0 && !exit_; }
  const std::optional<ExitStatus>& exit_status() const { return exit_; }

  // Grace between SIGTERM and SIGKILL when the destructor stops the child.
  void set_stop_grace(std::chrono::milliseconds grace) { stop_grace_ = grace; }

  // Reaps the child if it has exited, without blocking.
  std::optional<ExitStatus> Poll();
  // Blocks until the child exits and reaps it.
  ExitStatus Wait();
  // Sends `sig`; false (and nothing sent) once the child has been reaped.
  bool Signal(int sig);
  // SIGTERM, up to `grace` for it to exit, then SIGKILL; always reaps.
  ExitStatus Terminate(std::chrono::milliseconds grace);

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  void Record(int wait_status);

  pid_t pid_ = -1;
  std::optional<ExitStatus> exit_;  // set once reaped
  std::chrono::milliseconds stop_grace_{10000};
};

enum class ServiceState {
  kStarting,  // not spawned yet
  kRunning,   // a child is alive
  kBackoff,   // exited; waiting to be restarted
  kExited,    // exited; the policy does not restart it (or its spec is invalid)
  kStopped,   // stopped by the supervisor on shutdown
};
const char* ServiceStateName(ServiceState state);  // "running", ...

struct ServiceStatus {
  std::string name;
  pid_t pid = 0;  // the live child, 0 when none
  ServiceState state = ServiceState::kStarting;
  int restarts = 0;                     // restart attempts so far
  std::optional<ExitStatus> last_exit;  // how the previous child ended
  std::string last_error;               // why the last spawn failed, if it did
  double started_at = 0;                // epoch seconds of the current/last spawn
  double backoff_s = 0;                 // the delay chosen for the latest restart
};

struct SupervisorOptions {
  double stop_grace_s = 10;      // SIGTERM -> SIGKILL on shutdown
  double poll_interval_s = 0.05; // how often children are checked (and the stop flag)
};

class Supervisor {
 public:
  explicit Supervisor(std::vector<ServiceSpec> specs, SupervisorOptions options = {});
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every service, then reaps and restarts them by policy until
  // `stop` becomes true; then SIGTERMs every child, SIGKILLs those still
  // alive after stop_grace_s, reaps all and returns 0.
  // REQUIRES: called once. Children are bound to the calling thread (see
  // Subprocess::Spawn), which Run does not return to before reaping them.
  int Run(const std::atomic<bool>& stop);

  // A copy of every service's status, in spec order. Thread-safe.
  std::vector<ServiceStatus> Snapshot() const;

 private:
  struct Service;  // spec, child and backoff of one service; Run's thread only

  void Start(size_t i, bool restart);
  void Step(size_t i, bool stopping);
  void OnExit(size_t i, const ExitStatus& status);
  void OnSpawnFailure(size_t i, const Status& error);
  // Backoff, or kExited if the policy says so; `event` is for the log line.
  void ScheduleRestart(size_t i, const ExitStatus& status, double ran_for_s, const std::string& event);
  void StopAll();
  void FinishStopped(size_t i);
  template <typename F>
  void UpdateStatus(size_t i, F&& update);

  // Constant after construction.
  const SupervisorOptions options_;
  // Touched by Run's thread only.
  std::vector<Service> services_;
  // Guards statuses_, which Snapshot() reads from any thread.
  mutable std::mutex mu_;
  std::vector<ServiceStatus> statuses_;
};

// Makes SIGINT and SIGTERM store true into `stop` (and nothing else, which
// is all a handler may safely do) while this object lives; the previous
// handlers come back on destruction. Scopes must nest (LIFO).
//
// Why a global: a signal handler receives no user pointer, so the flag's
// address lives in one process-wide lock-free atomic — the only mutable
// global state of this module.
class StopSignals {
 public:
  explicit StopSignals(std::atomic<bool>& stop);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  std::atomic<bool>* previous_flag_;
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace refinery

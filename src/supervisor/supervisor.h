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
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/backoff.h"
#include "core/failure_streak.h"
#include "core/status.h"

namespace refinery {

// When an exited service is started again. kUnlessStopped differs from
// kAlways only in that a service stopped by hand (`refinery stop`) stays
// stopped, also across supervisor restarts (SupervisorOptions::stopped_file).
enum class RestartPolicy { kNo, kOnFailure, kAlways, kUnlessStopped };

// "no" | "on-failure" | "always" | "unless-stopped", as in compose files.
Result<RestartPolicy> ParseRestartPolicy(const std::string& name);
const char* RestartPolicyName(RestartPolicy policy);

// How the supervisor decides a running child is healthy. A probe runs off
// the supervisor's thread, so a slow one never delays reaping.
struct HealthCheckSpec {
  // kHttp: GET `target` answers 2xx within timeout_s. kHeartbeat: the file
  // `target` was modified within the last timeout_s (the child beats it).
  enum class Kind { kNone, kHttp, kHeartbeat };
  Kind kind = Kind::kNone;
  std::string target;
  double interval_s = 1;  // between probes
  double timeout_s = 1;   // per probe (kHeartbeat: the oldest beat still fresh)
  int retries = 3;        // consecutive failures after the start period -> unhealthy
  // kHttp: the answer must name the probed child in X-Refinery-Pid, so
  // another process answering on the port (an older instance) is not
  // taken for ours.
  bool answered_by_child = false;
};

struct ServiceSpec {
  std::string name;                              // unique; used in logs and Snapshot()
  std::vector<std::string> argv;                 // argv[0]: absolute path, exec'd as is (no PATH search)
  std::map<std::string, std::string> extra_env;  // set on top of our environment
  RestartPolicy policy = RestartPolicy::kUnlessStopped;
  double backoff_initial_s = 0.5;  // delay before the first restart
  double backoff_max_s = 30;       // the doubling delay never exceeds this
  double stable_after_s = 10;      // a child that ran this long (or passed a health check) resets the backoff
  std::string log_path;            // stdout+stderr appended here; empty: inherit ours
  // A child that exits within start_period_s counts as a quick exit; health
  // probe failures in this period are not counted (as in docker).
  double start_period_s = 5;
  int crash_loop_after = 3;  // this many quick exits in a row -> kFailing
  HealthCheckSpec health;    // an unhealthy child is SIGKILLed, then restarted by policy
  // Readiness (compose's `condition: service_healthy`): probed every
  // ready.interval_s until it first passes for the current child; gates the
  // first start of services that depend on this one, never restarts it.
  // Without one, a dependency is ready once its health check passes, or
  // once it runs if it has no health check either.
  HealthCheckSpec ready;
  // Services (by name) that must be ready before this one first starts.
  // Restarts are not gated: a worker that crashes later restarts at once.
  std::vector<std::string> depends_on;
};

// Checks what Supervisor would otherwise only discover at spawn time: unique
// non-empty names, absolute argv[0], positive backoff with initial <= max,
// depends_on naming other services of `specs`, without cycles.
Status ValidateServiceSpecs(const std::vector<ServiceSpec>& specs);
// The checks of one spec alone (no names of other services involved).
Status ValidateServiceSpec(const ServiceSpec& spec);

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

// Restart delays of one service: initial, doubling, capped at max, without
// jitter (core/backoff.h's rule). Pure logic (no clock) so it is
// unit-testable; the caller says how long the child ran.
class RestartBackoff {
 public:
  RestartBackoff(double initial_s, double max_s, double stable_after_s);

  // The delay before restarting a child that ran for `ran_for_s`; a child
  // that ran at least stable_after_s starts the sequence over.
  double NextDelay(double ran_for_s);

 private:
  Backoff backoff_;
  double stable_after_s_;
  int restarts_ = 0;  // since the last reset, this one included
};

// Crash-loop detection of one service: pure logic, the caller says how long
// each child ran. Failing is sticky until Reset(): a service is healthy
// again only once a child stays up past stable_after_s.
class CrashLoop {
 public:
  CrashLoop(double start_period_s, int threshold) : start_period_s_(start_period_s), threshold_(threshold) {}
  // Records an exit after `ran_for_s`; returns failing().
  bool RecordExit(double ran_for_s);
  void Reset() {
    quick_exits_ = 0;
    failing_ = false;
  }
  bool failing() const { return failing_; }

 private:
  double start_period_s_;
  int threshold_;
  int quick_exits_ = 0;  // consecutive exits within the start period
  bool failing_ = false;
};

enum class Health { kNone, kStarting, kHealthy, kUnhealthy };
const char* HealthName(Health health);  // "-", "starting", "healthy", "unhealthy"

// Health state of one child from its probe results, docker's rules:
// `retries` consecutive counted failures make it unhealthy (core's
// FailureStreak); on top, failures within the start period do not count
// unless a probe already succeeded. Pure logic.
class HealthTracker {
 public:
  explicit HealthTracker(int retries) : streak_(retries, FailureStreak::BeforeFirstSuccess::kCountsAsUsual) {}
  void Reset() { streak_.Reset(); }  // a new child
  // Records one probe `age_s` after the child started; true when it just
  // became unhealthy (the caller kills it).
  bool Record(bool ok, double age_s, double start_period_s);
  // kStarting until a probe passes or failures trip the streak; unhealthy
  // stays until a probe passes again (or Reset).
  Health health() const;

 private:
  FailureStreak streak_;
};

// One probe of `check` against child `pid` (blocking, at most about
// timeout_s); true if healthy.
bool ProbeHealth(const HealthCheckSpec& check, pid_t pid);

// Copy-truncate rotation for a log file children hold open with O_APPEND:
// when `path` exceeds max_bytes it is copied to path.1 (older copies shift
// up to path.<keep>, the oldest dropped) and truncated in place. Lines
// written between copy and truncate are lost, an accepted trade-off since
// the children cannot be told to reopen. No-op when small or missing.
Status RotateLogIfLarge(const std::string& path, int64_t max_bytes, int keep);

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
  kStopped,   // stopped by the supervisor on shutdown, or by hand
  kFailing,   // crash-looping: exits at once on every start; restarts go on
  kStopping,  // stopped by hand, SIGTERM sent, not reaped yet
  kWaiting,   // not started yet: a service it depends on is not ready
};
const char* ServiceStateName(ServiceState state);  // "running", ...

struct ServiceStatus {
  std::string name;
  pid_t pid = 0;  // the live child, 0 when none
  ServiceState state = ServiceState::kStarting;
  int restarts = 0;                     // restart attempts so far
  std::optional<ExitStatus> last_exit;  // how the previous child ended
  std::string last_error;               // why the last spawn failed, or what it waits for
  double started_at = 0;                // epoch seconds of the current/last spawn
  double backoff_s = 0;                 // the delay chosen for the latest restart
  Health health = Health::kNone;        // kNone without a health check
  bool held = false;                    // stopped by hand; not restarted until started
};

struct SupervisorOptions {
  double stop_grace_s = 10;       // SIGTERM -> SIGKILL on shutdown and manual stop
  double poll_interval_s = 0.05;  // how often children are checked (and the stop flag)
  // Names of services stopped by hand, as a JSON array, read at construction
  // and rewritten on every change; empty: not persisted.
  std::string stopped_file;
  int64_t log_max_bytes = 10 << 20;  // per-service log rotation (RotateLogIfLarge)
  int log_keep = 3;
  double log_check_interval_s = 5;
};

// What `refinery stop|start|restart SERVICE` asks of the supervisor.
enum class ControlAction { kStop, kStart, kRestart };

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

  // Has Run's thread stop, start or restart service `name` by hand and
  // waits up to `timeout` for it (a stop: until the child is reaped).
  // `name` may also be a group: "worker-chunk" acts on every replica named
  // "worker-chunk.<n>". Starting a service that waits for its dependencies
  // starts it at once. NotFound for an unknown name; Unavailable if Run is
  // not looping. Thread-safe.
  Status Control(ControlAction action, const std::string& name, std::chrono::milliseconds timeout);

 private:
  struct Service;  // spec, child and backoff of one service; Run's thread only
  struct Request {
    ControlAction action;
    std::string name;
    std::promise<Status> done;
  };

  void Start(size_t i, bool restart);
  void Step(size_t i, bool stopping);
  void OnExit(size_t i, const ExitStatus& status);
  void NoteQuickExit(size_t i, double ran_for_s);  // crash-loop bookkeeping
  void SetLooping(bool looping);                   // false also fails the requests still queued
  void OnSpawnFailure(size_t i, const Status& error);
  // Backoff, or kExited if the policy says so; `event` is for the log line.
  void ScheduleRestart(size_t i, const ExitStatus& status, double ran_for_s, const std::string& event);
  void StopAll();
  void FinishStopped(size_t i);
  // Manual control and health, on Run's thread (supervisor_control.cpp).
  void HandleRequests();
  void Apply(Request& request);
  void StopByHand(size_t i, std::promise<Status> done);
  void StartByHand(size_t i);
  void RestartByHand(size_t i);
  void OnStoppedByHand(size_t i, const ExitStatus& status);
  void CheckHealth(size_t i);
  // Readiness for dependents (ServiceSpec::ready) and the gate it opens.
  void CheckReady(size_t i);
  bool Ready(size_t i) const;
  std::vector<std::string> UnreadyDependencies(size_t i) const;
  void StartWhenReady(size_t i);
  void CheckStable(size_t i);
  void RotateLogs();
  void LoadHeld();
  void SaveHeld() const;
  template <typename F>
  void UpdateStatus(size_t i, F&& update);

  // Constant after construction.
  const SupervisorOptions options_;
  // Touched by Run's thread only.
  std::vector<Service> services_;
  std::chrono::steady_clock::time_point next_log_check_{};
  // Guards statuses_, which Snapshot() reads from any thread, and requests_
  // and looping_, which Control() fills from any thread.
  mutable std::mutex mu_;
  std::vector<ServiceStatus> statuses_;
  std::deque<Request> requests_;
  bool looping_ = false;
};

// The control socket of `refinery up`: a Unix stream socket at `path`
// serving one line per connection -- "status" | "stop NAME" | "start NAME"
// | "restart NAME" -- with one JSON line in reply ({"ok":..,"error":..} or
// {"services":[...]}). A thread accepts while the object lives; the socket
// file is removed on destruction.
class ControlServer {
 public:
  static Result<std::unique_ptr<ControlServer>> Listen(Supervisor& supervisor, const std::string& path);
  // Only Listen can make the key (it has bound the socket `fd`).
  class Key {
    friend class ControlServer;
    Key() = default;
  };
  ControlServer(Key, Supervisor& supervisor, std::string path, int fd);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  void Loop();

  Supervisor& supervisor_;
  const std::string path_;
  const int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts after the members it uses exist
};

// The client side lives in control/control_client.h (ControlRequest), so
// the API and CLI reach a supervisor without depending on this module.

// The JSON form of Snapshot() that "status" replies with.
std::string StatusJson(const std::vector<ServiceStatus>& statuses);

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

// Supervisor: the reap/restart loop over Subprocess objects.
//
// Children are polled with waitpid(pid, WNOHANG) every poll_interval_s
// rather than woken by SIGCHLD: the stop flag must be polled anyway, and a
// SIGCHLD handler (or waitpid(-1)) would be process-wide state that could
// steal the exit statuses of children other code in this process owns.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "supervisor/service_internal.h"

namespace refinery {

namespace {

using Clock = SupervisorClock;

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

}  // namespace

Supervisor::Supervisor(std::vector<ServiceSpec> specs, SupervisorOptions options) : options_(options) {
  services_.reserve(specs.size());
  statuses_.reserve(specs.size());
  for (auto& spec : specs) {
    ServiceStatus status;
    status.name = spec.name;
    statuses_.push_back(std::move(status));
    services_.emplace_back(std::move(spec));
  }
}

Supervisor::~Supervisor() = default;

std::vector<ServiceStatus> Supervisor::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return statuses_;
}

int Supervisor::Run(const std::atomic<bool>& stop) {
  spdlog::info("supervisor: starting {} services", services_.size());
  LoadHeld();
  // Accept control requests from now on: a client that saw a service
  // running must not be told the supervisor is not running; requests queue
  // until the loop's first HandleRequests.
  SetLooping(true);
  for (size_t i = 0; i < services_.size(); ++i) {
    if (!services_[i].held) {
      StartWhenReady(i);
      continue;
    }
    UpdateStatus(i, [](ServiceStatus& st) { st.state = ServiceState::kStopped; });
    spdlog::info("service {} was stopped by hand; not starting it", services_[i].spec.name);
  }
  const auto interval = Millis(options_.poll_interval_s);
  while (!stop.load()) {
    HandleRequests();
    for (size_t i = 0; i < services_.size(); ++i) Step(i, stop.load());
    RotateLogs();
    std::this_thread::sleep_for(interval);
  }
  SetLooping(false);
  StopAll();
  return 0;
}

void Supervisor::Start(size_t i, bool restart) {
  Service& s = services_[i];
  s.restart_at.reset();
  if (!restart) {
    Status valid = ValidateServiceSpec(s.spec);
    if (!valid.ok()) return OnSpawnFailure(i, valid);
  } else {
    UpdateStatus(i, [](ServiceStatus& st) { ++st.restarts; });
  }
  // A beat the previous child left must not vouch for the new one.
  if (s.spec.health.kind == HealthCheckSpec::Kind::kHeartbeat) ::unlink(s.spec.health.target.c_str());
  auto spawned = Subprocess::Spawn(s.spec.argv, s.spec.extra_env, s.spec.log_path);
  if (!spawned.ok()) return OnSpawnFailure(i, spawned.status());
  s.child.emplace(std::move(spawned).value());
  s.child->set_stop_grace(Millis(options_.stop_grace_s));
  s.started = Clock::now();
  s.next_probe = s.started;
  s.next_ready_probe = s.started;
  s.ready = false;
  s.was_healthy = false;
  s.tracker.Reset();
  const pid_t pid = s.child->pid();
  const bool checked = s.spec.health.kind != HealthCheckSpec::Kind::kNone;
  int restarts = 0;
  UpdateStatus(i, [&](ServiceStatus& st) {
    st.pid = pid;
    st.state = s.crash.failing() ? ServiceState::kFailing : ServiceState::kRunning;
    st.health = checked ? Health::kStarting : Health::kNone;
    st.started_at = NowSeconds();
    st.last_error.clear();
    restarts = st.restarts;
  });
  spdlog::info("service {} started (pid {}, restarts {})", s.spec.name, pid, restarts);
}

void Supervisor::Step(size_t i, bool stopping) {
  Service& s = services_[i];
  if (s.waiting) {
    if (!stopping) StartWhenReady(i);
    return;
  }
  if (s.child) {
    CheckReady(i);
    if (auto status = s.child->Poll()) return OnExit(i, *status);
    if (s.kill_at && Clock::now() >= *s.kill_at) {
      spdlog::warn("service {} (pid {}) ignored SIGTERM; sending SIGKILL", s.spec.name, s.child->pid());
      s.child->Signal(SIGKILL);
      s.kill_at.reset();
    }
    CheckHealth(i);
    CheckStable(i);
    return;
  }
  // A child that died of the same Ctrl-C that set the flag is not restarted.
  if (s.restart_at && Clock::now() >= *s.restart_at && !stopping) Start(i, /*restart=*/true);
}

void Supervisor::OnExit(size_t i, const ExitStatus& status) {
  Service& s = services_[i];
  const double ran_for_s = SecondsSince(s.started);
  s.child.reset();
  s.kill_at.reset();
  UpdateStatus(i, [&](ServiceStatus& st) {
    st.pid = 0;
    st.last_exit = status;
    st.health = Health::kNone;
  });
  if (s.held) return OnStoppedByHand(i, status);
  if (s.restart_now) {
    s.restart_now = false;
    spdlog::info("service {} exited with {} for a restart by hand", s.spec.name, status.ToString());
    return Start(i, /*restart=*/true);
  }
  // A child that passed a health check started fine: its death (OOM kill,
  // kill -9) is no crash loop, so it comes back after the initial delay.
  const double counted_s =
      s.was_healthy ? std::max({ran_for_s, s.spec.stable_after_s, s.spec.start_period_s}) : ran_for_s;
  NoteQuickExit(i, counted_s);
  ScheduleRestart(i, status, counted_s, "exited with " + status.ToString());
}

void Supervisor::NoteQuickExit(size_t i, double ran_for_s) {
  Service& s = services_[i];
  const bool was_failing = s.crash.failing();
  if (s.crash.RecordExit(ran_for_s) && !was_failing) {
    spdlog::error("service {} is failing: it exited within {} s of starting {} times in a row", s.spec.name,
                  s.spec.start_period_s, s.spec.crash_loop_after);
  }
}

void Supervisor::OnSpawnFailure(size_t i, const Status& error) {
  UpdateStatus(i, [&](ServiceStatus& st) {
    st.pid = 0;
    st.last_error = error.ToString();
  });
  const std::string event = "failed to start (" + error.ToString() + ")";
  if (error.code() == StatusCode::kInvalidArgument) {  // a bad spec stays bad: never retried
    UpdateStatus(i, [](ServiceStatus& st) { st.state = ServiceState::kExited; });
    spdlog::error("service {} {}; not restarting", services_[i].spec.name, event);
    return;
  }
  NoteQuickExit(i, 0);
  ScheduleRestart(i, ExitStatus{127, 0}, 0, event);  // as a shell reports a failed exec
}

void Supervisor::ScheduleRestart(size_t i, const ExitStatus& status, double ran_for_s, const std::string& event) {
  Service& s = services_[i];
  const auto level = status.success() ? spdlog::level::info : spdlog::level::warn;
  if (!ShouldRestart(s.spec.policy, status)) {
    UpdateStatus(i, [](ServiceStatus& st) { st.state = ServiceState::kExited; });
    spdlog::log(level, "service {} {}; not restarting (policy {})", s.spec.name, event,
                RestartPolicyName(s.spec.policy));
    return;
  }
  const double delay_s = s.backoff.NextDelay(ran_for_s);
  s.restart_at = Clock::now() + SecondsDuration(delay_s);
  int next_restart = 0;
  const bool failing = s.crash.failing();
  UpdateStatus(i, [&](ServiceStatus& st) {
    st.state = failing ? ServiceState::kFailing : ServiceState::kBackoff;
    st.backoff_s = delay_s;
    next_restart = st.restarts + 1;
  });
  spdlog::log(level, "service {} {}; restarting in {} s (restart {})", s.spec.name, event, delay_s, next_restart);
}

void Supervisor::StopAll() {
  spdlog::info("supervisor: stopping services (SIGTERM, then SIGKILL after {} s)", options_.stop_grace_s);
  for (Service& s : services_) {
    if (s.child) s.child->Signal(SIGTERM);
  }
  const auto deadline = Clock::now() + Millis(options_.stop_grace_s);
  for (;;) {
    bool any_running = false;
    for (Service& s : services_) any_running |= s.child && !s.child->Poll();
    if (!any_running || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (size_t i = 0; i < services_.size(); ++i) FinishStopped(i);
  spdlog::info("supervisor: all services stopped");
}

void Supervisor::FinishStopped(size_t i) {
  Service& s = services_[i];
  s.restart_at.reset();
  s.waiting = false;
  std::optional<ExitStatus> status;
  if (s.child) {
    if (s.child->running()) {
      spdlog::warn("service {} (pid {}) ignored SIGTERM for {} s; sending SIGKILL", s.spec.name, s.child->pid(),
                   options_.stop_grace_s);
      s.child->Signal(SIGKILL);
    }
    status = s.child->Wait();
    spdlog::info("service {} stopped ({})", s.spec.name, status->ToString());
    s.child.reset();
  }
  UpdateStatus(i, [&](ServiceStatus& st) {
    st.state = ServiceState::kStopped;
    st.pid = 0;
    st.health = Health::kNone;
    if (status) st.last_exit = status;
  });
  for (auto& waiter : s.waiters) waiter.set_value(Status::Ok());
  s.waiters.clear();
}

}  // namespace refinery

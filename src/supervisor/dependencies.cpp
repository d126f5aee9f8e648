// Supervisor: start order. A service with depends_on waits (kWaiting) until
// each service it names is ready -- compose's `condition: service_healthy`
// -- so workers start only once the API reaches its store and queue. All on
// Run's thread.
#include <spdlog/spdlog.h>

#include "supervisor/service_internal.h"

namespace refinery {

void Supervisor::CheckReady(size_t i) {
  Service& s = services_[i];
  if (s.spec.ready.kind == HealthCheckSpec::Kind::kNone || s.ready || s.kill_at) return;
  if (s.ready_probe) {
    const int result = s.ready_probe->result.load();
    if (result < 0) return;
    const bool current = s.ready_probe->pid == s.child->pid();
    s.ready_probe.reset();
    if (!current || result != 1) return;
    s.ready = true;
    spdlog::info("service {} (pid {}) is ready", s.spec.name, s.child->pid());
    return;
  }
  if (SupervisorClock::now() < s.next_ready_probe) return;
  s.next_ready_probe = SupervisorClock::now() + SecondsDuration(s.spec.ready.interval_s);
  s.ready_probe = std::make_unique<ProbeRun>(s.spec.ready, s.child->pid());
}

bool Supervisor::Ready(size_t i) const {
  const Service& s = services_[i];
  if (!s.child || !s.child->running() || s.kill_at) return false;
  if (s.spec.ready.kind != HealthCheckSpec::Kind::kNone) return s.ready;
  if (s.spec.health.kind != HealthCheckSpec::Kind::kNone) return s.tracker.health() == Health::kHealthy;
  return true;
}

std::vector<std::string> Supervisor::UnreadyDependencies(size_t i) const {
  std::vector<std::string> unready;
  for (const auto& dep : services_[i].spec.depends_on) {
    bool ready = false;
    for (size_t j = 0; j < services_.size(); ++j) {
      if (services_[j].spec.name == dep) ready = Ready(j);
    }
    if (!ready) unready.push_back(dep);
  }
  return unready;
}

void Supervisor::StartWhenReady(size_t i) {
  Service& s = services_[i];
  const std::vector<std::string> unready = UnreadyDependencies(i);
  if (unready.empty()) {
    if (s.waiting) spdlog::info("service {}: its dependencies are ready; starting it", s.spec.name);
    s.waiting = false;
    return Start(i, /*restart=*/false);
  }
  std::string what = "waiting for";
  for (const auto& name : unready) what += (what.back() == 'r' ? " " : ", ") + name;
  if (!s.waiting) spdlog::info("service {}: {} to be ready", s.spec.name, what);
  s.waiting = true;
  UpdateStatus(i, [&](ServiceStatus& st) {
    st.state = ServiceState::kWaiting;
    st.last_error = what;
  });
}

}  // namespace refinery

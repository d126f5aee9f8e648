// Pure restart logic: policy names, spec validation, restart decisions and
// the backoff sequence. No processes, no clock.
#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "supervisor/supervisor.h"

namespace refinery {

namespace {

struct PolicyName {
  RestartPolicy policy;
  const char* name;
};
constexpr PolicyName kPolicyNames[] = {
    {RestartPolicy::kNo, "no"},
    {RestartPolicy::kOnFailure, "on-failure"},
    {RestartPolicy::kAlways, "always"},
    {RestartPolicy::kUnlessStopped, "unless-stopped"},
};

Status ValidateSpec(const ServiceSpec& spec) {
  const std::string where = "service '" + spec.name + "': ";
  if (spec.name.empty()) return Status::InvalidArgument("service with an empty name");
  if (spec.argv.empty()) return Status::InvalidArgument(where + "empty argv");
  if (spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return Status::InvalidArgument(where + "argv[0] must be an absolute path, got '" + spec.argv[0] + "'");
  }
  if (!(spec.backoff_initial_s > 0) || !(spec.backoff_max_s >= spec.backoff_initial_s)) {
    return Status::InvalidArgument(where + "need 0 < backoff_initial_s <= backoff_max_s");
  }
  if (!(spec.stable_after_s >= 0)) return Status::InvalidArgument(where + "stable_after_s must be >= 0");
  if (spec.crash_loop_after < 1) return Status::InvalidArgument(where + "crash_loop_after must be >= 1");
  for (const HealthCheckSpec* h : {&spec.health, &spec.ready}) {
    if (h->kind != HealthCheckSpec::Kind::kNone &&
        (h->target.empty() || !(h->interval_s > 0) || !(h->timeout_s > 0) || h->retries < 1)) {
      return Status::InvalidArgument(where +
                                     "health and ready checks need a target, interval_s > 0, timeout_s > 0, "
                                     "retries >= 1");
    }
  }
  return Status::Ok();
}

// depends_on names known services and has no cycle (depth-first search).
Status ValidateDependencies(const std::vector<ServiceSpec>& specs) {
  std::map<std::string, const ServiceSpec*> by_name;
  for (const auto& spec : specs) by_name[spec.name] = &spec;
  for (const auto& spec : specs) {
    for (const auto& dep : spec.depends_on) {
      if (!by_name.count(dep)) {
        return Status::InvalidArgument("service '" + spec.name + "': depends_on names no service: '" + dep + "'");
      }
    }
  }
  std::map<std::string, int> mark;  // 1: on the current path, 2: done
  std::function<Status(const ServiceSpec&)> visit = [&](const ServiceSpec& spec) -> Status {
    mark[spec.name] = 1;
    for (const auto& dep : spec.depends_on) {
      if (mark[dep] == 1)
        return Status::InvalidArgument("depends_on cycle through '" + spec.name + "' and '" + dep + "'");
      if (mark[dep] == 0) REFINERY_RETURN_IF_ERROR(visit(*by_name[dep]));
    }
    mark[spec.name] = 2;
    return Status::Ok();
  };
  for (const auto& spec : specs) {
    if (mark[spec.name] == 0) REFINERY_RETURN_IF_ERROR(visit(spec));
  }
  return Status::Ok();
}

}  // namespace

Result<RestartPolicy> ParseRestartPolicy(const std::string& name) {
  for (const auto& entry : kPolicyNames) {
    if (name == entry.name) return entry.policy;
  }
  return Status::InvalidArgument("unknown restart policy '" + name +
                                 "' (want no, on-failure, always or unless-stopped)");
}

const char* RestartPolicyName(RestartPolicy policy) {
  for (const auto& entry : kPolicyNames) {
    if (policy == entry.policy) return entry.name;
  }
  return "?";
}

Status ValidateServiceSpec(const ServiceSpec& spec) { return ValidateSpec(spec); }

Status ValidateServiceSpecs(const std::vector<ServiceSpec>& specs) {
  std::set<std::string> names;
  for (const auto& spec : specs) {
    REFINERY_RETURN_IF_ERROR(ValidateSpec(spec));
    if (!names.insert(spec.name).second) {
      return Status::InvalidArgument("duplicate service name '" + spec.name + "'");
    }
  }
  return ValidateDependencies(specs);
}

std::string ExitStatus::ToString() const {
  if (signal != 0) return "signal " + std::to_string(signal);
  return "code " + std::to_string(code);
}

bool ShouldRestart(RestartPolicy policy, const ExitStatus& status) {
  switch (policy) {
    case RestartPolicy::kNo:
      return false;
    case RestartPolicy::kOnFailure:
      return !status.success();
    case RestartPolicy::kAlways:
    case RestartPolicy::kUnlessStopped:
      return true;
  }
  return false;
}

RestartBackoff::RestartBackoff(double initial_s, double max_s, double stable_after_s)
    : backoff_{.base_s = initial_s, .max_s = max_s}, stable_after_s_(stable_after_s) {}

double RestartBackoff::NextDelay(double ran_for_s) {
  if (ran_for_s >= stable_after_s_) restarts_ = 0;
  restarts_ = std::min(restarts_ + 1, 64);  // the cap is reached long before
  // Unjittered: one supervisor decides each restart alone, so there is no
  // herd to spread out (the children's own reconnects are jittered), and the
  // delay `status` shows is the documented doubling.
  return PlainBackoff(backoff_, restarts_);
}

const char* ServiceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kStarting:
      return "starting";
    case ServiceState::kRunning:
      return "running";
    case ServiceState::kBackoff:
      return "backoff";
    case ServiceState::kExited:
      return "exited";
    case ServiceState::kStopped:
      return "stopped";
    case ServiceState::kFailing:
      return "failing";
    case ServiceState::kStopping:
      return "stopping";
    case ServiceState::kWaiting:
      return "waiting";
  }
  return "?";
}

const char* HealthName(Health health) {
  switch (health) {
    case Health::kNone:
      return "-";
    case Health::kStarting:
      return "starting";
    case Health::kHealthy:
      return "healthy";
    case Health::kUnhealthy:
      return "unhealthy";
  }
  return "?";
}

bool CrashLoop::RecordExit(double ran_for_s) {
  quick_exits_ = ran_for_s < start_period_s_ ? quick_exits_ + 1 : 0;
  if (quick_exits_ >= threshold_) failing_ = true;
  return failing_;
}

bool HealthTracker::Record(bool ok, double age_s, double start_period_s) {
  // The start period's grace: until a probe passes, a slow start is no failure.
  if (!ok && age_s < start_period_s && !streak_.ever_succeeded()) return false;
  return streak_.Record(ok);
}

Health HealthTracker::health() const {
  if (streak_.tripped()) return Health::kUnhealthy;
  return streak_.ever_succeeded() ? Health::kHealthy : Health::kStarting;
}

}  // namespace refinery

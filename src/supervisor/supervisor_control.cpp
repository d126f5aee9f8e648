// Supervisor: manual control (stop/start/restart by hand, the persisted set
// of held services), health checks and log rotation. All on Run's thread
// except Control(), which only queues a request for it.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "supervisor/service_internal.h"

namespace refinery {

namespace {

using Clock = SupervisorClock;

}  // namespace

Status Supervisor::Control(ControlAction action, const std::string& name, std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::future<Status>>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!looping_) return Status::Unavailable("the supervisor is not running its services");
    std::vector<std::string> members;  // `name` itself, or the replicas of group `name`
    for (const auto& st : statuses_) {
      if (st.name == name) members = {name};
    }
    if (members.empty()) {
      for (const auto& st : statuses_) {
        if (st.name.rfind(name + ".", 0) == 0) members.push_back(st.name);
      }
    }
    if (members.empty()) return Status::NotFound("no service named '" + name + "'");
    for (const auto& member : members) {
      requests_.push_back(Request{action, member, {}});
      pending.emplace_back(member, requests_.back().done.get_future());
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& [member, done] : pending) {
    if (done.wait_until(deadline) != std::future_status::ready) {
      return Status::Timeout("service '" + member + "' did not finish in time");
    }
    Status status = done.get();
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

void Supervisor::SetLooping(bool looping) {
  std::deque<Request> abandoned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    looping_ = looping;
    if (!looping) abandoned.swap(requests_);
  }
  for (auto& request : abandoned) request.done.set_value(Status::Unavailable("the supervisor is shutting down"));
}

void Supervisor::HandleRequests() {
  std::deque<Request> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(requests_);
  }
  for (auto& request : pending) Apply(request);
}

void Supervisor::Apply(Request& request) {
  for (size_t i = 0; i < services_.size(); ++i) {
    if (services_[i].spec.name != request.name) continue;
    switch (request.action) {
      case ControlAction::kStop:
        return StopByHand(i, std::move(request.done));
      case ControlAction::kStart:
        StartByHand(i);
        break;
      case ControlAction::kRestart:
        RestartByHand(i);
        break;
    }
    return request.done.set_value(Status::Ok());
  }
  request.done.set_value(Status::NotFound("no service named '" + request.name + "'"));
}

void Supervisor::StopByHand(size_t i, std::promise<Status> done) {
  Service& s = services_[i];
  s.held = true;
  s.waiting = false;
  s.restart_now = false;
  s.restart_at.reset();
  SaveHeld();
  if (!s.child) {
    UpdateStatus(i, [](ServiceStatus& st) {
      st.held = true;
      st.state = ServiceState::kStopped;
    });
    spdlog::info("service {} stopped by hand", s.spec.name);
    return done.set_value(Status::Ok());
  }
  s.waiters.push_back(std::move(done));
  UpdateStatus(i, [](ServiceStatus& st) {
    st.held = true;
    st.state = ServiceState::kStopping;
  });
  if (s.kill_at) return;  // already stopping
  spdlog::info("service {} (pid {}): stopping by hand (SIGTERM)", s.spec.name, s.child->pid());
  s.child->Signal(SIGTERM);
  s.kill_at = Clock::now() + SecondsDuration(options_.stop_grace_s);
}

void Supervisor::OnStoppedByHand(size_t i, const ExitStatus& status) {
  Service& s = services_[i];
  s.crash.Reset();
  UpdateStatus(i, [](ServiceStatus& st) { st.state = ServiceState::kStopped; });
  spdlog::info("service {} stopped by hand ({})", s.spec.name, status.ToString());
  for (auto& waiter : s.waiters) waiter.set_value(Status::Ok());
  s.waiters.clear();
}

// A fresh start: the crash-loop count and backoff start over.
void Supervisor::StartByHand(size_t i) {
  Service& s = services_[i];
  s.held = false;
  SaveHeld();
  UpdateStatus(i, [](ServiceStatus& st) { st.held = false; });
  if (s.child) {  // running, or still stopping: start again once reaped
    s.restart_now = s.kill_at.has_value();
    return;
  }
  s.crash.Reset();
  s.waiting = false;
  s.backoff = RestartBackoff(s.spec.backoff_initial_s, s.spec.backoff_max_s, s.spec.stable_after_s);
  spdlog::info("service {} started by hand", s.spec.name);
  Start(i, /*restart=*/false);
}

void Supervisor::RestartByHand(size_t i) {
  Service& s = services_[i];
  if (!s.child) return StartByHand(i);
  s.held = false;
  SaveHeld();
  UpdateStatus(i, [](ServiceStatus& st) { st.held = false; });
  s.restart_now = true;
  if (s.kill_at) return;
  spdlog::info("service {} (pid {}): restarting by hand (SIGTERM)", s.spec.name, s.child->pid());
  s.child->Signal(SIGTERM);
  s.kill_at = Clock::now() + SecondsDuration(options_.stop_grace_s);
}

void Supervisor::CheckHealth(size_t i) {
  Service& s = services_[i];
  if (s.spec.health.kind == HealthCheckSpec::Kind::kNone || s.kill_at) return;
  if (s.probe) {
    const int result = s.probe->result.load();
    if (result < 0) return;
    const bool current = s.probe->pid == s.child->pid();
    s.probe.reset();
    if (!current) return;
    const bool unhealthy = s.tracker.Record(result == 1, SecondsSince(s.started), s.spec.start_period_s);
    const Health health = s.tracker.health();
    s.was_healthy |= health == Health::kHealthy;
    UpdateStatus(i, [&](ServiceStatus& st) { st.health = health; });
    if (!unhealthy) return;
    spdlog::error("service {} (pid {}) is unhealthy ({} failed checks); killing it", s.spec.name, s.child->pid(),
                  s.spec.health.retries);
    s.child->Signal(SIGKILL);
    return;
  }
  if (Clock::now() < s.next_probe) return;
  s.next_probe = Clock::now() + SecondsDuration(s.spec.health.interval_s);
  s.probe = std::make_unique<ProbeRun>(s.spec.health, s.child->pid());
}

void Supervisor::CheckStable(size_t i) {
  Service& s = services_[i];
  if (!s.crash.failing() || SecondsSince(s.started) < s.spec.stable_after_s) return;
  s.crash.Reset();
  UpdateStatus(i, [](ServiceStatus& st) { st.state = ServiceState::kRunning; });
  spdlog::info("service {} is running stably again", s.spec.name);
}

void Supervisor::RotateLogs() {
  if (Clock::now() < next_log_check_) return;
  next_log_check_ = Clock::now() + SecondsDuration(options_.log_check_interval_s);
  for (const Service& s : services_) {
    if (s.spec.log_path.empty()) continue;
    Status rotated = RotateLogIfLarge(s.spec.log_path, options_.log_max_bytes, options_.log_keep);
    if (!rotated.ok()) spdlog::warn("service {}: {}", s.spec.name, rotated.ToString());
  }
}

void Supervisor::LoadHeld() {
  if (options_.stopped_file.empty()) return;
  std::ifstream in(options_.stopped_file);
  if (!in) return;
  auto names = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!names.is_array()) {
    spdlog::warn("{}: not a JSON array of service names; ignoring it", options_.stopped_file);
    return;
  }
  for (size_t i = 0; i < services_.size(); ++i) {
    for (const auto& name : names) {
      if (name.is_string() && name.get<std::string>() == services_[i].spec.name) services_[i].held = true;
    }
    const bool held = services_[i].held;
    UpdateStatus(i, [&](ServiceStatus& st) { st.held = held; });
  }
}

// Written to a temporary file and renamed, so a crash never leaves half a list.
void Supervisor::SaveHeld() const {
  if (options_.stopped_file.empty()) return;
  nlohmann::json names = nlohmann::json::array();
  for (const Service& s : services_) {
    if (s.held) names.push_back(s.spec.name);
  }
  const std::string tmp = options_.stopped_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << names.dump() << "\n";
    if (!out) return spdlog::warn("{}: cannot write the stopped services", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.stopped_file, ec);
  if (ec) spdlog::warn("{}: {}", options_.stopped_file, ec.message());
}

}  // namespace refinery

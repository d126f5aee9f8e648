#include "api/health.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <utility>

#include "api/health_state.h"
#include "core/log.h"

namespace refinery::api {
namespace {

using Clock = HealthClock;

// A check that throws is a failed check, not a dead checker thread.
Status RunCheck(const HealthMonitor::Check& check) {
  try {
    return check();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("health check threw: ") + e.what());
  } catch (...) {
    return Status::Internal("health check threw");
  }
}

}  // namespace

// Shared by the monitor and the component's checker thread, so the thread
// stays safe even if it outlives the monitor (see ~HealthMonitor).
struct HealthMonitor::Component {
  Component(const std::string& name, Check check, const HealthTiming& timing)
      : name(name), check(std::move(check)), state(name, timing, Clock::now()) {}

  const std::string name;
  const Check check;
  std::mutex mutex;
  std::condition_variable changed;  // a result arrived, or stop/finished was set
  bool stop = false;                // GUARDED_BY(mutex)
  bool finished = false;            // GUARDED_BY(mutex): the loop has exited
  ComponentState state;             // GUARDED_BY(mutex): results and what they mean
};

HealthMonitor::HealthMonitor(HealthTiming timing) : timing_(timing) {}

HealthMonitor::~HealthMonitor() {
  for (auto& component : components_) {
    std::lock_guard<std::mutex> lock(component->mutex);
    component->stop = true;
    component->changed.notify_all();
  }
  auto deadline = Clock::now() + timing_.shutdown_grace;
  for (size_t i = 0; i < components_.size(); ++i) {
    Component& c = *components_[i];
    std::unique_lock<std::mutex> lock(c.mutex);
    bool done = c.changed.wait_until(lock, deadline, [&c] { return c.finished; });
    lock.unlock();
    if (done) {
      threads_[i].join();
    } else {
      spdlog::warn("health: the {} check is hung; leaving its thread to finish on its own", c.name);
      threads_[i].detach();
    }
  }
}

void HealthMonitor::Add(const std::string& name, Check check) {
  auto component = std::make_shared<Component>(name, std::move(check), timing_);
  components_.push_back(component);
  threads_.emplace_back(&HealthMonitor::Loop, component);
}

void HealthMonitor::Loop(std::shared_ptr<Component> c) {
  std::unique_lock<std::mutex> lock(c->mutex);
  while (!c->stop) {
    c->state.CheckStarted(Clock::now());
    lock.unlock();
    Status status = RunCheck(c->check);
    lock.lock();
    switch (c->state.CheckFinished(status, Clock::now())) {
      case ComponentState::Change::kDown:
        spdlog::warn("health: {} is down: {}", c->name, status.ToString());
        break;
      case ComponentState::Change::kTolerated:
        spdlog::info("health: {} check failed ({} in a row): {}", c->name, c->state.failures(), status.ToString());
        break;
      case ComponentState::Change::kNone:
        break;
    }
    c->changed.notify_all();
    c->changed.wait_until(lock, c->state.next_check_due(), [&c] { return c->stop; });
  }
  c->finished = true;
  c->changed.notify_all();
}

std::vector<ComponentHealth> HealthMonitor::Snapshot() const {
  std::lock_guard<std::mutex> lock(memo_mutex_);
  auto now = Clock::now();
  if (memo_.empty() || now - memo_at_ > std::chrono::milliseconds(50)) {
    memo_ = Compute();
    memo_at_ = now;
  }
  return memo_;
}

void HealthMonitor::WaitForFirstResults() const {
  for (const auto& c : components_) {
    std::unique_lock<std::mutex> lock(c->mutex);
    c->changed.wait_until(lock, c->state.first_result_due(), [&c] { return c->state.has_result(); });
  }
}

std::vector<ComponentHealth> HealthMonitor::Compute() const {
  std::vector<ComponentHealth> result;
  for (const auto& c : components_) {
    std::unique_lock<std::mutex> lock(c->mutex);
    c->changed.wait_until(lock, c->state.first_result_due(), [&c] { return c->state.has_result(); });
    result.push_back(c->state.Report(Clock::now()));
  }
  return result;
}

}  // namespace refinery::api

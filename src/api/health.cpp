#include "api/health.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <utility>

#include "core/log.h"

namespace refinery::api {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

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
  std::string name;
  Check check;
  std::mutex mutex;
  std::condition_variable changed;  // a result arrived, or stop/finished was set
  bool stop = false;                // GUARDED_BY(mutex)
  bool finished = false;            // GUARDED_BY(mutex): the loop has exited
  bool has_result = false;          // GUARDED_BY(mutex)
  ComponentHealth last;             // GUARDED_BY(mutex)
  ComponentHealth last_up;          // GUARDED_BY(mutex): the latest successful result
  bool ever_up = false;             // GUARDED_BY(mutex)
  int failure_streak = 0;           // GUARDED_BY(mutex): failed checks in a row
  bool running = false;             // GUARDED_BY(mutex): a check is in progress
  Clock::time_point started;        // GUARDED_BY(mutex): start of the latest check
  Clock::time_point created = Clock::now();
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
  auto component = std::make_shared<Component>();
  component->name = name;
  component->check = std::move(check);
  components_.push_back(component);
  threads_.emplace_back(&HealthMonitor::Loop, component, timing_);
}

void HealthMonitor::Loop(std::shared_ptr<Component> c, HealthTiming timing) {
  std::unique_lock<std::mutex> lock(c->mutex);
  while (!c->stop) {
    c->running = true;
    c->started = Clock::now();
    lock.unlock();
    Status status = RunCheck(c->check);
    lock.lock();
    c->running = false;
    c->has_result = true;
    c->last = {c->name, status.ok(), MillisSince(c->started), status.ok() ? "" : status.ToString()};
    if (status.ok()) {
      c->last_up = c->last;
      c->ever_up = true;
      c->failure_streak = 0;
    } else if (++c->failure_streak == (c->ever_up ? timing.failures_before_down : 1)) {
      spdlog::warn("health: {} is down: {}", c->name, status.ToString());
    } else if (c->failure_streak < timing.failures_before_down) {
      spdlog::info("health: {} check failed ({} in a row): {}", c->name, c->failure_streak, status.ToString());
    }
    c->changed.notify_all();
    c->changed.wait_until(lock, c->started + timing.interval, [&c] { return c->stop; });
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

std::vector<ComponentHealth> HealthMonitor::Compute() const {
  std::vector<ComponentHealth> result;
  for (const auto& c : components_) {
    std::unique_lock<std::mutex> lock(c->mutex);
    c->changed.wait_until(lock, c->created + timing_.first_result_wait, [&c] { return c->has_result; });
    // No first answer in time, or checks failing or running past the
    // timeout `failures_before_down` times over, mean the dependency is
    // down or hangs, whatever it said before. Fewer failures are load.
    double running_ms = MillisSince(c->has_result ? c->started : c->created);
    const int needed = c->ever_up ? std::max(1, timing_.failures_before_down) : 1;
    const int timeouts_left = std::max(1, needed - c->failure_streak);
    bool hung = c->running && running_ms >= static_cast<double>(timing_.timeout.count() * timeouts_left);
    ComponentHealth health = c->last;
    if (!health.up && c->failure_streak < needed) health = c->last_up;
    if (!c->has_result || hung) {
      health = {c->name, false, running_ms,
                "timeout: no answer after " + std::to_string(static_cast<int64_t>(running_ms)) +
                    " ms"};
    }
    result.push_back(std::move(health));
  }
  return result;
}

}  // namespace refinery::api

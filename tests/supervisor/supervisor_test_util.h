// Helpers for supervisor tests with real children.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "supervisor/supervisor.h"

namespace refinery::testing {

inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A spec with quick restarts, so tests need not wait for real backoffs.
inline ServiceSpec QuickSpec(const std::string& name, std::vector<std::string> argv,
                             RestartPolicy policy = RestartPolicy::kAlways) {
  ServiceSpec spec;
  spec.name = name;
  spec.argv = std::move(argv);
  spec.policy = policy;
  spec.backoff_initial_s = 0.05;
  spec.backoff_max_s = 0.2;
  return spec;
}

// Runs a Supervisor on its own thread; stops and joins it on destruction.
class SupervisorThread {
 public:
  explicit SupervisorThread(std::vector<ServiceSpec> specs, SupervisorOptions options = {})
      : supervisor_(std::move(specs), options), thread_([this] { supervisor_.Run(stop_); }) {}
  ~SupervisorThread() { Stop(); }
  SupervisorThread(const SupervisorThread&) = delete;
  SupervisorThread& operator=(const SupervisorThread&) = delete;

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  Supervisor& supervisor() { return supervisor_; }
  ServiceStatus Status(size_t i = 0) const { return supervisor_.Snapshot().at(i); }
  bool WaitUntil(const std::function<bool(const ServiceStatus&)>& predicate, size_t i = 0) const {
    return WaitFor([&] { return predicate(Status(i)); });
  }
  pid_t WaitRunning(size_t i = 0) const {
    const bool ok = WaitUntil([](const ServiceStatus& s) { return s.state == ServiceState::kRunning && s.pid > 0; }, i);
    return ok ? Status(i).pid : 0;
  }

 private:
  std::atomic<bool> stop_{false};
  Supervisor supervisor_;
  std::thread thread_;  // declared last: starts once the members it uses exist
};

}  // namespace refinery::testing

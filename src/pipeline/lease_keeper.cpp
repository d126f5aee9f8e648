#include "pipeline/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace refinery {

LeaseKeeper::LeaseKeeper(Queue& queue, double visibility_s)
    : queue_(queue), visibility_s_(visibility_s), thread_([this] { Loop(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

LeaseKeeper::Hold LeaseKeeper::Keep(const Job& job) {
  std::lock_guard lock(mutex_);
  const uint64_t serial = next_serial_++;
  held_.emplace(serial, job);
  return Hold(*this, serial);
}

void LeaseKeeper::Drop(uint64_t serial) {
  std::lock_guard lock(mutex_);
  held_.erase(serial);
}

// The sweep holds the mutex, so a job whose Hold is gone is never renewed
// after it (and a Hold waits for a sweep in progress: a few queue calls).
void LeaseKeeper::Loop() {
  const auto period = std::chrono::milliseconds(static_cast<int64_t>(visibility_s_ * 1000 / 3));
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return done_; })) {
    for (const auto& [serial, job] : held_) {
      Status s = queue_.Heartbeat(job, visibility_s_);
      if (!s.ok()) spdlog::warn("job {} (document {}): heartbeat failed: {}", job.id, job.document_id, s.ToString());
    }
  }
}

}  // namespace refinery

// WorkerHeartbeat: the liveness file a worker publishes for the supervisor.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "core/clock.h"
#include "pipeline/pipeline.h"

namespace refinery {

namespace {

constexpr std::chrono::milliseconds kBeatInterval{500};

// Rewrites the file (its mtime is what the supervisor reads); the content,
// the beat's time, is for people.
void Beat(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;  // the supervisor notices the missing beats
  const std::string text = std::to_string(NowSeconds()) + "\n";
  [[maybe_unused]] ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
}

}  // namespace

WorkerHeartbeat::WorkerHeartbeat(std::string path, int threads, double stall_limit_s)
    : path_(std::move(path)),
      stall_limit_s_(stall_limit_s),
      ticks_(static_cast<size_t>(std::max(threads, 0))),
      thread_([this] { Loop(); }) {
  for (auto& tick : ticks_) tick.store(NowSeconds());  // a consumer about to start counts as progressing
}

WorkerHeartbeat::~WorkerHeartbeat() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void WorkerHeartbeat::Tick(int thread) { ticks_.at(static_cast<size_t>(thread)).store(NowSeconds()); }

bool WorkerHeartbeat::AllProgressing() const {
  const double now = NowSeconds();
  return std::all_of(ticks_.begin(), ticks_.end(),
                     [&](const std::atomic<double>& tick) { return now - tick.load() <= stall_limit_s_; });
}

void WorkerHeartbeat::Loop() {
  std::unique_lock lock(mutex_);
  do {
    if (AllProgressing()) Beat(path_);
  } while (!wake_.wait_for(lock, kBeatInterval, [this] { return done_; }));
}

}  // namespace refinery

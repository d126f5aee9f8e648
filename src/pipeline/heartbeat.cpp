// WorkerHeartbeat: the liveness file a worker publishes for the supervisor.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/clock.h"
#include "pipeline/heartbeat.h"

namespace refinery {

namespace {

constexpr std::chrono::milliseconds kBeatInterval{500};

// Every consumer counts as progressing at start (one about to start is).
std::vector<std::atomic<double>> StartTicks(int threads) {
  std::vector<std::atomic<double>> ticks(static_cast<size_t>(std::max(threads, 0)));
  for (auto& tick : ticks) tick.store(NowSeconds());
  return ticks;
}

// Replaces `path` with `text` whose mtime is `mtime`: written to a sibling
// and renamed over, so a reader sees the old content or the new, never half.
// When that fails -- a full disk has no page for the new file -- the file
// (created empty if the supervisor removed it for a new child) still gets
// its mtime set, which needs no data page: a worker paused by a full disk
// keeps beating and is not killed for it (its content goes stale, its
// liveness does not). Only a file that cannot even be touched lets the beat
// go stale, which the supervisor notices.
void ReplaceFile(const std::string& path, const std::string& text, const timespec& mtime) {
  const std::string temp = path + ".tmp";
  const timespec times[2] = {mtime, mtime};
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool replaced = false;
  if (fd >= 0) {
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const bool timed = ::futimens(fd, times) == 0;
    ::close(fd);
    replaced = written && timed && std::rename(temp.c_str(), path.c_str()) == 0;
    if (!replaced) ::unlink(temp.c_str());
  }
  if (replaced) return;
  const int touched = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (touched < 0) return;
  (void)::futimens(touched, times);
  ::close(touched);
}

}  // namespace

WorkerHeartbeat::WorkerHeartbeat(std::string path, int threads, double stall_limit_s)
    : path_(std::move(path)), stall_limit_s_(stall_limit_s), ticks_(StartTicks(threads)), thread_([this] { Loop(); }) {}

WorkerHeartbeat::~WorkerHeartbeat() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void WorkerHeartbeat::Tick(int thread) { ticks_.at(static_cast<size_t>(thread)).store(NowSeconds()); }

void WorkerHeartbeat::JobTaken() {
  std::lock_guard lock(mutex_);
  ++in_flight_;
  WriteLocked();
}

void WorkerHeartbeat::JobSettling() {
  std::lock_guard lock(mutex_);
  in_flight_ = std::max(in_flight_ - 1, 0);
  WriteLocked();
}

bool WorkerHeartbeat::AllProgressing() const {
  const double now = NowSeconds();
  return std::all_of(ticks_.begin(), ticks_.end(),
                     [&](const std::atomic<double>& tick) { return now - tick.load() <= stall_limit_s_; });
}

void WorkerHeartbeat::WriteLocked() {
  // Before the first beat there is no mtime to keep; the first beat follows at once.
  if (last_beat_.tv_sec == 0) return;
  const double beat = static_cast<double>(last_beat_.tv_sec) + static_cast<double>(last_beat_.tv_nsec) * 1e-9;
  char text[96];
  const int length = std::snprintf(text, sizeof(text), "beat %.3f\npid %d\nin_flight %d\n", beat,
                                   static_cast<int>(::getpid()), in_flight_);
  ReplaceFile(path_, std::string(text, static_cast<size_t>(std::max(length, 0))), last_beat_);
}

void WorkerHeartbeat::Loop() {
  std::unique_lock lock(mutex_);
  do {
    if (AllProgressing()) {
      ::clock_gettime(CLOCK_REALTIME, &last_beat_);
      WriteLocked();
    }
  } while (!wake_.wait_for(lock, kBeatInterval, [this] { return done_; }));
}

}  // namespace refinery

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
  if (fd_ >= 0) ::close(fd_);
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
  // Fixed width, so every rewrite is the same bytes at the same offset.
  char text[96];
  const int length = std::snprintf(text, sizeof(text), "beat %17.3f\npid %10d\nin_flight %6d\n", beat,
                                   static_cast<int>(::getpid()), in_flight_);
  RewriteLocked(std::string_view(text, static_cast<size_t>(std::clamp(length, 0, static_cast<int>(sizeof(text)) - 1))));
}

// In place, through a descriptor kept open: a job costs one pwrite and one
// futimens, not a file created and renamed in a directory every worker
// shares (that was most of the kernel time of a busy pipeline). The record
// never changes length, so a reader sees the old digits or the new. The
// mtime is set back to the last beat after each write, so job traffic never
// looks like a beat. On a full disk the pwrite may fail (the first one needs
// a block); the futimens still keeps the beat, which needs no data block.
// A file the supervisor removed (for a new child) is created again.
void WorkerHeartbeat::RewriteLocked(std::string_view text) {
  struct stat st {};
  if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || st.st_nlink == 0)) {
    ::close(fd_);
    fd_ = -1;
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;  // the beat goes stale, which the supervisor notices
    (void)::ftruncate(fd_, static_cast<off_t>(text.size()));
  }
  (void)::pwrite(fd_, text.data(), text.size(), 0);
  const timespec times[2] = {last_beat_, last_beat_};
  (void)::futimens(fd_, times);
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

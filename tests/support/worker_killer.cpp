#include "support/worker_killer.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <random>

#include "support/process_util.h"

namespace refinery::testing {

using std::chrono::milliseconds;

namespace {
constexpr milliseconds kLookFor{50};  // per round, for a worker holding work
}  // namespace

std::optional<HeartbeatFile> ReadHeartbeatFile(const std::string& path) {
  std::ifstream in(path);
  HeartbeatFile file;
  int fields = 0;
  for (std::string key; in >> key;) {
    if (key == "beat" && in >> file.beat)
      ++fields;
    else if (key == "pid" && in >> file.pid)
      ++fields;
    else if (key == "in_flight" && in >> file.in_flight)
      ++fields;
  }
  if (fields != 3) return std::nullopt;
  return file;
}

WorkerKiller::WorkerKiller(pid_t supervisor, std::string run_dir, milliseconds period, milliseconds min_age,
                           uint32_t seed, std::function<bool()> may_kill)
    : supervisor_(supervisor),
      run_dir_(std::move(run_dir)),
      period_(period),
      min_age_(min_age),
      seed_(seed),
      may_kill_(std::move(may_kill)),
      thread_([this](const std::stop_token& stop) { Loop(stop); }) {}

WorkerKiller::~WorkerKiller() { Stop(); }

void WorkerKiller::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<WorkerKill> WorkerKiller::kills() const {
  std::lock_guard lock(mutex_);
  return kills_;
}

int WorkerKiller::hits() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(kills_.begin(), kills_.end(), [](const WorkerKill& k) { return k.hit_work; }));
}

std::vector<std::pair<std::string, HeartbeatFile>> WorkerKiller::Busy() const {
  std::vector<std::pair<std::string, HeartbeatFile>> busy;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir_, ec)) {
    if (entry.path().extension() != ".heartbeat") continue;
    auto file = ReadHeartbeatFile(entry.path().string());
    // A stale file of a dead worker names a pid that is gone or no child of ours.
    if (file && file->in_flight > 0 && ParentPid(file->pid) == supervisor_ &&
        ProcessAgeSeconds(file->pid) * 1000 >= static_cast<double>(min_age_.count())) {
      busy.emplace_back(entry.path().string(), *file);
    }
  }
  return busy;
}

void WorkerKiller::KillOne(const std::string& path, const HeartbeatFile& seen) {
  // The signal once more, right before the kill.
  auto before = ReadHeartbeatFile(path);
  if (!before || before->pid != seen.pid || before->in_flight == 0 || ParentPid(seen.pid) != supervisor_) return;
  if (::kill(seen.pid, SIGKILL) != 0) return;
  // Once it is dead (a zombie at most) no thread of it writes any more, so
  // the file holds its last word -- unless its replacement already wrote.
  WaitUntil([&] { return !IsAlive(seen.pid); }, std::chrono::seconds(10), milliseconds(1));
  auto after = ReadHeartbeatFile(path);
  WorkerKill kill;
  kill.service = std::filesystem::path(path).stem().string();
  kill.pid = seen.pid;
  kill.in_flight_before = before->in_flight;
  kill.hit_work = after && after->pid == seen.pid && after->in_flight > 0;
  std::lock_guard lock(mutex_);
  kills_.push_back(kill);
}

void WorkerKiller::Loop(const std::stop_token& stop) {
  std::mt19937 rng(seed_);
  std::mutex sleep_mutex;
  std::condition_variable_any wake;
  auto sleep = [&](milliseconds duration) {
    std::unique_lock lock(sleep_mutex);
    wake.wait_for(lock, stop, duration, [] { return false; });
  };
  while (!stop.stop_requested()) {
    sleep(period_);
    // Look for a busy worker only briefly, then skip the round: polling for
    // a whole period would catch every lease of a job the moment it is
    // taken, so a last job re-leased by each fast-restarted replacement
    // would be killed forever (a livelock no real failure pattern has).
    const auto give_up = std::chrono::steady_clock::now() + kLookFor;
    auto busy = Busy();
    while (busy.empty() && !stop.stop_requested() && std::chrono::steady_clock::now() < give_up) {
      sleep(milliseconds(2));
      busy = Busy();
    }
    if (busy.empty() || stop.stop_requested() || !may_kill_()) continue;
    std::uniform_int_distribution<size_t> pick(0, busy.size() - 1);
    const auto& [path, seen] = busy[pick(rng)];
    KillOne(path, seen);
  }
}

}  // namespace refinery::testing

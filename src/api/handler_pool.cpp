#include "api/handler_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

#include "core/log.h"

namespace refinery::api {

namespace {

// Jobs catch their own errors (the router answers 500); what still escapes
// (out of memory) must not end the thread, which would end the process.
void Run(const HandlerPool::Job& job, const char* what) {
  try {
    job();
  } catch (const std::exception& e) {
    spdlog::error("api: a {} job threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("api: a {} job threw", what);
  }
}

}  // namespace

HandlerPool::HandlerPool(const Options& options) : options_(options), queue_(options.max_wait) {
  const int threads = std::max(options.threads, 1);
  workers_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) workers_.emplace_back(&HandlerPool::WorkerLoop, this);
  watchdog_ = std::thread(&HandlerPool::WatchdogLoop, this);
}

HandlerPool::~HandlerPool() { Stop(); }

void HandlerPool::Submit(Job work, Job shed) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;  // both destroyed here
    const bool was_empty = queue_.empty();
    queue_.Push({std::move(work), std::move(shed)}, WaitQueue<Pending>::Clock::now());
    if (was_empty) queue_changed_.notify_one();
  }
  work_ready_.notify_one();
}

void HandlerPool::Stop() {
  std::deque<Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    while (!queue_.empty()) dropped.push_back(queue_.Pop());
  }
  work_ready_.notify_all();
  queue_changed_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  if (watchdog_.joinable()) watchdog_.join();
  // `dropped` is destroyed here, outside the lock: a job's captures (a
  // connection) may do real work in their destructors.
}

size_t HandlerPool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

int64_t HandlerPool::shed_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shed_total_;
}

void HandlerPool::WorkerLoop() {
  // Raising one's own niceness needs no privilege. Why: under saturation
  // busy handlers otherwise starve the event loop, the health checkers and
  // the processes requests wait on (PostgreSQL backends, Redis).
  if (options_.nice != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), options_.nice);
  for (;;) {
    Pending job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      // No need to wake the watchdog: the new head expires later than the
      // deadline it waits for, so it just finds nothing expired and waits again.
      job = queue_.Pop();
    }
    job.shed = nullptr;
    Run(job.work, "handler");
  }
}

void HandlerPool::WatchdogLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      queue_changed_.wait(lock);
      continue;
    }
    queue_changed_.wait_until(lock, queue_.next_expiry());
    if (stopping_) return;
    std::vector<Pending> expired = queue_.TakeExpired(WaitQueue<Pending>::Clock::now());
    if (expired.empty()) continue;
    shed_total_ += static_cast<int64_t>(expired.size());
    lock.unlock();
    spdlog::debug("api: shed {} request(s) that waited over {} ms for a handler thread", expired.size(),
                  options_.max_wait.count());
    for (Pending& job : expired) {
      job.work = nullptr;
      Run(job.shed, "shed");
    }
    lock.lock();
  }
}

}  // namespace refinery::api

// Private to the API: the bounded pool of threads that run request handlers
// which may block (store, queue and blob calls), with load shedding.
//
// A request waits in one FIFO queue for a free thread, bounded by waiting
// time rather than by count: every waiting request holds a connection, so
// the connections bound the count already, and a count says nothing about
// how long a client waits. A request still waiting `max_wait` after it was
// queued is shed: its `shed` callback runs instead of its work (the server
// answers 503 with Retry-After). Which of the two runs is decided under
// the queue's mutex, so exactly one does.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace refinery::api {

// The queue's rules as pure logic: who is next, who waited too long. Items
// are pushed with their arrival time; the caller passes the time in, so
// unit tests need no clock. Not thread-safe: HandlerPool guards it.
template <typename T>
class WaitQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WaitQueue(Clock::duration max_wait) : max_wait_(max_wait) {}

  void Push(T item, Clock::time_point now) { items_.push_back({now, std::move(item)}); }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // The oldest item. REQUIRES: !empty().
  T Pop() {
    T item = std::move(items_.front().item);
    items_.pop_front();
    return item;
  }
  // Removes and returns, oldest first, every item that has waited longer
  // than max_wait at `now`.
  std::vector<T> TakeExpired(Clock::time_point now) {
    std::vector<T> expired;
    while (!items_.empty() && now - items_.front().queued_at > max_wait_) {
      expired.push_back(Pop());
    }
    return expired;
  }
  // When the oldest item expires. REQUIRES: !empty().
  Clock::time_point next_expiry() const { return items_.front().queued_at + max_wait_; }

 private:
  struct Entry {
    Clock::time_point queued_at;
    T item;
  };
  const Clock::duration max_wait_;
  std::deque<Entry> items_;  // FIFO, so arrival times only grow front to back
};

class HandlerPool {
 public:
  struct Options {
    int threads = 16;  // handler threads
    int nice = 10;     // their niceness (0: as the process); the watchdog keeps the process's
    std::chrono::milliseconds max_wait{2000};
  };
  using Job = std::function<void()>;

  // Starts the handler threads and the watchdog that sheds expired jobs.
  explicit HandlerPool(const Options& options);
  ~HandlerPool();  // Stop()
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues `work` for the next free handler thread; if none takes it
  // within max_wait, `shed` runs instead, on the watchdog thread (so it
  // must be quick: it only hands an answer back to the event loop). After
  // Stop, and for jobs still queued at Stop, neither runs: both are
  // destroyed.
  void Submit(Job work, Job shed);

  // Stops taking jobs, waits for the running ones to return, and destroys
  // the queued ones. Idempotent.
  void Stop();

  // Jobs waiting for a thread now.
  size_t queued() const;
  // Jobs shed since start.
  int64_t shed_total() const;

 private:
  struct Pending {
    Job work;
    Job shed;
  };
  void WorkerLoop();
  void WatchdogLoop();

  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;     // a job was queued, or stopping
  std::condition_variable queue_changed_;  // for the watchdog: the queue's head changed, or stopping
  WaitQueue<Pending> queue_;               // GUARDED_BY(mutex_)
  bool stopping_ = false;                  // GUARDED_BY(mutex_)
  int64_t shed_total_ = 0;                 // GUARDED_BY(mutex_)
  std::vector<std::thread> workers_;       // started in the constructor, joined by Stop
  std::thread watchdog_;
};

}  // namespace refinery::api

// The one connection pool: PostgreSQL, Redis and SQLite connections are all
// pooled by FcfsPool, each backend adding only its policy through hooks.
//
// The pool owns the idle connections, counts open slots (idle, leased and
// being opened) against a maximum, and hands connections, or free slots to
// open one in, to waiting callers first come, first served. Why not a plain
// condition variable: a thread returning a connection took it straight back
// for its next call while others starved (a 0.4-0.6 s p99 with 16 clients on
// 10 PostgreSQL connections).
//
// The hooks, all called outside the pool's lock (they may block, and may
// call the pool back, e.g. Rebuild from `validate`):
//   open(deadline) -> Result<unique_ptr<T>>  a new connection, in a slot
//       reserved for this caller; an error frees the slot for the next one.
//   validate(conn, deadline) -> Status       optional: is an idle connection
//       still good? An error closes it and the checkout goes on with the next
//       idle one or a new one. PostgreSQL's `SELECT 1`.
//   discard(conn) -> bool                    optional: is a returned
//       connection thrown away rather than kept idle (broken, mid-transaction,
//       too old)? Must not throw (it runs in ~Lease).
//   queued()                                 optional: a caller starts
//       waiting (metrics, tests). Runs under the lock: it must not call the pool.
// A backend's own state (reconnect backoff, failure counts) lives in its
// hooks' owner, e.g. for SQLite:
//   FcfsPool<Connection> pool("sqlite", {.max_size = 64, .max_idle = 4},
//       {.open = [&](auto) { return Connection::Open(path, options); },
//        .discard = [](Connection& c) { return c.InTransaction(); }});
//
// Connections are closed (their unique_ptr destroyed) outside the lock.
// Thread-safe. Leases must not outlive the pool.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace refinery {

template <typename T>
class FcfsPool {
 public:
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;

  struct Hooks {
    std::function<Result<std::unique_ptr<T>>(Deadline deadline)> open = nullptr;  // required
    std::function<Status(T& conn, Deadline deadline)> validate = nullptr;
    std::function<bool(T& conn)> discard = nullptr;
    std::function<void()> queued = nullptr;
  };

  struct Limits {
    int max_size = 10;                               // open connections at most; more callers wait
    int max_idle = std::numeric_limits<int>::max();  // idle ones kept; returned ones beyond are closed
  };

  struct Counts {
    int64_t size = 0;    // open connections, including ones being opened
    int64_t in_use = 0;  // leased, or being validated or opened
    int64_t idle = 0;
    int64_t waiting = 0;  // callers queued right now
    int64_t created = 0;  // connections ever opened
    int64_t rebuilds = 0;
    int64_t closed_by_rebuild = 0;  // idle at a Rebuild, or returned after one
  };

  // Why a checkout failed: retrying is pointless after waiting out the whole
  // wait for a busy pool, but may help right after a failed open.
  enum class Failure { kNone, kExhausted, kOpen };

  // A checked-out connection: back to the pool on destruction (or closed,
  // per `discard`, max_idle and Rebuild). Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_ != nullptr) pool_->Release(std::move(conn_), generation_);
    }
    T& operator*() const { return *conn_; }
    T* operator->() const { return conn_.get(); }
    // It was idle in the pool (validated, if at all, by `validate`), not
    // opened for this checkout: worth one retry on a fresh one if it fails.
    bool reused() const { return reused_; }

   private:
    friend class FcfsPool;
    Lease(FcfsPool* pool, std::unique_ptr<T> conn, uint64_t generation, bool reused)
        : pool_(pool), conn_(std::move(conn)), generation_(generation), reused_(reused) {}
    FcfsPool* pool_;
    std::unique_ptr<T> conn_;
    uint64_t generation_;
    bool reused_;
  };

  // `name` prefixes errors ("postgres: connection pool exhausted ...").
  FcfsPool(std::string name, Limits limits, Hooks hooks)
      : name_(std::move(name)), limits_(limits), hooks_(std::move(hooks)) {}
  // REQUIRES: no lease outstanding. Idle connections close with the pool.
  ~FcfsPool() = default;
  FcfsPool(const FcfsPool&) = delete;
  FcfsPool& operator=(const FcfsPool&) = delete;

  // An idle connection that passes `validate`, else a new one from `open`
  // if a slot is free, else waits in line until `wait_until`. `deadline` is
  // passed to the hooks. Unavailable when the wait runs out (kExhausted);
  // `open`'s error when it fails (kOpen).
  Result<Lease> Checkout(Deadline wait_until, Deadline deadline, Failure* why = nullptr);
  Result<Lease> Checkout(Deadline wait_until) { return Checkout(wait_until, wait_until); }

  // Closes every idle connection now (the rest probably died with the one
  // that just failed).
  void DiscardIdle() { DropIdle(/*rebuild=*/false); }
  // Starts afresh: closes the idle connections now and the leased ones when
  // they come back (a restarted server killed them all).
  void Rebuild() { DropIdle(/*rebuild=*/true); }

  Counts counts() const;

 private:
  // What a caller is given: an idle connection, or (conn null) a slot.
  struct Grant {
    std::unique_ptr<T> conn;
    uint64_t generation = 0;
  };
  // A caller queued in Take; lives on its stack.
  struct Waiter {
    std::condition_variable ready_cv;
    bool ready = false;  // GUARDED_BY(mu_)
    Grant grant;         // GUARDED_BY(mu_)
  };
  // A slot counted by Take: freed (and handed on) on destruction unless a
  // lease took it over. Makes a throwing hook harmless.
  class Slot {
   public:
    explicit Slot(FcfsPool* pool) : pool_(pool) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (pool_ != nullptr) pool_->FreeSlot();
    }
    void Keep() { pool_ = nullptr; }

   private:
    FcfsPool* pool_;
  };

  Result<Grant> Take(Deadline wait_until);
  Result<Lease> Open(Deadline deadline, Failure* why);
  std::optional<Lease> Validate(Grant grant, Deadline deadline);
  void Release(std::unique_ptr<T> conn, uint64_t generation);
  void FreeSlot();
  void DropIdle(bool rebuild);
  bool FreeLocked() const { return !idle_.empty() || size_ < limits_.max_size; }
  Grant GrantLocked();
  // Gives idle connections, then free slots, to the oldest waiters. Called
  // after every change that frees either, so a free one and a waiter never
  // coexist once mu_ is released.
  void HandOffLocked();

  const std::string name_;
  const Limits limits_;
  const Hooks hooks_;

  mutable std::mutex mu_;
  std::deque<Waiter*> waiters_;           // GUARDED_BY(mu_): oldest first
  std::vector<std::unique_ptr<T>> idle_;  // GUARDED_BY(mu_): most recently used last
  int64_t size_ = 0;                      // GUARDED_BY(mu_)
  int64_t in_use_ = 0;                    // GUARDED_BY(mu_)
  int64_t created_ = 0;                   // GUARDED_BY(mu_)
  int64_t rebuilds_ = 0;                  // GUARDED_BY(mu_)
  int64_t closed_by_rebuild_ = 0;         // GUARDED_BY(mu_)
  uint64_t generation_ = 0;               // GUARDED_BY(mu_): bumped by Rebuild
};

template <typename T>
auto FcfsPool<T>::Checkout(Deadline wait_until, Deadline deadline, Failure* why) -> Result<Lease> {
  Failure ignored;
  if (why == nullptr) why = &ignored;
  *why = Failure::kNone;
  for (;;) {
    Result<Grant> grant = Take(wait_until);
    if (!grant.ok()) {
      *why = Failure::kExhausted;
      return grant.status();
    }
    if (grant->conn == nullptr) return Open(deadline, why);
    std::optional<Lease> lease = Validate(std::move(*grant), deadline);
    if (lease) return std::move(*lease);
    // It failed validation and is closed: the next idle one, or a new one.
  }
}

template <typename T>
auto FcfsPool<T>::Take(Deadline wait_until) -> Result<Grant> {
  std::unique_lock lock(mu_);
  // Nobody waits while something is free (HandOffLocked), so taking
  // directly never jumps the queue.
  if (FreeLocked()) return GrantLocked();
  Waiter me;
  waiters_.push_back(&me);
  if (hooks_.queued) hooks_.queued();
  if (!me.ready_cv.wait_until(lock, wait_until, [&] { return me.ready; })) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
    return Status::Unavailable(name_ + ": connection pool exhausted: all " + std::to_string(limits_.max_size) +
                               " connections stayed in use past the checkout timeout");
  }
  return std::move(me.grant);
}

template <typename T>
auto FcfsPool<T>::Open(Deadline deadline, Failure* why) -> Result<Lease> {
  Slot slot(this);
  Result<std::unique_ptr<T>> conn = hooks_.open(deadline);
  if (!conn.ok()) {
    *why = Failure::kOpen;
    return conn.status();  // ~Slot hands the slot on
  }
  std::lock_guard lock(mu_);
  ++created_;
  slot.Keep();
  return Lease(this, std::move(*conn), generation_, /*reused=*/false);
}

template <typename T>
auto FcfsPool<T>::Validate(Grant grant, Deadline deadline) -> std::optional<Lease> {
  Slot slot(this);
  if (hooks_.validate && !hooks_.validate(*grant.conn, deadline).ok()) {
    grant.conn.reset();  // closed before ~Slot hands its slot on
    return std::nullopt;
  }
  slot.Keep();
  return Lease(this, std::move(grant.conn), grant.generation, /*reused=*/true);
}

template <typename T>
void FcfsPool<T>::Release(std::unique_ptr<T> conn, uint64_t generation) {
  const bool discard = hooks_.discard && hooks_.discard(*conn);
  std::unique_lock lock(mu_);
  --in_use_;
  const bool stale = generation != generation_;
  if (!discard && !stale && idle_.size() < static_cast<size_t>(std::max(limits_.max_idle, 0))) {
    idle_.push_back(std::move(conn));
    HandOffLocked();
    return;
  }
  if (stale && !discard) ++closed_by_rebuild_;
  --size_;
  HandOffLocked();
  lock.unlock();
  conn.reset();  // closed outside the lock
}

template <typename T>
void FcfsPool<T>::FreeSlot() {
  std::lock_guard lock(mu_);
  --size_;
  --in_use_;
  HandOffLocked();
}

template <typename T>
void FcfsPool<T>::DropIdle(bool rebuild) {
  std::vector<std::unique_ptr<T>> closing;
  {
    std::lock_guard lock(mu_);
    closing.swap(idle_);
    size_ -= static_cast<int64_t>(closing.size());
    if (rebuild) {
      ++generation_;
      ++rebuilds_;
      closed_by_rebuild_ += static_cast<int64_t>(closing.size());
    }
    HandOffLocked();
  }
  // `closing` closes them outside the lock
}

template <typename T>
auto FcfsPool<T>::GrantLocked() -> Grant {
  Grant grant{nullptr, generation_};
  if (!idle_.empty()) {
    grant.conn = std::move(idle_.back());
    idle_.pop_back();
  } else {
    ++size_;  // a slot reserved for the caller: it opens the connection
  }
  ++in_use_;
  return grant;
}

template <typename T>
void FcfsPool<T>::HandOffLocked() {
  while (!waiters_.empty() && FreeLocked()) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->grant = GrantLocked();
    next->ready = true;
    next->ready_cv.notify_one();
  }
}

template <typename T>
auto FcfsPool<T>::counts() const -> Counts {
  std::lock_guard lock(mu_);
  return {
      size_,     in_use_,           static_cast<int64_t>(idle_.size()), static_cast<int64_t>(waiters_.size()), created_,
      rebuilds_, closed_by_rebuild_};
}

}  // namespace refinery

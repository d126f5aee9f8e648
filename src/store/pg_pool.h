// A self-healing pool of PostgreSQL connections, and RunUnitOfWork: the one
// way the PostgreSQL store talks to the server. It exists because the Python
// system crashed on stale pooled connections ("connection already closed"),
// transient network drops and restarted databases.
//
// - A connection is checked before it is handed out: a `SELECT 1`, unless it
//   was used successfully within `fresh_window_s` and its socket is quiet
//   (a terminated backend or a shutting-down server writes a goodbye first).
// - Dead connections are closed and replaced; when every connection the pool
//   held has failed its check, the pool is rebuilt from scratch (a restarted
//   server killed them all; connections in use are dropped on return too).
// - A unit of work that loses its connection is rolled back and re-run on a
//   fresh one (exponential backoff with jitter); statement errors are not.
// - Every call has a deadline (`call_budget_s`) covering the checkout wait,
//   connect attempts, retries and backoff, so a down database costs an API
//   request about 1.8 s before it gets Unavailable (503 within 2 s).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/pg_conn.h"
#include "store/store.h"

namespace refinery::pg {

struct PoolOptions {
  int min_size = 2;   // opened at start (best effort); lazily refilled on demand
  int max_size = 10;  // open connections at most; more callers wait
  double checkout_timeout_s = 1.0;  // wait for a free connection, then Unavailable
  double max_lifetime_s = 1800;     // older connections are closed instead of reused
  double fresh_window_s = 1.0;      // skip `SELECT 1` if used successfully this recently
  int retries = 2;                  // re-runs of a unit of work after a connection error
  double retry_base_delay_s = 0.5;  // first backoff; doubles per retry, jittered x[0.5, 1.5)
  double call_budget_s = 1.8;       // one call's total: checkout + connects + retries
};

// How a unit of work runs on its connection.
enum class TxMode {
  kNone,      // autocommit: a single statement, or statements that need no atomicity
  kWrite,     // BEGIN ... COMMIT (READ COMMITTED): atomic writes
  kSnapshot,  // BEGIN REPEATABLE READ READ ONLY: several reads from one snapshot
};

class Pool {
 public:
  Pool(ConnectSettings settings, PoolOptions options);
  // Leases must not outlive the pool.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A checked-out connection. Returns it to the pool on destruction, or
  // closes it if it is broken, mid-transaction (e.g. after an exception),
  // past its lifetime, or from before a rebuild. Move-only.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn, uint64_t generation)
        : pool_(pool), conn_(std::move(conn)), generation_(generation) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
    uint64_t generation_;
  };

  // Why a checkout failed: retrying is pointless after waiting the whole
  // checkout timeout for a busy pool, but right after a failed connect.
  enum class CheckoutFailure { kNone, kExhausted, kConnect };

  // A validated connection, waiting at most checkout_timeout_s for a free
  // slot and never past `deadline`. Unavailable otherwise.
  Result<Lease> Checkout(Deadline deadline, CheckoutFailure* why = nullptr);

  // RunUnitOfWork: runs `fn` on a pooled connection (inside a transaction
  // per `mode`), re-running it on a fresh connection after a connection
  // error, within the call budget. `what` names the work in retry logs.
  // A failed COMMIT is not re-run: its outcome is unknown, and re-running a
  // compare-and-set that did commit would report a false Conflict.
  Status Run(const char* what, TxMode mode, const std::function<Status(Conn&)>& fn);

  // Opens up to min_size connections now, within one call budget; stops at
  // the first failure (the server may be down: the pool heals later).
  void Warm();

  PoolStats Stats() const;

 private:
  struct Idle {
    std::unique_ptr<Conn> conn;
    uint64_t generation;
  };
  // A caller queued in Checkout. Connections and free slots go to waiters
  // first come, first served (HandOffLocked): with a plain condition
  // variable a thread returning a connection took it straight back for its
  // next call while others starved -- a 0.4-0.6 s p99 with 16 clients on 10
  // connections.
  struct Waiter {
    std::condition_variable ready_cv;
    bool ready = false;      // GUARDED_BY(mu_): handed `idle`, or a slot if idle.conn is null
    Idle idle;               // GUARDED_BY(mu_)
  };
  enum class CloseReason { kDead, kRetired };

  Result<Lease> TakeIdle(Idle item, Deadline deadline);
  Result<Lease> OpenNew(Deadline deadline, CheckoutFailure* why);
  bool Expired(const Conn& conn) const;
  // Returns a leased connection (called by ~Lease).
  void Release(std::unique_ptr<Conn> conn, uint64_t generation);
  // Forgets a leased connection and closes it outside the lock.
  void Close(std::unique_ptr<Conn> conn, CloseReason reason);
  void NoteValidationFailure();
  void RebuildLocked(std::vector<std::unique_ptr<Conn>>& to_close);
  // Gives idle connections, then free slots, to the oldest waiters. Called
  // after every change that frees either, so a free one and a waiter never
  // coexist once mu_ is released.
  void HandOffLocked();
  // Turns what a waiter (or a direct taker) got into a lease: validates an
  // idle connection, or opens one in a reserved slot.
  Result<Lease> Claim(Idle item, Deadline deadline, CheckoutFailure* why);
  Status RunOnce(TxMode mode, const std::function<Status(Conn&)>& fn, Deadline deadline,
                 bool* connection_lost);
  double BackoffDelay(int attempt);

  const ConnectSettings settings_;
  const PoolOptions options_;

  mutable std::mutex mu_;
  std::deque<Waiter*> waiters_;    // oldest first; each lives in its Checkout call
  std::vector<Idle> idle_;         // most recently used last
  int64_t size_ = 0;               // open + being opened
  int64_t in_use_ = 0;             // leased + being validated or opened
  uint64_t generation_ = 0;        // bumped by every rebuild
  int64_t failure_streak_ = 0;     // validation failures since the last success
  int64_t streak_base_ = 0;        // pool size when the streak began
  int64_t created_ = 0;
  int64_t closed_dead_ = 0;
  int64_t validation_failures_ = 0;
  int64_t rebuilds_ = 0;
  std::atomic<int64_t> retries_{0};
};

}  // namespace refinery::pg

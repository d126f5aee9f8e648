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
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "core/pool.h"
#include "store/pg_conn.h"
#include "store/store.h"

namespace refinery::pg {

struct PoolOptions {
  int min_size = 2;                 // opened at start (best effort); lazily refilled on demand
  int max_size = 10;                // open connections at most; more callers wait
  double checkout_timeout_s = 1.0;  // wait for a free connection, then Unavailable
  double max_lifetime_s = 1800;     // older connections are closed instead of reused
  double fresh_window_s = 1.0;      // skip `SELECT 1` if used successfully this recently
  int retries = 2;                  // re-runs of a unit of work after a connection error
  double retry_base_delay_s = 0.5;  // first backoff; doubles per retry, jittered (core/backoff.h)
  double call_budget_s = 1.8;       // one call's total: checkout + connects + retries
};

// How a unit of work runs on its connection.
enum class TxMode {
  kNone,      // autocommit: a single statement, or statements that need no atomicity
  kWrite,     // BEGIN ... COMMIT (READ COMMITTED): atomic writes
  kSnapshot,  // BEGIN REPEATABLE READ READ ONLY: several reads from one snapshot
};

// The self-healing policy on top of core's first-come-first-served pool
// (core/pool.h): validation before use, replacement of dead connections,
// rebuild, max lifetime, and the per-call deadline and retries.
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
  using Lease = FcfsPool<Conn>::Lease;

  // Why a checkout failed: retrying is pointless after waiting the whole
  // checkout timeout for a busy pool, but right after a failed connect.
  enum class CheckoutFailure { kNone, kExhausted, kConnect };

  // A validated connection, waiting at most checkout_timeout_s for a free
  // slot and never past `deadline`. Unavailable otherwise.
  Result<Lease> Checkout(Deadline deadline, CheckoutFailure* why = nullptr);

  // RunUnitOfWork: runs `fn` on a pooled connection (inside a transaction
  // per `mode`), re-running it on a fresh connection after a connection
  // error, within the call budget. `what` names the work in retry logs.
  // A connection found dead is replaced and the work re-run at once; only
  // when opening a connection fails (the server is down) does it back off.
  // A failed COMMIT is not re-run: its outcome is unknown, and re-running a
  // compare-and-set that did commit would report a false Conflict.
  Status Run(const char* what, TxMode mode, const std::function<Status(Conn&)>& fn);

  // Opens up to min_size connections now, within one call budget; stops at
  // the first failure (the server may be down: the pool heals later).
  void Warm();

  PoolStats Stats() const;

 private:
  // The hooks of pool_ (core/pool.h).
  Result<std::unique_ptr<Conn>> Open(Deadline deadline);
  Status Validate(Conn& conn, Deadline deadline);
  bool Discard(Conn& conn);

  bool Expired(const Conn& conn) const;
  void NoteValidationFailure();
  // How an attempt ended, for Run's decision to re-run it.
  enum class Lost { kNo, kConnection, kCannotConnect };
  Status RunOnce(TxMode mode, const std::function<Status(Conn&)>& fn, Deadline deadline, Lost* lost);

  const ConnectSettings settings_;
  const PoolOptions options_;
  FcfsPool<Conn> pool_;

  std::mutex mu_;                        // guards the streak only
  int64_t failure_streak_ = 0;           // GUARDED_BY(mu_): validation failures since the last success
  int64_t streak_base_ = 0;              // GUARDED_BY(mu_): pool size when the streak began
  std::atomic<int64_t> closed_dead_{0};  // besides those closed by a rebuild (pool_ counts them)
  std::atomic<int64_t> validation_failures_{0};
  std::atomic<int64_t> retries_{0};
};

}  // namespace refinery::pg

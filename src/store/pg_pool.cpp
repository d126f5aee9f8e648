#include "store/pg_pool.h"

#include <algorithm>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

namespace refinery::pg {
namespace {

// A retry is only worth starting with at least this much budget left.
constexpr double kMinAttemptS = 0.15;
// `SELECT 1` on a healthy loopback server takes well under a millisecond;
// one that stays silent this long is treated as dead.
constexpr double kValidationTimeoutS = 1.0;

double Jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.5)(rng);
}

const char* BeginSql(TxMode mode) {
  return mode == TxMode::kSnapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
}

}  // namespace

Pool::Pool(ConnectSettings settings, PoolOptions options)
    : settings_(std::move(settings)), options_(options) {}

Pool::~Pool() = default;  // idle connections close with idle_

Pool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_), generation_);
}

PoolStats Pool::Stats() const {
  std::lock_guard lock(mu_);
  PoolStats s;
  s.size = size_;
  s.in_use = in_use_;
  s.idle = static_cast<int64_t>(idle_.size());
  s.waiting = static_cast<int64_t>(waiters_.size());
  s.created = created_;
  s.closed_dead = closed_dead_;
  s.validation_failures = validation_failures_;
  s.retries = retries_.load();
  s.rebuilds = rebuilds_;
  return s;
}

bool Pool::Expired(const Conn& conn) const {
  return std::chrono::duration<double>(Clock::now() - conn.created_at()).count() >
         options_.max_lifetime_s;
}

void Pool::Warm() {
  const Deadline deadline = After(options_.call_budget_s);
  std::vector<Lease> leases;  // held together so each Checkout opens a new one
  for (int i = 0; i < options_.min_size; ++i) {
    auto lease = Checkout(deadline);
    if (!lease.ok()) {
      spdlog::warn("postgres: pool warm-up stopped: {}", lease.status().message());
      break;
    }
    leases.push_back(std::move(*lease));
  }
}

Result<Pool::Lease> Pool::Checkout(Deadline deadline, CheckoutFailure* why) {
  CheckoutFailure ignored;
  if (why == nullptr) why = &ignored;
  *why = CheckoutFailure::kNone;
  const Deadline wait_until = std::min(deadline, After(options_.checkout_timeout_s));
  for (;;) {
    Idle got;
    {
      std::unique_lock lock(mu_);
      // Nobody waits while something is free (HandOffLocked), so taking
      // directly never jumps the queue.
      if (!idle_.empty()) {
        got = std::move(idle_.back());
        idle_.pop_back();
        ++in_use_;
      } else if (size_ < options_.max_size) {
        ++size_;
        ++in_use_;
      } else {
        Waiter me;
        waiters_.push_back(&me);
        if (!me.ready_cv.wait_until(lock, wait_until, [&] { return me.ready; })) {
          waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
          *why = CheckoutFailure::kExhausted;
          return Status::Unavailable("postgres: connection pool exhausted: all " +
                                     std::to_string(options_.max_size) +
                                     " connections stayed in use past the checkout timeout");
        }
        got = std::move(me.idle);
      }
    }
    const bool was_idle = got.conn != nullptr;
    auto lease = Claim(std::move(got), deadline, why);
    // A dead or retired idle connection: try again (a fresh one, or the next).
    if (lease.ok() || !was_idle) return lease;
  }
}

Result<Pool::Lease> Pool::Claim(Idle item, Deadline deadline, CheckoutFailure* why) {
  if (item.conn == nullptr) return OpenNew(deadline, why);
  return TakeIdle(std::move(item), deadline);
}

void Pool::HandOffLocked() {
  while (!waiters_.empty() && (!idle_.empty() || size_ < options_.max_size)) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    if (!idle_.empty()) {
      next->idle = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++size_;  // a slot reserved for the waiter: it opens the connection
    }
    ++in_use_;
    next->ready = true;
    next->ready_cv.notify_one();
  }
}

// The caller already counted `item` in use.
Result<Pool::Lease> Pool::TakeIdle(Idle item, Deadline deadline) {
  Conn& conn = *item.conn;
  if (Expired(conn)) {
    Close(std::move(item.conn), CloseReason::kRetired);
    return Status::Unavailable("retired");
  }
  const double since_ok = std::chrono::duration<double>(Clock::now() - conn.last_ok_at()).count();
  if (since_ok < options_.fresh_window_s && conn.LooksIdleAndOpen()) {
    return Lease(this, std::move(item.conn), item.generation);
  }
  auto probe = conn.Exec("SELECT 1", Params(), std::min(deadline, After(kValidationTimeoutS)));
  if (probe.ok()) {
    std::lock_guard lock(mu_);
    failure_streak_ = 0;
    return Lease(this, std::move(item.conn), item.generation);
  }
  spdlog::info("postgres: pooled connection failed validation, replacing it: {}",
               probe.status().message());
  NoteValidationFailure();
  Close(std::move(item.conn), CloseReason::kDead);
  return probe.status();
}

// The caller already reserved a slot (size_) and counted it in use.
Result<Pool::Lease> Pool::OpenNew(Deadline deadline, CheckoutFailure* why) {
  auto conn = Conn::Connect(settings_, deadline);
  std::lock_guard lock(mu_);
  if (!conn.ok()) {
    --size_;
    --in_use_;
    HandOffLocked();
    *why = CheckoutFailure::kConnect;
    return conn.status();
  }
  ++created_;
  failure_streak_ = 0;
  return Lease(this, std::move(*conn), generation_);
}

void Pool::NoteValidationFailure() {
  std::vector<std::unique_ptr<Conn>> to_close;
  {
    std::lock_guard lock(mu_);
    ++validation_failures_;
    if (failure_streak_++ == 0) streak_base_ = size_;
    if (failure_streak_ >= streak_base_) RebuildLocked(to_close);
  }
  // to_close's destructor closes them outside the lock
}

// Every connection the pool held when failures began has failed: the server
// restarted or the network dropped. Start afresh instead of probing the rest
// one by one; connections now in use are closed when they come back.
void Pool::RebuildLocked(std::vector<std::unique_ptr<Conn>>& to_close) {
  ++generation_;
  ++rebuilds_;
  failure_streak_ = 0;
  for (Idle& item : idle_) to_close.push_back(std::move(item.conn));
  size_ -= static_cast<int64_t>(idle_.size());
  closed_dead_ += static_cast<int64_t>(idle_.size());
  idle_.clear();
  spdlog::warn("postgres: every pooled connection failed validation; rebuilt the pool");
  HandOffLocked();
}

void Pool::Close(std::unique_ptr<Conn> conn, CloseReason reason) {
  {
    std::lock_guard lock(mu_);
    --size_;
    --in_use_;
    if (reason == CloseReason::kDead) ++closed_dead_;
    HandOffLocked();
  }
  conn.reset();  // PQfinish outside the lock
}

void Pool::Release(std::unique_ptr<Conn> conn, uint64_t generation) {
  if (conn->broken()) return Close(std::move(conn), CloseReason::kDead);
  // An exception mid-transaction leaves the session in an unknown state.
  const bool stale = conn->InTransaction() || Expired(*conn);
  std::unique_lock lock(mu_);
  if (stale || generation != generation_) {
    lock.unlock();
    return Close(std::move(conn), generation != generation_ ? CloseReason::kDead
                                                            : CloseReason::kRetired);
  }
  --in_use_;
  idle_.push_back({std::move(conn), generation});
  HandOffLocked();
}

double Pool::BackoffDelay(int attempt) {
  return options_.retry_base_delay_s * static_cast<double>(int64_t{1} << std::min(attempt, 20)) *
         Jitter();
}

Status Pool::RunOnce(TxMode mode, const std::function<Status(Conn&)>& fn, Deadline deadline,
                     bool* connection_lost) {
  CheckoutFailure why = CheckoutFailure::kNone;
  auto lease = Checkout(deadline, &why);
  if (!lease.ok()) {
    *connection_lost = why == CheckoutFailure::kConnect;
    return lease.status();
  }
  Conn& conn = **lease;
  Status s = mode == TxMode::kNone ? Status::Ok() : conn.Run(BeginSql(mode));
  if (s.ok()) s = fn(conn);
  if (s.ok() && mode != TxMode::kNone) {
    s = conn.Run("COMMIT");
    if (!s.ok() && conn.broken()) {
      *connection_lost = false;  // see Run: never re-run work that may have committed
      return Status::Unavailable("postgres: connection lost during COMMIT; outcome unknown: " +
                                 s.message());
    }
  }
  if (!s.ok() && conn.InTransaction() && !conn.broken()) (void)conn.Run("ROLLBACK");
  *connection_lost = conn.broken();
  return s;
}

Status Pool::Run(const char* what, TxMode mode, const std::function<Status(Conn&)>& fn) {
  const Deadline deadline = After(options_.call_budget_s);
  for (int attempt = 0;; ++attempt) {
    bool connection_lost = false;
    Status s = RunOnce(mode, fn, deadline, &connection_lost);
    if (s.ok() || !connection_lost) return s;
    const double budget = SecondsLeft(deadline) - kMinAttemptS;
    if (attempt >= options_.retries || budget <= 0) {
      return Status::Unavailable(s.message());
    }
    const double delay = std::min(BackoffDelay(attempt), budget);
    ++retries_;
    spdlog::warn("postgres: {} failed on a connection error, retry {}/{} in {} ms on a fresh "
                 "connection: {}",
                 what, attempt + 1, options_.retries, static_cast<int>(delay * 1000), s.message());
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

}  // namespace refinery::pg

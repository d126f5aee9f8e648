#include "store/pg_pool.h"

#include <algorithm>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/backoff.h"

namespace refinery::pg {
namespace {

// A retry is only worth starting with at least this much budget left.
constexpr double kMinAttemptS = 0.15;
// `SELECT 1` on a healthy loopback server takes well under a millisecond;
// one that stays silent this long is treated as dead.
constexpr double kValidationTimeoutS = 1.0;

const char* BeginSql(TxMode mode) {
  return mode == TxMode::kSnapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
}

}  // namespace

Pool::Pool(ConnectSettings settings, PoolOptions options)
    : settings_(std::move(settings)),
      options_(options),
      pool_("postgres", {.max_size = options.max_size},
            {.open = [this](Deadline deadline) { return Open(deadline); },
             .validate = [this](Conn& conn, Deadline deadline) { return Validate(conn, deadline); },
             .discard = [this](Conn& conn) { return Discard(conn); }}) {}

Pool::~Pool() = default;  // idle connections close with pool_

PoolStats Pool::Stats() const {
  const FcfsPool<Conn>::Counts counts = pool_.counts();
  PoolStats s;
  s.size = counts.size;
  s.in_use = counts.in_use;
  s.idle = counts.idle;
  s.waiting = counts.waiting;
  s.created = counts.created;
  s.closed_dead = closed_dead_.load() + counts.closed_by_rebuild;
  s.validation_failures = validation_failures_.load();
  s.retries = retries_.load();
  s.rebuilds = counts.rebuilds;
  return s;
}

bool Pool::Expired(const Conn& conn) const {
  return std::chrono::duration<double>(Clock::now() - conn.created_at()).count() > options_.max_lifetime_s;
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
  using Failure = FcfsPool<Conn>::Failure;
  Failure failure = Failure::kNone;
  auto lease = pool_.Checkout(std::min(deadline, After(options_.checkout_timeout_s)), deadline, &failure);
  if (why != nullptr) {
    *why = failure == Failure::kOpen        ? CheckoutFailure::kConnect
           : failure == Failure::kExhausted ? CheckoutFailure::kExhausted
                                            : CheckoutFailure::kNone;
  }
  return lease;
}

Result<std::unique_ptr<Conn>> Pool::Open(Deadline deadline) {
  auto conn = Conn::Connect(settings_, deadline);
  if (conn.ok()) {
    std::lock_guard lock(mu_);
    failure_streak_ = 0;
  }
  return conn;
}

// An idle connection is handed out if it is young enough and answers (or
// was used a moment ago and its socket is quiet). A failure closes it.
Status Pool::Validate(Conn& conn, Deadline deadline) {
  if (Expired(conn)) return Status::Unavailable("retired");
  const double since_ok = std::chrono::duration<double>(Clock::now() - conn.last_ok_at()).count();
  if (since_ok < options_.fresh_window_s && conn.LooksIdleAndOpen()) return Status::Ok();
  auto probe = conn.Exec("SELECT 1", Params(), std::min(deadline, After(kValidationTimeoutS)));
  if (probe.ok()) {
    std::lock_guard lock(mu_);
    failure_streak_ = 0;
    return Status::Ok();
  }
  spdlog::info("postgres: pooled connection failed validation, replacing it: {}", probe.status().message());
  ++closed_dead_;
  NoteValidationFailure();
  return probe.status();
}

// A returned connection is closed when broken (dead), or when mid-transaction
// (an exception left the session in an unknown state) or past its lifetime
// (retired). pool_ itself closes those from before a rebuild.
bool Pool::Discard(Conn& conn) {
  if (conn.broken()) {
    ++closed_dead_;
    return true;
  }
  return conn.InTransaction() || Expired(conn);
}

// Once every connection the pool held when failures began has failed, the
// server restarted or the network dropped: start afresh instead of probing
// the rest one by one (connections now in use are closed when they return).
void Pool::NoteValidationFailure() {
  ++validation_failures_;
  {
    std::lock_guard lock(mu_);
    if (failure_streak_++ == 0) streak_base_ = pool_.counts().size;
    if (failure_streak_ < streak_base_) return;
    failure_streak_ = 0;
  }
  pool_.Rebuild();
  spdlog::warn("postgres: every pooled connection failed validation; rebuilt the pool");
}

Status Pool::RunOnce(TxMode mode, const std::function<Status(Conn&)>& fn, Deadline deadline, Lost* lost) {
  CheckoutFailure why = CheckoutFailure::kNone;
  auto lease = Checkout(deadline, &why);
  if (!lease.ok()) {
    *lost = why == CheckoutFailure::kConnect ? Lost::kCannotConnect : Lost::kNo;
    return lease.status();
  }
  Conn& conn = **lease;
  Status s = mode == TxMode::kNone ? Status::Ok() : conn.Run(BeginSql(mode));
  if (s.ok()) s = fn(conn);
  if (s.ok() && mode != TxMode::kNone) {
    s = conn.Run("COMMIT");
    if (!s.ok() && conn.broken()) {
      *lost = Lost::kNo;  // see Run: never re-run work that may have committed
      return Status::Unavailable("postgres: connection lost during COMMIT; outcome unknown: " + s.message());
    }
  }
  if (!s.ok() && conn.InTransaction() && !conn.broken()) (void)conn.Run("ROLLBACK");
  *lost = conn.broken() ? Lost::kConnection : Lost::kNo;
  return s;
}

Status Pool::Run(const char* what, TxMode mode, const std::function<Status(Conn&)>& fn) {
  const Deadline deadline = After(options_.call_budget_s);
  int backoffs = 0;  // delays so far: only failed connects count toward the back-off
  for (int attempt = 0;; ++attempt) {
    Lost lost = Lost::kNo;
    Status s = RunOnce(mode, fn, deadline, &lost);
    if (s.ok() || lost == Lost::kNo) return s;
    const double budget = SecondsLeft(deadline) - kMinAttemptS;
    if (attempt >= options_.retries || budget <= 0) {
      return Status::Unavailable(s.message());
    }
    ++retries_;
    if (lost == Lost::kConnection) {
      // A connection killed under us (pg_terminate_backend, a restarted
      // proxy): the next checkout opens a fresh one, so re-run at once.
      spdlog::warn("postgres: {} lost its connection, re-running it on a fresh one ({}/{}): {}", what, attempt + 1,
                   options_.retries, s.message());
      continue;
    }
    // Opening a connection failed: the server is down or refusing. Jittered,
    // so callers that failed together do not all come back at once; never
    // longer than the budget (which is the cap).
    const double delay =
        std::min(JitteredBackoff({options_.retry_base_delay_s, options_.call_budget_s}, ++backoffs), budget);
    spdlog::warn("postgres: {} could not connect, retry {}/{} in {} ms: {}", what, attempt + 1, options_.retries,
                 static_cast<int>(delay * 1000), s.message());
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

}  // namespace refinery::pg

// Small RAII layer over libpq (the C API) for the PostgreSQL store: owned
// connections and results, query parameters, connects and queries bounded by
// a deadline, and the one decision the pool lives by: did this failure lose
// the connection (re-run the unit of work elsewhere) or is the statement
// itself wrong (never retry)?
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace refinery::pg {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Seconds from now until `deadline` (negative once it passed).
double SecondsLeft(Deadline deadline);
Deadline After(double seconds);

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

// True when a failure means the session is gone rather than the statement
// being wrong: SQLSTATE class 08 (connection exception), 57P01/57P02/57P03
// (admin shutdown, crash shutdown, cannot connect now), or no SQLSTATE at all
// while libpq reports the connection bad or "server closed the connection
// unexpectedly". PQstatus alone is no liveness check: it only reports the
// last state libpq saw, so it is consulted only after a failure.
bool IsConnectionError(std::string_view sqlstate, bool connection_bad, std::string_view message);

// Maps a statement error (connection still fine) to a Status: data and
// integrity errors (classes 22, 23) are InvalidArgument, statement_timeout
// (57014) Timeout, serialization/deadlock and resource limits Unavailable,
// anything else Internal.
Status StatementErrorStatus(std::string_view sqlstate, const std::string& message);

// How to open connections: libpq keyword/value pairs from DATABASE_URL plus
// Refinery's defaults, and the limits Refinery enforces itself.
struct ConnectSettings {
  std::vector<std::pair<std::string, std::string>> params;
  double connect_timeout_s = 10;   // per connect attempt, also capped by the caller's deadline
  double statement_timeout_s = 5;  // server-side; also bounds the client's wait (plus slack)
};

// Parses a postgresql:// URL (or key=value string). Adds, only where the URL
// does not set them: connect_timeout=10 keepalives=1 keepalives_idle=30
// keepalives_interval=10 keepalives_count=5, fallback_application_name, and
// `-c statement_timeout=...` in options. InvalidArgument names DATABASE_URL.
Result<ConnectSettings> BuildConnectSettings(const std::string& url, double statement_timeout_s);

// A query's parameters, bound in order as $1, $2, ... Text format, except an
// embedding, which goes as binary bytea (float32 little-endian, the SQLite
// encoding). Doubles are written with shortest round-trip precision.
class Params {
 public:
  Params() = default;
  template <typename... Args>
  explicit Params(const Args&... args) {
    (Add(args), ...);
  }
  void Add(int64_t v) { AddText(std::to_string(v)); }
  void Add(int v) { AddText(std::to_string(v)); }
  void Add(double v);
  void Add(bool v) { AddText(v ? "t" : "f"); }
  void Add(std::string_view v) { AddText(std::string(v)); }
  void Add(const std::string& v) { AddText(v); }
  void Add(const char* v) { AddText(v); }
  void Add(std::nullptr_t) {
    values_.emplace_back(std::nullopt);
    formats_.push_back(0);
  }
  void Add(const std::optional<int64_t>& v) { v ? Add(*v) : Add(nullptr); }
  void Add(const std::vector<float>& v);  // empty binds NULL

  int size() const { return static_cast<int>(values_.size()); }
  // Pointer arrays for PQsendQueryParams; valid while *this is unchanged.
  std::vector<const char*> Values() const;
  std::vector<int> Lengths() const;
  const std::vector<int>& Formats() const { return formats_; }

 private:
  void AddText(std::string v) {
    values_.emplace_back(std::move(v));
    formats_.push_back(0);
  }
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
};

// A query result in text format.
class Rows {
 public:
  explicit Rows(ResultPtr result) : result_(std::move(result)) {}
  int size() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;                // NULL reads 0
  double Real(int row, int col) const;                // NULL reads 0
  std::vector<float> Floats(int row, int col) const;  // bytea; NULL reads empty
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  ResultPtr result_;
};

// One open session. Used by one thread at a time. Once a connection error
// was seen it is broken() for good, and the pool discards it.
class Conn {
  struct Key {
    explicit Key() = default;
  };

 public:
  Conn(Key, ConnPtr conn, double statement_timeout_s);

  // Opens a session. libpq's own connect_timeout is enforced only by its
  // blocking PQconnectdb loop, and only in whole seconds, so we
  // drive PQconnectStartParams/PQconnectPoll with poll() ourselves and stop
  // at min(connect_timeout, `deadline`): a down server costs the caller at
  // most its remaining budget, never 10 s. Failures are Unavailable.
  static Result<std::unique_ptr<Conn>> Connect(const ConnectSettings& settings, Deadline deadline);

  // Runs one statement and waits for its result until `deadline` (default:
  // statement_timeout plus slack, a guard against a silently vanished
  // network). A timeout or lost session marks the connection broken.
  Result<Rows> Exec(std::string_view sql, const Params& params = Params(),
                    std::optional<Deadline> deadline = std::nullopt);
  // Exec, ignoring rows.
  Status Run(std::string_view sql, const Params& params = Params());

  // Cheap, no round trip: false if the server already sent something on an
  // idle session (a termination notice or EOF), which a healthy idle
  // connection never does. True says nothing certain about liveness.
  bool LooksIdleAndOpen();

  bool broken() const { return broken_; }
  void MarkBroken() { broken_ = true; }
  bool InTransaction() const;
  Clock::time_point created_at() const { return created_at_; }
  Clock::time_point last_ok_at() const { return last_ok_at_; }
  PGconn* raw() const { return conn_.get(); }

 private:
  Result<ResultPtr> WaitForResult(Deadline deadline);
  Status Failure(const PGresult* result, std::string_view sql);

  ConnPtr conn_;
  double statement_timeout_s_;
  bool broken_ = false;
  Clock::time_point created_at_;
  Clock::time_point last_ok_at_;
};

}  // namespace refinery::pg

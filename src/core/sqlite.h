// The one RAII layer over the sqlite3 C API, used by the SQLite store, the
// SQLite queue and the doctor: a connection with a prepared-statement cache,
// a borrowed statement that resets itself, a connection pool, transaction
// guards, and the one mapping of SQLite result codes to a Status.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/pool.h"
#include "core/status.h"
#include "core/vector_bytes.h"

namespace refinery::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Maps a SQLite result code to a Status, the same way for every user: what
// is the environment and not the data -- BUSY/LOCKED (another writer held
// the lock past the busy timeout), a full disk, I/O errors, a file that
// cannot be opened -- is Unavailable, so work pauses and retries instead of
// using up a document's attempts; anything else (a bug, corruption) is
// Internal. The message names the database file and `what` failed.
Status ErrorStatus(sqlite3* db, int rc, std::string_view what);

class Connection;

// A prepared statement borrowed from a connection's cache. Resets and clears
// its bindings on destruction so the cached statement never holds a read
// snapshot open or leaks values into the next use.
class Statement {
 public:
  Statement(Connection& conn, sqlite3_stmt* stmt) : conn_(&conn), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Binds parameters ?1, ?2, ... in order; a failure surfaces at Step/Run.
  template <typename... Args>
  Statement& Bind(const Args&... args) {
    int index = 0;
    (BindOne(++index, args), ...);
    return *this;
  }
  // True when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, ignoring rows (for INSERT/UPDATE/DELETE).
  Status Run();

  int Columns() const { return sqlite3_column_count(stmt_); }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // An embedding column; NULL reads as empty.
  std::vector<float> Floats(int col) const;

 private:
  void BindOne(int i, int64_t v);
  void BindOne(int i, int v) { BindOne(i, static_cast<int64_t>(v)); }
  void BindOne(int i, double v);
  void BindOne(int i, std::string_view v);
  void BindOne(int i, const std::string& v) { BindOne(i, std::string_view(v)); }
  void BindOne(int i, const char* v) { BindOne(i, std::string_view(v)); }
  void BindOne(int i, std::nullptr_t);
  // Nothing binds NULL.
  void BindOne(int i, const std::optional<int64_t>& v) { v ? BindOne(i, *v) : BindOne(i, nullptr); }
  // An embedding: empty binds NULL.
  void BindOne(int i, const std::vector<float>& v);
  void Check(int rc);

  Connection* conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

struct ConnectionOptions {
  int busy_timeout_ms = 10000;
  // Read-only: for inspecting a file (the doctor); never creates it, never
  // changes its journal mode.
  bool read_only = false;
};

// One sqlite3 handle, used by one thread at a time (opened NOMUTEX).
class Connection {
  struct Key {  // lets only Open construct, while still using make_unique
    explicit Key() = default;
  };

 public:
  Connection(Key, DbPtr db) : db_(std::move(db)) {}
  // Opens or creates the file and applies WAL, synchronous=NORMAL,
  // foreign_keys=ON and the busy timeout (read-only: opens an existing file
  // with the busy timeout only). A file that cannot be opened is Unavailable.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const ConnectionOptions& options);

  // A cached prepared statement for `sql` (compiled once per connection).
  // Callers never hold two Statements for the same SQL text at once.
  Result<Statement> Prepare(const char* sql);
  // Runs one or more statements without results (pragmas, DDL, BEGIN/COMMIT).
  Status Exec(const char* sql);

  sqlite3* db() const { return db_.get(); }
  int64_t Changes() const { return sqlite3_changes64(db_.get()); }
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_.get()); }
  bool InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }
  // Waits up to `ms` for a lock another connection holds, sleeping 0.1 ms
  // at first and doubling to 4 ms: write transactions here hold the lock
  // for well under a millisecond, and SQLite's own busy_timeout sleeps 1,
  // 2, 5, 10 ms..., which left the CPUs idle while writers queued.
  void SetBusyTimeout(int ms);

 private:
  static int OnBusy(void* self, int count);
  Status EnableWal();

  int busy_timeout_ms_ = 0;

  DbPtr db_;  // declared first so the statement cache is finalized before close
  std::unordered_map<std::string, StmtPtr> cache_;
};

// Hands out connections to one database file, one per call, through the
// one first-come-first-served pool (core/pool.h); idle ones are kept (up to
// max_idle) so statement caches survive between calls. With max_open > 0 at
// most that many are open at once and Acquire waits (up to a minute, then
// Unavailable) for one to come back; 0 opens more on demand. A connection
// returned inside a transaction (a failed rollback) is closed, never reused.
class ConnectionPool {
 public:
  using Lease = FcfsPool<Connection>::Lease;

  ConnectionPool(std::string path, ConnectionOptions options, size_t max_idle, size_t max_open = 0);

  Result<Lease> Acquire();
  const std::string& path() const { return path_; }

  // Figures for /stats: connections leased, idle, and ever opened.
  struct Figures {
    int64_t in_use = 0;
    int64_t idle = 0;
    int64_t created = 0;
  };
  Figures Stats() const;

 private:
  const std::string path_;
  const ConnectionOptions options_;
  FcfsPool<Connection> pool_;
};

// A transaction that rolls back unless committed. Write transactions begin
// IMMEDIATE: a deferred one that reads first and writes later can fail at
// once with SQLITE_BUSY whatever the busy timeout (stale snapshot).
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  static Result<Transaction> Begin(Connection& conn, Kind kind);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;  // null once committed or moved from
};

// A health probe write: runs `upsert_sql` (one parameter, the time) in a
// write transaction that waits at most a moment for the write lock. Another
// writer holding the lock proves the file takes writes, so that is OK too;
// a full disk or a read-only file is not. Restores `busy_timeout_ms` after.
Status ProbeWrite(Connection& conn, const char* upsert_sql, int busy_timeout_ms);

// Runs `body` on a pooled connection inside one transaction and commits it
// when `body` returns OK; rolls back otherwise.
Status RunInTransaction(ConnectionPool& pool, Transaction::Kind kind, const std::function<Status(Connection&)>& body);

}  // namespace refinery::sqlite

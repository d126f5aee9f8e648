// Small RAII wrappers over the sqlite3 C API for the queue: a connection, a
// prepared statement, a write transaction and a pool of connections.
//
// They live in their own namespace (queue_db) so that another module's
// SQLite wrappers linked into the same binary can never collide (ODR).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "core/status.h"

namespace refinery::queue_db {

// Maps an SQLite result code to a Status. Busy/locked (after busy_timeout),
// I/O, full-disk and can't-open errors are Unavailable: a dependency problem
// worth retrying later. Anything else is Internal (a bug or corruption).
Status ErrorStatus(sqlite3* db, int rc, std::string_view what);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

// A prepared statement. Bind errors are remembered and reported by Step, so
// call sites can chain binds without checking each one.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  // Parameter indexes are 1-based, as in SQL's ?1, ?2.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view value);

  // true: a row is available; false: the statement is done.
  Result<bool> Step();
  // Steps to completion, ignoring any rows.
  Status Run();

  // Highest parameter index the SQL uses, so optional binds can be skipped.
  int ParamCount() const { return sqlite3_bind_parameter_count(stmt_.get()); }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
  double Real(int column) const { return sqlite3_column_double(stmt_.get(), column); }
  std::string Text(int column) const;

 private:
  Statement& Check(int rc);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
};

// One open database handle. Used by one thread at a time (the pool sees to
// that), so it is opened without SQLite's per-connection mutex.
class Connection {
 public:
  // Opens (creating if needed) `path`, with busy_timeout and
  // synchronous=NORMAL (WAL makes that durable against process crashes).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int busy_timeout_ms);
  explicit Connection(std::unique_ptr<sqlite3, DbCloser> db) : db_(std::move(db)) {}

  Status Exec(const char* sql);  // statements without parameters
  Result<Statement> Prepare(std::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_.get()); }
  bool InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }
  sqlite3* db() const { return db_.get(); }

 private:
  std::unique_ptr<sqlite3, DbCloser> db_;
};

// A write transaction that starts with BEGIN IMMEDIATE: it takes the write
// lock up front (waiting up to busy_timeout), because a transaction that
// reads first and writes later can fail at once with SQLITE_BUSY when
// another process committed in between (see FACTS.md). Rolls back on
// destruction unless committed.
class WriteTransaction {
 public:
  explicit WriteTransaction(Connection& conn) : conn_(conn) {}
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  Status Begin();
  Status Commit();

 private:
  Connection& conn_;
  bool open_ = false;
};

// A health probe write: runs `upsert_sql` (?1 = the time) in a write
// transaction that waits at most a moment for the write lock; another writer
// holding it proves the file takes writes (OK). Restores `busy_timeout_ms`.
Status ProbeWrite(Connection& conn, const char* upsert_sql, int busy_timeout_ms);

class ConnectionPool;

// A connection checked out of the pool; goes back on destruction.
class PooledConnection {
 public:
  PooledConnection(ConnectionPool* pool, std::unique_ptr<Connection> conn)
      : pool_(pool), conn_(std::move(conn)) {}
  PooledConnection(PooledConnection&& other) noexcept = default;
  PooledConnection& operator=(PooledConnection&&) = delete;
  ~PooledConnection();

  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> conn_;
};

// Up to `max_size` connections, opened lazily. Several connections let many
// threads read at once (WAL readers do not block); writers still take turns
// on SQLite's single write lock. Checkout waits while all are in use.
class ConnectionPool {
 public:
  ConnectionPool(std::string path, int max_size, int busy_timeout_ms);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  Result<PooledConnection> Checkout();

 private:
  friend class PooledConnection;
  void Return(std::unique_ptr<Connection> conn);

  const std::string path_;
  const int max_size_;
  const int busy_timeout_ms_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_count_ = 0;  // idle + checked out + being opened
};

}  // namespace refinery::queue_db

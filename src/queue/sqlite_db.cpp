#include "queue/sqlite_db.h"

#include <utility>

#include "core/clock.h"

namespace refinery::queue_db {

namespace {

// Multi-line SQL in `what` would break the one-line-per-event log format.
std::string OneLine(std::string_view text) {
  std::string line;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space) line += c;
    else if (!line.empty() && line.back() != ' ') line += ' ';
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

Status ErrorStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message = "queue database: " + OneLine(what) + ": " + sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_errcode(db) == rc) {
    std::string detail = sqlite3_errmsg(db);  // often names the table or column involved
    if (detail != sqlite3_errstr(rc)) message += " (" + detail + ")";
  }
  switch (rc & 0xff) {  // the primary code of an extended result code
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Status::Unavailable(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

Statement& Statement::Check(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  return Check(sqlite3_bind_int64(stmt_.get(), index, value));
}

Statement& Statement::Bind(int index, double value) {
  return Check(sqlite3_bind_double(stmt_.get(), index, value));
}

Statement& Statement::Bind(int index, std::string_view value) {
  return Check(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8));
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return ErrorStatus(db_, bind_rc_, "bind");
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return ErrorStatus(db_, rc, sqlite3_sql(stmt_.get()));
}

Status Statement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<sqlite3, DbCloser> handle(raw);  // a failed open still allocates a handle
  if (rc != SQLITE_OK) return ErrorStatus(raw, rc, "open " + path);
  auto conn = std::make_unique<Connection>(std::move(handle));
  sqlite3_extended_result_codes(raw, 1);
  rc = sqlite3_busy_timeout(raw, busy_timeout_ms);
  if (rc != SQLITE_OK) return ErrorStatus(raw, rc, "busy_timeout");
  REFINERY_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=NORMAL"));
  return conn;
}

Status Connection::Exec(const char* sql) {
  int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(db_.get(), rc, sql);
  return Status::Ok();
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  Statement statement(db_.get(), stmt);  // finalizes stmt whatever happens next
  if (rc != SQLITE_OK) return ErrorStatus(db_.get(), rc, "prepare");
  return statement;
}

WriteTransaction::~WriteTransaction() {
  // Best effort: a failed rollback leaves the connection in a transaction,
  // and the pool discards such connections.
  if (open_ && conn_.InTransaction()) (void)conn_.Exec("ROLLBACK");
}

Status WriteTransaction::Begin() {
  REFINERY_RETURN_IF_ERROR(conn_.Exec("BEGIN IMMEDIATE"));
  open_ = true;
  return Status::Ok();
}

Status WriteTransaction::Commit() {
  REFINERY_RETURN_IF_ERROR(conn_.Exec("COMMIT"));
  open_ = false;
  return Status::Ok();
}

Status ProbeWrite(Connection& conn, const char* upsert_sql, int busy_timeout_ms) {
  sqlite3_busy_timeout(conn.db(), 200);
  auto probe = [&]() -> Status {
    WriteTransaction txn(conn);
    Status begun = txn.Begin();
    if (!begun.ok()) {
      const int code = sqlite3_errcode(conn.db()) & 0xff;
      return code == SQLITE_BUSY || code == SQLITE_LOCKED ? Status::Ok() : begun;
    }
    Result<Statement> stmt = conn.Prepare(upsert_sql);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, NowSeconds());
    REFINERY_RETURN_IF_ERROR(stmt->Run());
    return txn.Commit();
  };
  Status result = probe();
  sqlite3_busy_timeout(conn.db(), busy_timeout_ms);
  return result;
}

PooledConnection::~PooledConnection() {
  if (conn_) pool_->Return(std::move(conn_));
}

ConnectionPool::ConnectionPool(std::string path, int max_size, int busy_timeout_ms)
    : path_(std::move(path)), max_size_(max_size < 1 ? 1 : max_size), busy_timeout_ms_(busy_timeout_ms) {}

Result<PooledConnection> ConnectionPool::Checkout() {
  {
    std::unique_lock lock(mu_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_count_ < max_size_; });
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return PooledConnection(this, std::move(conn));
    }
    ++open_count_;  // reserve the slot; open outside the lock (it touches the file)
  }
  Result<std::unique_ptr<Connection>> opened = Connection::Open(path_, busy_timeout_ms_);
  if (!opened.ok()) {
    std::lock_guard lock(mu_);
    --open_count_;
    returned_.notify_one();
    return opened.status();
  }
  return PooledConnection(this, std::move(opened).value());
}

void ConnectionPool::Return(std::unique_ptr<Connection> conn) {
  // A connection still inside a transaction (a rollback failed) would hold
  // SQLite's locks for whoever gets it next: close it instead.
  if (conn->InTransaction()) conn.reset();
  std::lock_guard lock(mu_);
  if (conn) {
    idle_.push_back(std::move(conn));
  } else {
    --open_count_;
  }
  returned_.notify_one();
}

}  // namespace refinery::queue_db

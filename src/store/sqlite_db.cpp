#include "store/sqlite_db.h"

#include "core/clock.h"

#include <bit>
#include <chrono>
#include <thread>
#include <utility>

namespace refinery::sqlite {

Status ErrorStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: " + std::string(what) + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // Busy/locked (after the busy timeout), a full disk, I/O errors and a file
  // that cannot be opened are the environment, not the data: Unavailable,
  // so work pauses and retries instead of using up a document's attempts.
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Status::Unavailable(message);
    default:
      return Status::Internal(message);
  }
}

std::string EncodeFloats(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    const auto bits = std::bit_cast<uint32_t>(values[i]);
    for (size_t b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xffu);
  }
  return out;
}

std::vector<float> DecodeFloats(const void* data, size_t bytes) {
  const auto* in = static_cast<const unsigned char*>(data);
  std::vector<float> out(bytes / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits = 0;
    for (size_t b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(in[i * 4 + b]) << (8 * b);
    out[i] = std::bit_cast<float>(bits);
  }
  return out;
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : conn_(other.conn_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::Check(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindOne(int i, int64_t v) { Check(sqlite3_bind_int64(stmt_, i, v)); }
void Statement::BindOne(int i, double v) { Check(sqlite3_bind_double(stmt_, i, v)); }
void Statement::BindOne(int i, std::nullptr_t) { Check(sqlite3_bind_null(stmt_, i)); }

void Statement::BindOne(int i, std::string_view v) {
  // A null data pointer would bind SQL NULL; an empty string must stay ''.
  const char* data = v.data() != nullptr ? v.data() : "";
  Check(sqlite3_bind_text64(stmt_, i, data, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Statement::BindOne(int i, const std::vector<float>& v) {
  if (v.empty()) return BindOne(i, nullptr);
  const std::string bytes = EncodeFloats(v);
  Check(sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return ErrorStatus(conn_->db(), bind_rc_, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return ErrorStatus(conn_->db(), rc, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

std::string Statement::Text(int col) const {
  const auto* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::vector<float> Statement::Floats(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  if (data == nullptr) return {};
  return DecodeFloats(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const ConnectionOptions& options) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK) {
    Status s = ErrorStatus(db.get(), rc, "open " + path);
    return Status::Unavailable(s.message());  // a missing/unwritable file is an outage, not a bug
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  auto conn = std::make_unique<Connection>(Key{}, std::move(db));
  REFINERY_RETURN_IF_ERROR(conn->EnableWal());
  REFINERY_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  return conn;
}

Status Connection::EnableWal() {
  // Switching a fresh file to WAL needs an exclusive lock, and a process that
  // is recovering the WAL can make the pragma fail at once with BUSY; retry.
  Status last;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto stmt = Prepare("PRAGMA journal_mode=WAL");
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (row.ok() && *row && stmt->Text(0) == "wal") return Status::Ok();
    last = row.ok() ? Status::Internal("sqlite: journal_mode is " + stmt->Text(0) + ", not wal")
                    : row.status();
    if (last.code() != StatusCode::kUnavailable) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return last;
}

Result<Statement> Connection::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return ErrorStatus(db_.get(), rc, std::string("prepare ") + sql);
    it = cache_.emplace(sql, std::move(stmt)).first;
  }
  return Statement(*this, it->second.get());
}

Status Connection::Exec(const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &error);
  sqlite3_free(error);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) return ErrorStatus(db_.get(), rc, sql);
  return Status::Ok();
}

// ---- ConnectionPool ----

ConnectionPool::ConnectionPool(std::string path, ConnectionOptions options, size_t max_idle)
    : path_(std::move(path)), options_(options), max_idle_(max_idle) {}

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      return Lease(this, std::move(conn));
    }
  }
  auto conn = Connection::Open(path_, options_);
  if (!conn.ok()) return conn.status();
  std::lock_guard lock(mu_);
  ++created_;
  ++in_use_;
  return Lease(this, std::move(*conn));
}

void ConnectionPool::Release(std::unique_ptr<Connection> conn) {
  std::unique_lock lock(mu_);
  --in_use_;
  // Never hand out a connection in an unknown state; keep at most max_idle_.
  if (conn->InTransaction() || idle_.size() >= max_idle_) {
    lock.unlock();
    conn.reset();  // close outside the lock
    return;
  }
  idle_.push_back(std::move(conn));
}

ConnectionPool::Figures ConnectionPool::Stats() const {
  std::lock_guard lock(mu_);
  return {in_use_, static_cast<int64_t>(idle_.size()), created_};
}

ConnectionPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

// ---- Transaction ----

Result<Transaction> Transaction::Begin(Connection& conn, Kind kind) {
  REFINERY_RETURN_IF_ERROR(conn.Exec(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  return Transaction(&conn);
}

Transaction::~Transaction() {
  // SQLite may already have rolled back after an error (e.g. SQLITE_FULL).
  if (conn_ != nullptr && conn_->InTransaction()) (void)conn_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  REFINERY_RETURN_IF_ERROR(conn_->Exec("COMMIT"));
  conn_ = nullptr;
  return Status::Ok();
}

Status ProbeWrite(Connection& conn, const char* upsert_sql, int busy_timeout_ms) {
  // The probe must not queue behind a long write for the full busy timeout.
  sqlite3_busy_timeout(conn.db(), 200);
  auto probe = [&]() -> Status {
    auto txn = Transaction::Begin(conn, Transaction::Kind::kWrite);
    if (!txn.ok()) {
      const int code = sqlite3_errcode(conn.db()) & 0xff;
      return code == SQLITE_BUSY || code == SQLITE_LOCKED ? Status::Ok() : txn.status();
    }
    auto stmt = conn.Prepare(upsert_sql);
    if (!stmt.ok()) return stmt.status();
    REFINERY_RETURN_IF_ERROR(stmt->Bind(NowSeconds()).Run());
    return txn->Commit();
  };
  Status result = probe();
  sqlite3_busy_timeout(conn.db(), busy_timeout_ms);
  return result;
}

Status RunInTransaction(ConnectionPool& pool, Transaction::Kind kind,
                        const std::function<Status(Connection&)>& body) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  auto txn = Transaction::Begin(**conn, kind);
  if (!txn.ok()) return txn.status();
  REFINERY_RETURN_IF_ERROR(body(**conn));
  return txn->Commit();
}

}  // namespace refinery::sqlite

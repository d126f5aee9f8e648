#include "core/sqlite.h"

#include "core/clock.h"

#include <chrono>
#include <limits>
#include <thread>
#include <utility>

namespace refinery::sqlite {

namespace {

// Multi-line SQL in a message would break the one-line-per-event log format.
std::string OneLine(std::string_view text) {
  std::string line;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space) {
      line += c;
    } else if (!line.empty() && line.back() != ' ') {
      line += ' ';
    }
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// "queue.db" for the connection's main database file; "sqlite" when unknown.
std::string FileName(sqlite3* db) {
  const char* path = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  if (path == nullptr || *path == '\0') return "sqlite";
  const std::string_view full(path);
  const size_t slash = full.rfind('/');
  return std::string(slash == std::string_view::npos ? full : full.substr(slash + 1));
}

}  // namespace

Status ErrorStatus(sqlite3* db, int rc, std::string_view what) {
  std::string message = FileName(db) + ": " + OneLine(what) + ": ";
  message += db != nullptr && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
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

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept : conn_(other.conn_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
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
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::vector<float> Statement::Floats(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  if (data == nullptr) return {};
  return DecodeFloats(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, const ConnectionOptions& options) {
  sqlite3* raw = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK) {
    Status s = ErrorStatus(db.get(), rc, "open " + path);
    return Status::Unavailable(s.message());  // a missing/unwritable file is an outage, not a bug
  }
  sqlite3_extended_result_codes(db.get(), 1);
  auto conn = std::make_unique<Connection>(Key{}, std::move(db));
  conn->SetBusyTimeout(options.busy_timeout_ms);
  if (options.read_only) return conn;
  REFINERY_RETURN_IF_ERROR(conn->EnableWal());
  // wal_autocheckpoint: the commit that takes the WAL past it runs the
  // checkpoint on its own thread (copying pages and an fsync). At SQLite's
  // 1,000 pages a busy pipeline checkpointed every few hundred jobs, a
  // fifth of a worker's time; 10,000 pages (about 40 MiB of WAL) copies a
  // page rewritten many times in between once.
  REFINERY_RETURN_IF_ERROR(
      conn->Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=10000;"));
  return conn;
}

void Connection::SetBusyTimeout(int ms) {
  busy_timeout_ms_ = ms;
  sqlite3_busy_handler(db_.get(), ms > 0 ? &Connection::OnBusy : nullptr, this);
}

int Connection::OnBusy(void* self, int count) {
  // Sleep number `count` (from 0) is min(100 us << count, 4 ms); give up once
  // the sleeps so far reach the timeout.
  constexpr int64_t kFirstUs = 100;
  constexpr int64_t kMaxUs = 4000;
  constexpr int kDoublings = 6;  // 100 << 6 > 4000
  const int64_t n = count;
  const int64_t slept_us = n <= kDoublings ? kFirstUs * ((int64_t{1} << n) - 1)
                                           : kFirstUs * ((int64_t{1} << kDoublings) - 1) + kMaxUs * (n - kDoublings);
  if (slept_us >= int64_t{static_cast<Connection*>(self)->busy_timeout_ms_} * 1000) return 0;
  const int64_t next_us = n < kDoublings ? kFirstUs << n : kMaxUs;
  std::this_thread::sleep_for(std::chrono::microseconds(next_us));
  return 1;
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
    last = row.ok() ? Status::Internal("sqlite: journal_mode is " + stmt->Text(0) + ", not wal") : row.status();
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

namespace {

int PoolLimit(size_t value) {
  return value == 0 || value > static_cast<size_t>(std::numeric_limits<int>::max()) ? std::numeric_limits<int>::max()
                                                                                    : static_cast<int>(value);
}

}  // namespace

ConnectionPool::ConnectionPool(std::string path, ConnectionOptions options, size_t max_idle, size_t max_open)
    : path_(std::move(path)),
      options_(options),
      pool_("sqlite " + path_, {.max_size = PoolLimit(max_open), .max_idle = static_cast<int>(max_idle)},
            {.open = [this](auto) { return Connection::Open(path_, options_); },
             .discard = [](Connection& conn) { return conn.InTransaction(); }}) {}

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  return pool_.Checkout(FcfsPool<Connection>::Clock::now() + std::chrono::minutes(1));
}

ConnectionPool::Figures ConnectionPool::Stats() const {
  const auto counts = pool_.counts();
  return {counts.in_use, counts.idle, counts.created};
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
  conn.SetBusyTimeout(200);
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
  conn.SetBusyTimeout(busy_timeout_ms);
  return result;
}

Status RunInTransaction(ConnectionPool& pool, Transaction::Kind kind, const std::function<Status(Connection&)>& body) {
  auto conn = pool.Acquire();
  if (!conn.ok()) return conn.status();
  auto txn = Transaction::Begin(**conn, kind);
  if (!txn.ok()) return txn.status();
  REFINERY_RETURN_IF_ERROR(body(**conn));
  return txn->Commit();
}

}  // namespace refinery::sqlite

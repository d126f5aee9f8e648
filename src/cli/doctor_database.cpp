// The doctor's database section. SQLite: file, size, WAL size and journal
// mode, read over a read-only connection of its own. PostgreSQL: connections
// by state from pg_stat_activity over a libpq connection of its own (the
// Store interface has no such query, and the doctor must not need one).
#include <libpq-fe.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "cli/doctor.h"
#include "core/sqlite.h"

namespace refinery::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string SqlitePathOf(const Config& config) {
  if (config.database_url.starts_with("sqlite:")) return config.database_url.substr(7);
  return config.SqlitePath();
}

int64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(size);
}

// The value of `pragma_sql` ("PRAGMA journal_mode"), read over a read-only
// connection of the doctor's own; "" when unreadable.
std::string SqlitePragma(const std::string& path, const char* pragma_sql) {
  auto conn = sqlite::Connection::Open(path, {.busy_timeout_ms = 1000, .read_only = true});
  if (!conn.ok()) return "";
  auto stmt = (*conn)->Prepare(pragma_sql);
  if (!stmt.ok()) return "";
  auto row = stmt->Step();
  return row.ok() && *row ? stmt->Text(0) : "";
}

void CheckSqlite(DoctorContext& ctx, DoctorSection& section) {
  const std::string path = SqlitePathOf(ctx.config);
  int64_t size = FileSize(path);
  int64_t wal = FileSize(path + "-wal");
  std::string mode = size >= 0 ? SqlitePragma(path, "PRAGMA journal_mode") : "";
  section.details["backend"] = "sqlite";
  section.details["path"] = path;
  section.details["size_bytes"] = size;
  section.details["wal_bytes"] = wal < 0 ? 0 : wal;
  section.details["journal_mode"] = mode;
  if (size < 0) {
    section.Add(Mark::kFail, "SQLite file " + path + " does not exist (run `refinery migrate` or `up`)");
    return;
  }
  section.Add(Mark::kOk, "SQLite " + path + ": " + std::to_string(size) + " bytes, WAL " +
                             std::to_string(wal < 0 ? 0 : wal) + " bytes");
  section.Add(mode == "wal" ? Mark::kOk : Mark::kWarn,
              "journal_mode " + (mode.empty() ? std::string("unreadable") : mode) +
                  (mode == "wal" ? "" : " (expected wal: readers would block writers)"));
}

// postgresql://user:secret@host/db -> postgresql://user:***@host/db
std::string Redact(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// libpq messages span lines and end in a newline; a report line must not.
std::string OneLine(const char* message) {
  std::string out;
  for (const char* c = message; *c != '\0'; ++c) {
    bool space = *c == '\n' || *c == '\t';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : *c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

using PgConn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

PgResult Query(PGconn* conn, const char* sql) { return PgResult(PQexec(conn, sql), PQclear); }

void CheckPostgres(DoctorContext& ctx, DoctorSection& section) {
  section.details["backend"] = "postgresql";
  section.details["url"] = Redact(ctx.config.database_url);
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {ctx.config.database_url.c_str(), "3", nullptr};
  auto start = std::chrono::steady_clock::now();
  PgConn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1), PQfinish);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    section.Add(Mark::kFail,
                "cannot connect to " + Redact(ctx.config.database_url) + ": " + OneLine(PQerrorMessage(conn.get())));
    return;
  }
  section.details["connect_ms"] = ms;
  PgResult states = Query(conn.get(),
                          "SELECT coalesce(state, 'background'), count(*) FROM pg_stat_activity "
                          "WHERE datname = current_database() GROUP BY 1 ORDER BY 1");
  PgResult max = Query(conn.get(), "SHOW max_connections");
  if (PQresultStatus(states.get()) != PGRES_TUPLES_OK || PQresultStatus(max.get()) != PGRES_TUPLES_OK) {
    section.Add(Mark::kFail, "pg_stat_activity: " + OneLine(PQerrorMessage(conn.get())));
    return;
  }
  json by_state = json::object();
  int64_t total = 0;
  std::string summary;
  for (int row = 0; row < PQntuples(states.get()); ++row) {
    int64_t count = std::stoll(PQgetvalue(states.get(), row, 1));
    by_state[PQgetvalue(states.get(), row, 0)] = count;
    total += count;
    summary +=
        (summary.empty() ? "" : ", ") + std::string(PQgetvalue(states.get(), row, 0)) + " " + std::to_string(count);
  }
  int64_t limit = std::stoll(PQgetvalue(max.get(), 0, 0));
  section.details["connections"] = total;
  section.details["connections_by_state"] = by_state;
  section.details["max_connections"] = limit;
  section.Add(Mark::kOk, "PostgreSQL " + Redact(ctx.config.database_url) + " answered in " +
                             std::to_string(static_cast<int>(ms)) + " ms");
  section.Add(total * 10 > limit * 8 ? Mark::kWarn : Mark::kOk,
              std::to_string(total) + " connections of max " + std::to_string(limit) + " (" + summary + ")");
}

}  // namespace

void CheckDatabase(DoctorContext& ctx, DoctorSection& section) {
  const std::string& url = ctx.config.database_url;
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    CheckPostgres(ctx, section);
  } else {
    CheckSqlite(ctx, section);
  }
  if (!ctx.services) return;
  auto start = std::chrono::steady_clock::now();
  Status ping = ctx.services->store->Ping();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  section.details["store_ping_ms"] = ms;
  section.Add(
      ping.ok() ? Mark::kOk : Mark::kFail,
      ping.ok() ? "store answers (" + std::to_string(static_cast<int>(ms)) + " ms)" : "store ping: " + ping.ToString());
  if (!ping.ok()) return;
  // Reads working proves little on a full disk: try a write.
  Status writable = ctx.services->store->CheckWritable();
  section.Add(writable.ok() ? Mark::kOk : Mark::kFail,
              writable.ok() ? "store takes writes" : "store cannot write: " + writable.ToString());
}

}  // namespace refinery::cli

// Test helpers for the PostgreSQL store, against the real server that
// scripts/test-services.sh starts (REFINERY_TEST_DATABASE_URL). Each test
// gets a database of its own, so tests may run in parallel (ctest -j) and
// may terminate every backend of "their" database without disturbing
// others; the databases are dropped when the test process exits.
#pragma once

#include <libpq-fe.h>

#include <unistd.h>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace refinery::pgtest {

// The server's URL, or "" when the test services are not running.
inline std::string BaseUrl() {
  const char* url = std::getenv("REFINERY_TEST_DATABASE_URL");
  return url != nullptr ? url : "";
}

// `url` with its database name replaced by `dbname`.
inline std::string WithDatabase(const std::string& url, const std::string& dbname) {
  const size_t authority = url.find("://");
  const size_t slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  const size_t query = url.find('?');
  std::string head = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + dbname + tail;
}

// Runs `sql` on a fresh connection to `url`; returns the first column of
// the first row ("" if none), or a failure with the server's message.
inline Result<std::string> RawQuery(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Unavailable(why);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  const ExecStatusType st = PQresultStatus(res);
  Result<std::string> out = Status::Internal(PQresultErrorMessage(res));
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    out = (st == PGRES_TUPLES_OK && PQntuples(res) > 0) ? std::string(PQgetvalue(res, 0, 0)) : std::string();
  }
  PQclear(res);
  PQfinish(conn);
  return out;
}

// Drops every database this process created, at exit.
class DatabaseRegistry {
 public:
  static DatabaseRegistry& Get() {
    static DatabaseRegistry registry;
    return registry;
  }
  void Add(const std::string& name) {
    std::lock_guard lock(mu_);
    names_.push_back(name);
  }
  // Fire and forget: DROP DATABASE waits for a checkpoint, which can take
  // seconds on a busy disk. The server finishes the statement after we hang
  // up (it reads our goodbye only afterwards); the test services' directory
  // is removed at the end anyway.
  ~DatabaseRegistry() {
    for (const std::string& name : names_) {
      PGconn* conn = PQconnectdb(BaseUrl().c_str());
      if (PQstatus(conn) == CONNECTION_OK) {
        (void)PQsendQuery(conn, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str());
        (void)PQflush(conn);
      }
      PQfinish(conn);
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::string> names_;
};

// A URL to a new, empty database; "" when the test services are not running.
inline Result<std::string> FreshDatabaseUrl() {
  const std::string base = BaseUrl();
  if (base.empty()) return std::string();
  static std::mutex mu;
  static int counter = 0;
  std::lock_guard lock(mu);
  const std::string name = "refinery_t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  auto created = RawQuery(base, "CREATE DATABASE " + name);
  if (!created.ok()) return created.status();
  DatabaseRegistry::Get().Add(name);
  return WithDatabase(base, name);
}

// Pool settings for tests: small pool, short backoff so retries are quick.
inline Config ConfigFor(const std::string& url) {
  Config config;
  config.database_url = url;
  config.db_pool_min = 2;
  config.db_pool_max = 4;
  config.db_checkout_timeout_s = 0.5;
  config.db_retry_base_delay_s = 0.05;
  return config;
}

// Terminates every other session on `url`'s database; the number terminated.
inline Result<std::string> TerminateAllBackends(const std::string& url) {
  return RawQuery(url,
                  "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                  " WHERE datname = current_database() AND pid <> pg_backend_pid()");
}

}  // namespace refinery::pgtest

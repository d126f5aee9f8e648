#include "support/production_env.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace refinery::testing {
namespace {

struct PgFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};

std::string Exec(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, PgFinish> conn(PQconnectdb(url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("connect " + url + ": " + PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, PgClear> result(PQexec(conn.get(), sql.c_str()));
  auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQerrorMessage(conn.get()));
  }
  return PQntuples(result.get()) > 0 ? PQgetvalue(result.get(), 0, 0) : "";
}

// Replaces the path (database) of a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& name) {
  auto slash = url.find('/', url.find("://") + 3);
  return url.substr(0, slash) + "/" + name;
}

const char* NonEmptyEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

std::unique_ptr<ProductionBackends> ProductionBackends::Create() {
  const char* pg = NonEmptyEnv("REFINERY_TEST_DATABASE_URL");
  const char* redis = NonEmptyEnv("REFINERY_TEST_REDIS_URL");
  const char* s3 = NonEmptyEnv("REFINERY_TEST_S3_URL");
  if (pg == nullptr || redis == nullptr || s3 == nullptr) return nullptr;
  static std::atomic<int> counter{0};
  auto b = std::make_unique<ProductionBackends>();
  std::string suffix = std::to_string(getpid()) + "_" + std::to_string(counter++);
  b->admin_url_ = pg;
  b->database_name_ = "refinery_e2e_" + suffix;
  Exec(b->admin_url_, "CREATE DATABASE " + b->database_name_);
  b->database_url_ = WithDatabase(pg, b->database_name_);
  b->redis_url_ = std::string(redis) + "/9";  // e2e tests run one at a time on db 9
  std::system(("redis-cli -u " + b->redis_url_ + " FLUSHDB >/dev/null 2>&1").c_str());
  b->s3_url_ = s3;
  b->bucket_ = "refinery-e2e-" + suffix;
  for (char& c : b->bucket_)
    if (c == '_') c = '-';
  return b;
}

ProductionBackends::~ProductionBackends() {
  try {
    Exec(admin_url_, "DROP DATABASE IF EXISTS " + database_name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // Best effort: a leftover database in the throwaway test cluster is harmless.
  }
}

std::map<std::string, std::string> ProductionBackends::Env() const {
  return {{"DATABASE_URL", database_url_},      {"REDIS_URL", redis_url_},
          {"REFINERY_BLOB_URL", s3_url_},       {"REFINERY_S3_BUCKET", bucket_},
          {"REFINERY_S3_ACCESS_KEY", "S3RVER"}, {"REFINERY_S3_SECRET_KEY", "S3RVER"}};
}

int64_t ProductionBackends::QueryInt(const std::string& sql) const {
  try {
    return std::stoll(Exec(database_url_, sql));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace refinery::testing

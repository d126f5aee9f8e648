// PostgresStore: opening, the schema, health and the roles' composition.
#include "store/postgres_store.h"

#include "core/clock.h"
#include "store/pg_schema.h"
#include "store/postgres_store_internal.h"

namespace refinery {

using pg::Conn;
using pg::Params;
using pg::TxMode;
using namespace postgres_store_internal;

namespace {

constexpr const char* kProbe =
    "INSERT INTO refinery.health_probe (id, checked_at) VALUES (1, $1)"
    " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";

}  // namespace

pg::PoolOptions PoolOptionsFrom(const Config& config) {
  pg::PoolOptions o;
  o.min_size = config.db_pool_min;
  o.max_size = config.db_pool_max;
  o.checkout_timeout_s = config.db_checkout_timeout_s;
  o.max_lifetime_s = config.db_max_lifetime_s;
  o.retries = config.db_retries;
  o.retry_base_delay_s = config.db_retry_base_delay_s;
  return o;
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const Config& config) {
  auto settings = pg::BuildConnectSettings(config.database_url, config.db_statement_timeout_s);
  if (!settings.ok()) return settings.status();
  auto pool = std::make_unique<pg::Pool>(std::move(*settings), PoolOptionsFrom(config));
  pool->Warm();
  return std::make_unique<PostgresStore>(std::move(pool));
}

PostgresStore::PostgresStore(std::unique_ptr<pg::Pool> pool)
    : pool_(std::move(pool)),
      documents_(NewDocuments(*pool_)),
      chunks_(NewChunks(*pool_)),
      search_index_(NewSearchIndex(*pool_)),
      telemetry_(NewTelemetry(*pool_)),
      knowledge_(NewKnowledge(*pool_)),
      embedding_cache_(NewEmbeddingCache(*pool_)),
      reasoning_cache_(NewReasoningCache(*pool_)),
      crawls_(NewCrawls(*pool_)) {}

PostgresStore::~PostgresStore() = default;

Status PostgresStore::Migrate() { return pool_->Run("migrate", TxMode::kWrite, pg::MigrateSchema); }

Result<int> PostgresStore::SchemaVersion() {
  int version = 0;
  Status s = pool_->Run("schema version", TxMode::kSnapshot, [&](Conn& c) -> Status {
    auto v = pg::AppliedSchemaVersion(c);
    if (!v.ok()) return v.status();
    version = *v;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return version;
}

Status PostgresStore::Ping() {
  return pool_->Run("ping", TxMode::kNone, [](Conn& c) { return c.Run("SELECT 1"); });
}

Status PostgresStore::CheckWritable() {
  return pool_->Run("check writable", TxMode::kNone, [](Conn& c) { return c.Run(kProbe, Params(NowSeconds())); });
}

}  // namespace refinery

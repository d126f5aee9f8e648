// SqliteStore: opening, the schema, health and the roles' composition.
#include "store/sqlite_store.h"

#include "core/clock.h"
#include "core/disk_space.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_store_internal.h"

namespace refinery {

using namespace sqlite_store_internal;

namespace {

constexpr const char* kProbe =
    "INSERT INTO health_probe (id, checked_at) VALUES (1, ?1)"
    " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, const SqliteStoreOptions& options) {
  auto store = std::make_unique<SqliteStore>(path, options);
  REFINERY_RETURN_IF_ERROR(store->Ping());  // surface a bad path now, not at first use
  return store;
}

SqliteStore::SqliteStore(const std::string& path, const SqliteStoreOptions& options)
    : db_(std::make_unique<SqliteDb>(path, options.busy_timeout_ms, options.max_idle_connections)),
      documents_(NewDocuments(*db_)),
      chunks_(NewChunks(*db_)),
      search_index_(NewSearchIndex(*db_)),
      telemetry_(NewTelemetry(*db_)),
      knowledge_(NewKnowledge(*db_)),
      embedding_cache_(NewEmbeddingCache(*db_)),
      reasoning_cache_(NewReasoningCache(*db_)),
      crawls_(NewCrawls(*db_)) {}

SqliteStore::~SqliteStore() = default;

const std::string& SqliteStore::path() const { return db_->pool.path(); }

Status SqliteStore::Migrate() {
  auto conn = db_->pool.Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::MigrateSchema(**conn);
}

Result<int> SqliteStore::SchemaVersion() {
  auto conn = db_->pool.Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::AppliedSchemaVersion(**conn);
}

Status SqliteStore::Ping() {
  auto conn = db_->pool.Acquire();
  if (!conn.ok()) return conn.status();
  auto stmt = (*conn)->Prepare("SELECT 1");
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

Status SqliteStore::CheckWritable() {
  REFINERY_RETURN_IF_ERROR(CheckFreeSpace(path(), "store"));
  auto conn = db_->pool.Acquire();
  if (!conn.ok()) return conn.status();
  return sqlite::ProbeWrite(**conn, kProbe, db_->busy_timeout_ms);
}

PoolStats SqliteStore::GetPoolStats() {
  const auto figures = db_->pool.Stats();
  PoolStats stats;
  stats.in_use = figures.in_use;
  stats.idle = figures.idle;
  stats.size = figures.in_use + figures.idle;
  stats.created = figures.created;
  return stats;
}

}  // namespace refinery

// Store on a SQLite file in WAL mode: the embedded default, safe for many
// threads and several processes sharing one file. Each role lives in its own
// file (sqlite_documents.cpp, sqlite_chunks.cpp, sqlite_search.cpp,
// sqlite_telemetry.cpp) over one connection pool.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "store/store.h"

namespace refinery {

namespace sqlite_store_internal {
class SqliteDb;
}  // namespace sqlite_store_internal

struct SqliteStoreOptions {
  // How long a write waits for another writer's lock before the call fails
  // with Unavailable (and the caller retries later).
  int busy_timeout_ms = 10000;
  // Connections kept open between calls; more are opened on demand under load.
  size_t max_idle_connections = 8;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the file at `path` and checks that a
  // connection works. Does not migrate.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, const SqliteStoreOptions& options = {});
  // Prefer Open, which also reports a file that cannot be opened.
  SqliteStore(const std::string& path, const SqliteStoreOptions& options);
  ~SqliteStore() override;

  DocumentStore& documents() override { return *documents_; }
  ChunkStore& chunks() override { return *chunks_; }
  SearchIndex& search_index() override { return *search_index_; }
  TelemetryStore& telemetry() override { return *telemetry_; }
  KnowledgeStore& knowledge() override { return *knowledge_; }
  EmbeddingCache& embedding_cache() override { return *embedding_cache_; }
  ReasoningCache& reasoning_cache() override { return *reasoning_cache_; }
  CrawlStore& crawls() override { return *crawls_; }

  Status Migrate() override;
  Result<int> SchemaVersion() override;
  Status Ping() override;
  // Free space of the file's filesystem, then a probe write.
  Status CheckWritable() override;
  // size/in_use/idle/created of the connection pool; the rest are 0.
  PoolStats GetPoolStats() override;

  const std::string& path() const;

 private:
  std::unique_ptr<sqlite_store_internal::SqliteDb> db_;  // first: the roles use it
  std::unique_ptr<DocumentStore> documents_;
  std::unique_ptr<ChunkStore> chunks_;
  std::unique_ptr<SearchIndex> search_index_;
  std::unique_ptr<TelemetryStore> telemetry_;
  std::unique_ptr<KnowledgeStore> knowledge_;
  std::unique_ptr<EmbeddingCache> embedding_cache_;
  std::unique_ptr<ReasoningCache> reasoning_cache_;
  std::unique_ptr<CrawlStore> crawls_;
};

}  // namespace refinery

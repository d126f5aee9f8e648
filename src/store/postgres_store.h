// Store on PostgreSQL (the production store), through a self-healing pool:
// every call is one unit of work that survives stale connections,
// terminated backends and a restarted server (see pg_pool.h), and answers
// Unavailable within about 1.8 s while the database stays down. Tables
// live in schema `refinery` (pg_schema.cpp). Same contract as SqliteStore;
// the shared conformance suites prove it. Each role lives in its own file
// (pg_documents.cpp, pg_chunks.cpp, pg_search.cpp, pg_telemetry.cpp).
#pragma once

#include <memory>

#include "core/config.h"
#include "store/pg_pool.h"
#include "store/store.h"

namespace refinery {

class PostgresStore final : public Store {
 public:
  // Parses config.database_url (InvalidArgument naming DATABASE_URL when it
  // cannot) and warms the pool with db_pool_min connections, best effort: a
  // database that is down now does not fail Open; calls fail Unavailable
  // until it is back. Does not migrate.
  static Result<std::unique_ptr<PostgresStore>> Open(const Config& config);
  explicit PostgresStore(std::unique_ptr<pg::Pool> pool);
  ~PostgresStore() override;

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
  // A probe write (a read-only replica or a database out of disk fails it).
  Status CheckWritable() override;
  PoolStats GetPoolStats() override { return pool_->Stats(); }
  // For tests and diagnostics: the pool every call goes through.
  pg::Pool& pool() { return *pool_; }

 private:
  std::unique_ptr<pg::Pool> pool_;  // first: the roles use it
  std::unique_ptr<DocumentStore> documents_;
  std::unique_ptr<ChunkStore> chunks_;
  std::unique_ptr<SearchIndex> search_index_;
  std::unique_ptr<TelemetryStore> telemetry_;
  std::unique_ptr<KnowledgeStore> knowledge_;
  std::unique_ptr<EmbeddingCache> embedding_cache_;
  std::unique_ptr<ReasoningCache> reasoning_cache_;
  std::unique_ptr<CrawlStore> crawls_;
};

// The pool settings a Config asks for (exposed for tests).
pg::PoolOptions PoolOptionsFrom(const Config& config);

}  // namespace refinery

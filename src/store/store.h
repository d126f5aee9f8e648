// Store: the source of truth -- documents and their states, chunks, the
// full-text index and the figures the pipeline counts -- split by role, each
// role a small interface with its contract in its header:
//   documents()     DocumentStore  (store/documents.h): states and attempts
//   chunks()        ChunkStore     (store/chunks.h): chunks and embeddings
//   search_index()  SearchIndex    (store/search_index.h): full-text search
//   telemetry()     TelemetryStore (store/telemetry.h): log, counters, totals
//   knowledge()     KnowledgeStore (store/knowledge.h): mentions, entities, conflicts
//   embedding_cache() EmbeddingCache (store/embedding_cache.h): vectors by (model, text)
//   reasoning_cache() ReasoningCache (store/reasoning_cache.h): answers by request
//   crawls()        CrawlStore     (store/crawls.h): crawls, pages, host slots, robots.txt
//
// One implementation per backend (SQLite, PostgreSQL), chosen by OpenStore;
// every role validates its arguments once in its shared front, so backends
// hold no copied checks; the conformance suites in tests/store/ hold both to
// the same contract. A store and its roles live as long as the Store object.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/status.h"
#include "store/chunks.h"
#include "store/crawls.h"
#include "store/documents.h"
#include "store/embedding_cache.h"
#include "store/reasoning_cache.h"
#include "store/records.h"
#include "store/search_index.h"
#include "store/knowledge.h"
#include "store/telemetry.h"

namespace refinery {

// The schema version Migrate() brings every backend to (their migrations
// are numbered in step).
inline constexpr int kSchemaVersion = 14;

class Store {
 public:
  virtual ~Store() = default;

  virtual DocumentStore& documents() = 0;
  virtual ChunkStore& chunks() = 0;
  virtual SearchIndex& search_index() = 0;
  virtual TelemetryStore& telemetry() = 0;
  virtual KnowledgeStore& knowledge() = 0;
  virtual EmbeddingCache& embedding_cache() = 0;
  virtual ReasoningCache& reasoning_cache() = 0;
  virtual CrawlStore& crawls() = 0;

  // Creates or upgrades the schema to kSchemaVersion. Idempotent, safe to
  // run from several processes at once. InvalidArgument for a PostgreSQL
  // schema `refinery` that holds tables Refinery does not own.
  virtual Status Migrate() = 0;
  // The version the schema is at, 0 before the first migration; never
  // changes anything (read-only commands call this, never Migrate).
  virtual Result<int> SchemaVersion() = 0;
  // A cheap round trip proving the store answers.
  virtual Status Ping() = 0;
  // Proves the store can still write (a full disk or a read-only database
  // fail it), for health checks; writes nothing a reader of documents sees.
  virtual Status CheckWritable() = 0;
  // A snapshot of the connection pool's figures; never blocks on the database.
  virtual PoolStats GetPoolStats() = 0;
};

// Chooses the implementation from config: SQLite in data_dir unless
// database_url is set; postgresql:// or postgres:// means PostgreSQL,
// sqlite:PATH a SQLite file. Does not migrate. Without `create`, a SQLite
// file that does not exist yet is an InvalidArgument (read-only commands
// must not leave an empty database behind).
Result<std::unique_ptr<Store>> OpenStore(const Config& config, bool create = true);

}  // namespace refinery

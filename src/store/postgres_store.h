// Store on PostgreSQL (the production store), through a self-healing pool:
// every method is one unit of work that survives stale connections,
// terminated backends and a restarted server (see pg_pool.h), and answers
// Unavailable within about 1.8 s while the database stays down.
// Tables live in schema `refinery` (pg_schema.cpp). Same semantics as
// SqliteStore; the shared conformance suite proves it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
  explicit PostgresStore(std::unique_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  Status Migrate() override;
  Result<int> SchemaVersion() override;
  Status Ping() override;
  // A probe write (a read-only replica or a database out of disk fails it).
  Status CheckWritable() override;

  Result<InsertOutcome> InsertDocument(const NewDocument& doc) override;
  Result<Document> GetDocument(int64_t id) override;
  Result<DocumentPage> ListDocuments(const std::string& stage, int64_t limit,
                                     int64_t offset) override;
  Status DeleteDocument(int64_t id) override;
  Status SetStage(int64_t id, const StageTransition& t) override;

  Status ReplaceChunks(int64_t document_id, const std::vector<Chunk>& chunks,
                       const StageTransition& t) override;
  Result<std::vector<Chunk>> GetChunks(int64_t document_id) override;
  Status SetEmbeddings(int64_t document_id,
                       const std::vector<std::pair<int64_t, std::vector<float>>>& vectors,
                       const StageTransition& t) override;
  Result<AttemptStart> StartAttempt(int64_t id, const std::string& stage, const std::string& state,
                                    int max_attempts) override;
  Status ReleaseAttempt(int64_t id, const std::string& state) override;
  Status RecordFailure(int64_t id, const FailedAttempt& failure) override;

  Status AppendLog(const LogEntry& entry) override;
  Result<std::vector<LogEntry>> GetLog(int64_t document_id) override;
  Result<std::vector<int64_t>> StaleDocuments(const std::string& state, double older_than,
                                              int64_t limit) override;
  Result<StoreStats> Stats() override;
  Result<std::vector<StageCounter>> StageCounters() override;
  Result<std::vector<ChunkVector>> ScanEmbeddings(int64_t after_chunk_id, int64_t limit) override;
  Result<std::vector<ChunkHit>> GetChunkHits(const std::vector<int64_t>& chunk_ids) override;
  Result<std::vector<LexicalHit>> LexicalSearch(const std::string& query, int64_t limit) override;

  PoolStats GetPoolStats() override { return pool_->Stats(); }
  // For tests and diagnostics: the pool every call goes through.
  pg::Pool& pool() { return *pool_; }

 private:
  std::unique_ptr<pg::Pool> pool_;
};

// The pool settings a Config asks for (exposed for tests).
pg::PoolOptions PoolOptionsFrom(const Config& config);

}  // namespace refinery

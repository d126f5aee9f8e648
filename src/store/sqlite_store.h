// Store on a SQLite file in WAL mode: the embedded default, safe for many
// threads and several processes sharing one file.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite_db.h"
#include "store/store.h"

namespace refinery {

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
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const SqliteStoreOptions& options = {});
  // Prefer Open, which also reports a file that cannot be opened.
  SqliteStore(const std::string& path, const SqliteStoreOptions& options);

  Status Migrate() override;
  Result<int> SchemaVersion() override;
  Status Ping() override;
  // Free space of the file's filesystem, then a probe write.
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
  // size/in_use/idle/created of the connection pool; the rest are 0.
  PoolStats GetPoolStats() override;

  const std::string& path() const { return pool_.path(); }

 private:
  // Runs `body` in a BEGIN IMMEDIATE transaction on a pooled connection.
  Status Write(const std::function<Status(sqlite::Connection&)>& body);
  // Runs `body` in a read transaction: one consistent snapshot, never blocked.
  Status Read(const std::function<Status(sqlite::Connection&)>& body);
  // RecordFailure inside the caller's write transaction.
  static Status RecordFailureIn(sqlite::Connection& c, int64_t id, const FailedAttempt& failure);

  sqlite::ConnectionPool pool_;
  const int busy_timeout_ms_;
};

}  // namespace refinery

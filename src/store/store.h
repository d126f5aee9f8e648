// Store: the source of truth for documents, chunks, the processing log and
// crawl jobs. A document's `stage` says what must happen next; queue
// messages are only wake-up calls.
//
// Thread-safety: every method may be called from many threads at once and
// from several processes sharing the same database.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace refinery {

struct Document {
  int64_t id = 0;
  std::string title;
  std::string source_url;
  std::string content_hash;  // hex SHA-256 of the content; unique
  std::string mime_type = "text/plain";
  std::string blob_key;
  std::string stage;          // a document state: pending chunking embedding ... complete error
  std::string error_message;  // the last failure: why it is in "error", or why the last attempt failed
  std::string error_stage;    // the stage that gave up, so a retry resumes there
  int attempts = 0;           // attempts started at the current state (StartAttempt); 0 after a move
  int chunk_count = 0;
  std::string metadata_json = "{}";  // a JSON object, stored verbatim
  double created_at = 0;   // seconds since the Unix epoch
  double updated_at = 0;
  double stage_changed_at = 0;  // the reconciler's clock: when `stage` last changed
};

struct NewDocument {
  std::string title;
  std::string source_url;
  std::string content_hash;
  std::string mime_type = "text/plain";
  std::string blob_key;
  std::string stage;  // initial state, e.g. "chunking"
  std::string metadata_json = "{}";
};

struct InsertOutcome {
  int64_t id = 0;
  bool created = false;  // false: a document with the same content_hash existed
};

struct Chunk {
  int64_t id = 0;  // assigned by the store
  int64_t document_id = 0;
  int chunk_index = 0;
  std::string content;
  int64_t char_start = 0;  // byte offsets into the document's UTF-8 text: [start, end)
  int64_t char_end = 0;
  int token_count = 0;
  std::vector<float> embedding;  // empty until the embed stage ran
};

// Processing-log statuses the worker and the reconciler write.
constexpr const char* kLogCompleted = "completed";  // the stage's writes committed
constexpr const char* kLogRetried = "retried";      // the attempt failed; a retry is scheduled
constexpr const char* kLogFailed = "failed";        // given up on (a dead letter): the document went to "error"
constexpr const char* kLogRequeued = "requeued";    // the reconciler re-enqueued a stalled document

struct LogEntry {
  int64_t id = 0;
  int64_t document_id = 0;
  std::string stage;
  std::string status;  // one of the kLog* statuses above
  std::string message;
  double duration_ms = 0;
  double created_at = 0;  // 0 when writing: the store stamps the time of the write
};

// A log entry a write appends in its own transaction. The store stamps the
// time and measures the duration from `started_at` to its commit, so a
// stage's duration covers its writes.
struct LogNote {
  std::string stage;
  std::string status;  // one of the kLog* statuses
  std::string message;
  double started_at = 0;  // epoch seconds; 0: no duration
};

// A compare-and-set on a document's state: apply writes only while the
// document is still in `from`, then move it to `to`. With `log`, the entry
// is appended (and counted, see AppendLog) in the same transaction: nobody
// sees the state change without its log entry.
struct StageTransition {
  StageTransition(std::string from_state, std::string to_state, std::optional<LogNote> note = std::nullopt)
      : from(std::move(from_state)), to(std::move(to_state)), log(std::move(note)) {}
  std::string from;
  std::string to;
  std::optional<LogNote> log;
};

// What StartAttempt found.
struct AttemptStart {
  Document document;     // as it is now: attempts includes this one, or in "error"
  bool gave_up = false;  // the attempts had run out: moved to "error", nothing to run
};

// A failed attempt, as RecordFailure writes it.
struct FailedAttempt {
  std::string stage;    // the stage that ran
  std::string state;    // the state the document must still be in
  std::string message;  // why it failed
  bool terminal = false;  // the last allowed attempt: move to "error"
  double started_at = 0;  // when the attempt began, for the log entry's duration
};

// The error message of a document given up on after `attempts` attempts;
// `last_error` is the last recorded failure, empty when every attempt ended
// without one (the worker died or timed out).
std::string GaveUpMessage(int attempts, const std::string& last_error);

struct DocumentPage {
  std::vector<Document> documents;
  int64_t total = 0;  // matching documents, ignoring limit/offset
};

struct StoreStats {
  int64_t total_documents = 0;
  std::map<std::string, int64_t> documents_by_stage;  // by state
  // Documents in "error" by the stage that gave up on them (error_stage):
  // the dead letters of each stage.
  std::map<std::string, int64_t> errors_by_stage;
  int64_t total_chunks = 0;
  int64_t chunks_with_embeddings = 0;
};

// Connection pool figures for /stats. Counters (created onwards) only grow.
// A store without a given notion (SQLite has no validation) reports 0.
struct PoolStats {
  int64_t size = 0;     // open connections (including ones being opened)
  int64_t in_use = 0;   // checked out right now
  int64_t idle = 0;     // open and waiting in the pool
  int64_t waiting = 0;  // callers queued for a connection right now (served first come, first served)
  int64_t created = 0;  // connections ever opened
  int64_t closed_dead = 0;          // closed because they were found dead
  int64_t validation_failures = 0;  // checkouts whose liveness check failed
  int64_t retries = 0;              // units of work re-run after a connection error
  int64_t rebuilds = 0;             // times every connection had failed and the pool started afresh
};

// Upper bounds (seconds) of the duration buckets StageCounters() reports:
// 5 ms .. 5 min spans an embed of one short text to a slow LLM stage.
const std::vector<double>& StageDurationBuckets();

// Every processing-log entry ever appended for one (stage, status), kept as
// counters beside the log, so reading them costs O(stages), not O(log).
struct StageCounter {
  std::string stage;
  std::string status;
  int64_t count = 0;
  double duration_sum_s = 0;  // sum of the entries' duration_ms, in seconds
  // Entries per StageDurationBuckets() bound (duration <= bound and above
  // the previous one), not cumulative; the last element counts the rest.
  std::vector<int64_t> buckets;
};

// One chunk's vector, for scoring without loading chunk text.
struct ChunkVector {
  int64_t chunk_id = 0;
  int64_t document_id = 0;
  std::vector<float> embedding;
};

// Chunk text and its document's title, for search results.
struct ChunkHit {
  Chunk chunk;
  std::string title;
};

// A chunk found by LexicalSearch with its relevance to the query.
struct LexicalHit {
  ChunkHit hit;  // the embedding is left empty
  // Higher is more relevant. Engine-specific (SQLite: -BM25, PostgreSQL:
  // idf-weighted ts_rank): compare scores only within one result list.
  double score = 0;
};

// The schema version Migrate() brings every backend to (their migrations
// are numbered in step).
inline constexpr int kSchemaVersion = 6;

class Store {
 public:
  virtual ~Store() = default;

  // Creates or upgrades the schema to the newest version. Idempotent.
  virtual Status Migrate() = 0;
  virtual Result<int> SchemaVersion() = 0;
  // A cheap round trip proving the store answers.
  virtual Status Ping() = 0;
  // Proves the store can still write (a full disk or a read-only database
  // fail it), for health checks; writes nothing a reader of documents sees.
  virtual Status CheckWritable() = 0;

  // Inserts a document unless one with the same content_hash exists, in which
  // case that one's id is returned with created=false. Atomic under races.
  virtual Result<InsertOutcome> InsertDocument(const NewDocument& doc) = 0;
  virtual Result<Document> GetDocument(int64_t id) = 0;  // NotFound if absent
  // Newest first. Empty `stage` means every stage.
  virtual Result<DocumentPage> ListDocuments(const std::string& stage, int64_t limit,
                                             int64_t offset) = 0;
  // Removes the document, its chunks and its log. NotFound if absent.
  virtual Status DeleteDocument(int64_t id) = 0;

  // Moves the document from t.from to t.to; Conflict if it is not in t.from.
  // Resets attempts and error when the stage changes.
  virtual Status SetStage(int64_t id, const StageTransition& t) = 0;

  // Replaces every chunk of the document with `chunks` (ids ignored), sets
  // chunk_count, and applies `t`, all in one transaction. Conflict (and no
  // write) if the document is not in t.from.
  virtual Status ReplaceChunks(int64_t document_id, const std::vector<Chunk>& chunks,
                               const StageTransition& t) = 0;
  // Ordered by chunk_index; embeddings included.
  virtual Result<std::vector<Chunk>> GetChunks(int64_t document_id) = 0;
  // Sets the embedding of each listed chunk (by chunk id) and applies `t`,
  // in one transaction. Conflict if the document is not in t.from.
  virtual Status SetEmbeddings(int64_t document_id,
                               const std::vector<std::pair<int64_t, std::vector<float>>>& vectors,
                               const StageTransition& t) = 0;

  // Starts one attempt at `stage` of a document waiting in `state`: counts
  // it (attempts + 1) and returns the document, in one transaction. The
  // store is the one owner of attempts, so a worker that dies mid-attempt
  // still used one up. A document already at `max_attempts` (every earlier
  // attempt crashed, timed out or failed) is instead moved to "error" with
  // error_stage = stage, error_message = GaveUpMessage(...) and a kLogFailed
  // log entry, and returned with gave_up. NotFound if absent; Conflict if
  // not in `state` (a duplicate wake-up: the document moved on).
  virtual Result<AttemptStart> StartAttempt(int64_t id, const std::string& stage,
                                            const std::string& state, int max_attempts) = 0;
  // Takes back the attempt StartAttempt counted, when it ended through no
  // fault of the document (a dependency outage): outages never use up
  // attempts. NotFound if absent; Conflict if not in `state`.
  virtual Status ReleaseAttempt(int64_t id, const std::string& state) = 0;
  // Records a failed attempt: stores failure.message and, when terminal,
  // moves the document to "error" with error_stage = failure.stage; appends
  // the log entry (kLogFailed when terminal, else kLogRetried) in the same
  // transaction. NotFound if absent; Conflict (and no write) if the document
  // is not in failure.state.
  virtual Status RecordFailure(int64_t id, const FailedAttempt& failure) = 0;

  // Appends `entry` and, in the same transaction, counts it in the stage
  // counters (StageCounters). The counting happens even when the document
  // no longer exists (its job still ran); only the log row is then skipped
  // and NotFound returned. Concurrent appends from any number of processes
  // are each counted exactly once.
  virtual Status AppendLog(const LogEntry& entry) = 0;
  // Oldest first.
  virtual Result<std::vector<LogEntry>> GetLog(int64_t document_id) = 0;

  // Ids of documents in `state` whose stage_changed_at is older than
  // `older_than` (epoch seconds), oldest first, at most `limit`.
  virtual Result<std::vector<int64_t>> StaleDocuments(const std::string& state, double older_than,
                                                      int64_t limit) = 0;

  virtual Result<StoreStats> Stats() = 0;

  // The counters of every (stage, status) ever appended to the log, ordered
  // by stage then status; unaffected by deleting documents. Cost does not
  // grow with the log.
  virtual Result<std::vector<StageCounter>> StageCounters() = 0;

  // Every stored embedding whose chunk id is greater than `after_chunk_id`,
  // in chunk id order, at most `limit` (lets callers page and cache).
  virtual Result<std::vector<ChunkVector>> ScanEmbeddings(int64_t after_chunk_id,
                                                          int64_t limit) = 0;
  // The listed chunks with their document titles, in no particular order.
  virtual Result<std::vector<ChunkHit>> GetChunkHits(const std::vector<int64_t>& chunk_ids) = 0;

  // Full-text search over chunk content (not titles), best first, at most
  // `limit` (InvalidArgument if negative). The query is reduced to its
  // words (lexical::Terms: case-folded, English stop words dropped); a
  // chunk matches if it contains ANY of them after English stemming
  // ("running" finds "runs"). Ranking: SQLite BM25, PostgreSQL a BM25-like
  // sum of idf x ts_rank per word; equal scores by chunk id. User text is never query syntax: quotes,
  // operators (AND, OR, NOT, -, *, :) and punctuation are plain
  // separators, so no query is a syntax error; one with no word left
  // (only punctuation or stop words) matches nothing. Deleted or replaced
  // chunks are never returned.
  virtual Result<std::vector<LexicalHit>> LexicalSearch(const std::string& query,
                                                        int64_t limit) = 0;

  // A snapshot of the connection pool's figures; never blocks on the database.
  virtual PoolStats GetPoolStats() = 0;
};

// Chooses the implementation from config: SQLite in data_dir unless
// database_url is set; postgresql:// or postgres:// means PostgreSQL,
// sqlite:PATH a SQLite file. Does not migrate.
Result<std::unique_ptr<Store>> OpenStore(const Config& config);

}  // namespace refinery

// The records the store keeps and the small value types its roles take and
// return. A document has a *state* (chunking ... complete, error); a *stage*
// is a step of the pipeline (chunk, embed) that moves it from one state to
// the next. The store knows states only as strings: the pipeline's stage
// chain gives them their order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace refinery {

// The state a document is given up in (error_message says why).
inline constexpr const char* kStateError = "error";

struct Document {
  int64_t id = 0;
  std::string title;
  std::string source_url;
  std::string content_hash;  // hex SHA-256 of the content; unique
  std::string mime_type = "text/plain";
  std::string blob_key;
  std::string state;          // chunking, embedding, ..., complete, error
  std::string error_message;  // the last failure: why it is in "error", or why the last attempt failed
  std::string error_stage;    // the stage that gave up, so a retry resumes there
  int attempts = 0;           // attempts started in the current state (StartAttempt); 0 after a move
  int chunk_count = 0;
  std::string metadata_json = "{}";  // a JSON object, stored verbatim
  double created_at = 0;             // seconds since the Unix epoch
  double updated_at = 0;
  double state_changed_at = 0;  // the reconciler's clock: when `state` last changed
};

struct NewDocument {
  std::string title;
  std::string source_url;
  std::string content_hash;
  std::string mime_type = "text/plain";
  std::string blob_key;
  std::string state;                 // the first state, e.g. "chunking"
  std::string metadata_json = "{}";  // empty means {}
};

struct InsertOutcome {
  int64_t id = 0;
  bool created = false;  // false: a document with the same content_hash existed
};

struct DocumentPage {
  std::vector<Document> documents;
  int64_t total = 0;  // matching documents, ignoring limit/offset
};

// What the evaluate stage said about a chunk.
struct ChunkEvaluation {
  double trust_score = 0;      // [0, 1]
  double relevance_score = 0;  // [0, 1]
  std::string domain;          // a label of the profile's evaluation domains
  std::string reasoning;       // why, in a sentence or two
  std::string evaluator;       // which evaluator: "rules:research", "ollama:<model>"
};

// A chunk whose evaluation failed: the model's answer was unusable even
// after a repair. Kept with its reason instead of a made-up score.
struct EvaluationFailure {
  std::string evaluator;
  std::string reason;
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
  std::string embedding_model;   // the embedder that wrote `embedding` (Embedder::Name())
  std::optional<ChunkEvaluation> evaluation;  // absent until the evaluate stage ran (or when it failed)
  std::string evaluation_failure;             // why the last evaluation failed; empty: it did not
  std::string extraction_failure;             // why the last extraction failed (no facts kept); empty: it did not
};

// One chunk's vector, for scoring without loading chunk text.
struct ChunkVector {
  int64_t chunk_id = 0;
  int64_t document_id = 0;
  std::vector<float> embedding;
  std::string model;  // the embedder that wrote it (Embedder::Name())
};

// Chunk text and its document's title, for search results.
struct ChunkHit {
  Chunk chunk;
  std::string title;
};

// A chunk found by SearchIndex::Lexical with its relevance to the query.
struct LexicalHit {
  ChunkHit hit;  // the embedding is left empty
  // Higher is more relevant. Engine-specific (SQLite: -BM25, PostgreSQL:
  // idf-weighted ts_rank): compare scores only within one result list.
  double score = 0;
};

// Processing-log statuses the worker and the reconciler write.
inline constexpr const char* kLogCompleted = "completed";  // the stage's writes committed
inline constexpr const char* kLogRetried = "retried";      // the attempt failed; a retry is scheduled
inline constexpr const char* kLogFailed = "failed";        // given up on (a dead letter): the document went to "error"
inline constexpr const char* kLogRequeued = "requeued";    // the reconciler re-enqueued a stalled document
// One chunk's LLM answer was unusable even after a repair (the document went on without it).
inline constexpr const char* kLogChunkFailed = "chunk_failed";

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
// is appended (and counted, see Telemetry::AppendLog) in the same
// transaction: nobody sees the state change without its log entry.
struct StateTransition {
  StateTransition(std::string from_state, std::string to_state, std::optional<LogNote> note = std::nullopt)
      : from(std::move(from_state)), to(std::move(to_state)), log(std::move(note)) {}
  std::string from;
  std::string to;
  std::optional<LogNote> log;
};

// What DocumentStore::StartAttempt found.
struct AttemptStart {
  Document document;     // as it is now: attempts includes this one, or in "error"
  bool gave_up = false;  // the attempts had run out: moved to "error", nothing to run
};

// A failed attempt, as DocumentStore::RecordFailure writes it.
struct FailedAttempt {
  std::string stage;      // the stage that ran
  std::string state;      // the state the document must still be in
  std::string message;    // why it failed
  bool terminal = false;  // the last allowed attempt: move to "error"
  double started_at = 0;  // when the attempt began, for the log entry's duration
};

// The error message of a document given up on after `attempts` attempts;
// `last_error` is the last recorded failure, empty when every attempt ended
// without one (the worker died or timed out).
std::string GaveUpMessage(int attempts, const std::string& last_error);

struct StoreStats {
  int64_t total_documents = 0;
  std::map<std::string, int64_t> documents_by_state;
  // Documents in "error" by the stage that gave up on them (error_stage):
  // the dead letters of each stage.
  std::map<std::string, int64_t> errors_by_stage;
  int64_t total_chunks = 0;
  int64_t chunks_with_embeddings = 0;
  int64_t chunks_evaluated = 0;
  int64_t chunks_evaluation_failed = 0;  // chunks whose evaluation was unusable (EvaluationFailure)
  int64_t chunks_extraction_failed = 0;  // chunks whose extraction was unusable (Chunk::extraction_failure)
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

// Connection pool figures for /stats. Counters (created onwards) only grow.
// A store without a given notion (SQLite has no validation) reports 0.
struct PoolStats {
  int64_t size = 0;                 // open connections (including ones being opened)
  int64_t in_use = 0;               // checked out right now
  int64_t idle = 0;                 // open and waiting in the pool
  int64_t waiting = 0;              // callers queued for a connection right now (served first come, first served)
  int64_t created = 0;              // connections ever opened
  int64_t closed_dead = 0;          // closed because they were found dead
  int64_t validation_failures = 0;  // checkouts whose liveness check failed
  int64_t retries = 0;              // units of work re-run after a connection error
  int64_t rebuilds = 0;             // times every connection had failed and the pool started afresh
};

}  // namespace refinery

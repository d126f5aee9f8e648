// Configuration: one struct, loaded once at process start.
// Precedence, highest first: command-line flag (applied by the CLI after
// Load), REFINERY_* variables, the Python system's variable names,
// refinery.toml ($REFINERY_CONFIG, else ./refinery.toml), defaults.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace refinery {

// Supervision settings of one service of `refinery up`, from a
// [services.<name>] table of refinery.toml (`api`, `worker-<stage>`, or
// `workers` for every worker). Unset fields take the supervisor's defaults;
// `refinery up` checks the names and the restart policy.
struct ServiceSettings {
  std::optional<std::string> restart;                  // no | on-failure | always | unless-stopped
  std::optional<int> replicas;                         // worker processes of a stage
  std::optional<int> concurrency;                      // jobs one worker process runs at once
  std::optional<std::vector<std::string>> depends_on;  // started once these are ready
  std::optional<double> health_interval_s;
  std::optional<double> health_timeout_s;
  std::optional<int> health_retries;
  std::optional<double> start_period_s;
  std::optional<double> backoff_initial_s;
  std::optional<double> backoff_max_s;
  std::optional<double> stable_after_s;
  std::optional<int> crash_loop_after;

  // Fields set here replace those of `base` (per-service over `workers`).
  ServiceSettings Over(const ServiceSettings& base) const;
};

// An LLM server: Ollama or any OpenAI-compatible one (vLLM, llama.cpp's
// server, LM Studio, OpenAI). An empty url: not configured, the built-in
// embedder or rule-based reasoner is used.
struct LlmEndpointConfig {
  std::string url;                  // "http://localhost:11434" (Ollama) or ".../v1"'s base (OpenAI)
  std::string provider = "ollama";  // ollama | openai
  std::string model;
  std::string api_key;              // sent as a Bearer token; empty: OPENAI_API_KEY for openai
  double timeout_s = 120;           // one call, from connect to the last byte (a cold model loads first)
  double connect_timeout_s = 5;
  int concurrency = 4;  // calls in flight from one process (one Ollama queues the rest anyway)
  // Texts per embedding call. 16 fills the embed worker's call slots with
  // the documents its consumers hold (bench/llm_embed_bench: 81% of what
  // the server allows); a larger batch needs more consumers
  // (REFINERY_WORKER_CONCURRENCY) to fill.
  int batch_size = 16;
  // How long an embedding call may wait for more texts to fill its batch
  // (each embed job holds one document of a few chunks). The API answers
  // one query at a time and never waits.
  int linger_ms = 20;
  // Reasoning calls: the answer's token limit (Ollama num_predict, OpenAI
  // max_tokens; an answer cut off there is an error, never a fact), the
  // context window (Ollama num_ctx; 0: the server's), how long Ollama
  // keeps the model loaded between calls.
  int max_tokens = 2048;
  int num_ctx = 0;
  std::string keep_alive = "30m";
  int retries = 3;      // further tries of a call after a timeout, 429, 5xx or a dropped connection
  bool pull = false;    // Ollama: pull a model that is missing (opt-in: it may be gigabytes)
  bool configured() const { return !url.empty(); }
};

// [crawl]: the crawl stage's fetching and politeness (issue 13).
struct CrawlConfig {
  double connect_timeout_s = 10;
  double timeout_s = 30;  // a whole fetch, body included
  // A response slower than low_speed_bytes_per_s for low_speed_time_s is cut.
  int64_t low_speed_bytes_per_s = 1024;
  double low_speed_time_s = 10;
  int64_t max_bytes = 20 << 20;  // a bigger body is an error, never a truncated document
  int max_redirects = 5;
  std::string user_agent;  // empty: "Refinery/<version> (+https://github.com/refinery)"
  // Hosts and CIDR ranges fetched although internal ("127.0.0.0/8,wiki.internal").
  std::string allow;
  // Per host, across every crawl worker: the least time between fetches
  // (a robots.txt Crawl-delay may ask for more) and fetches at once.
  double host_interval_s = 1;
  int host_concurrency = 1;
  int max_pages = 1000;  // per crawl, unless the request asks for fewer
  double robots_ttl_s = 86400;  // how long a fetched robots.txt is trusted
};

struct Config {
  // Where every embedded backend keeps its files.
  std::string data_dir = "./refinery-data";

  // Backends. Empty means the embedded default for that concern.
  std::string database_url;  // postgresql://... ; empty: SQLite in data_dir
  std::string redis_url;     // redis://host:port ; empty: SQLite queue in data_dir
  std::string blob_url;      // s3://bucket or http(s)://host:port ; empty: data_dir/blobs

  // PostgreSQL pool (production store). One API request's checkout wait,
  // connect attempts and retries together stay inside about 2 s.
  int db_pool_min = 2;
  int db_pool_max = 10;
  double db_checkout_timeout_s = 1.0;   // wait for a free connection, then Unavailable
  double db_statement_timeout_s = 5.0;  // server-side statement_timeout
  int db_retries = 2;                   // re-runs of a unit of work after a connection error
  double db_retry_base_delay_s = 0.5;   // doubles per retry, with jitter
  double db_max_lifetime_s = 1800;      // connections older than this are replaced

  // S3 / MinIO (production blob store), used when blob_url is set.
  std::string s3_access_key;
  std::string s3_secret_key;
  std::string s3_bucket = "refinery";
  std::string s3_region = "us-east-1";

  // API server.
  std::string host = "127.0.0.1";
  int port = 8000;
  // A few event-loop threads (one per core, at most 4, at the process's
  // niceness) accept every connection, parse and write every message and
  // answer the health probes; a connection costs memory, never a thread.
  // Handlers that may block (every route touching the store, queue or blob
  // store) run on a pool of `http_threads` handler threads. Size it for
  // concurrent blocking work, not for connections: about the store's pool
  // (PostgreSQL: db_pool_max) plus a few.
  int http_threads = 16;
  // Niceness of the handler threads, so a saturated API yields CPU to its
  // event loop, its health checkers and the processes its answers depend
  // on (PostgreSQL, Redis); at 0, 64 busy request threads once starved the
  // checkers for seconds and /health answered `degraded` with every
  // dependency up (0: as the process).
  int http_thread_nice = 10;
  // How long a request may wait for a free handler thread; past it, 503
  // with Retry-After (load shedding). A bound on waiting time rather than
  // a queue length: the connections bound the count already.
  double http_queue_wait_s = 2;
  double http_idle_timeout_s = 30;    // a connection with no request in progress is closed after this
  double http_header_timeout_s = 10;  // first byte of a request to the end of its header (slowloris)
  double http_body_timeout_s = 30;    // to read a whole request body; also to write an answer
  int64_t max_body_bytes = 16 * 1024 * 1024;  // Content-Length or chunked: 413 beyond, before reading it
  int max_title_bytes = 1024;                 // a longer title is refused (400)
  int64_t max_metadata_bytes = 64 * 1024;     // the metadata object, as sent
  // Access (README, "Access"). Keys are secrets: never logged or printed.
  std::vector<std::string> api_keys;       // full access; any key set switches authentication on
  std::vector<std::string> read_api_keys;  // GET routes and POST /search only
  bool metrics_auth = false;               // /metrics needs a key too (when keys are on)
  std::string client_api_key;              // what the CLI and the doctor send
  std::vector<std::string> cors_origins;   // allowed browser origins ("*": any); none: no CORS headers
  // Host names accepted besides the loopback names when bound to loopback
  // (DNS rebinding defence); ignored when bound elsewhere.
  std::vector<std::string> allowed_hosts;
  double rate_limit = 0;  // requests per second per key (per address when keys are off); 0: off
  double rate_burst = 0;  // bucket size; 0: max(rate_limit, 1) * 2

  // Pipeline.
  int chunk_target_chars = 1000;     // aim for chunks about this long
  int chunk_overlap_chars = 150;     // trailing sentences repeated at the next chunk's head
  int embedding_dim = 1024;          // hashing needs room: nDCG@10 on SciFact 0.36 at 384, 0.50 at 1024
  int max_attempts = 5;              // deliveries before a job is dead-lettered
  double visibility_timeout_s = 30;  // a lease not heartbeated for this long is lost
  double retry_base_delay_s = 1.0;   // first retry delay; doubles each attempt, with jitter
  double retry_max_delay_s = 60.0;
  double stage_timeout_s = 60;  // reconciler re-enqueues a document idle this long
  double reconcile_interval_s = 5;
  int worker_concurrency = 2;  // jobs one worker process runs at once

  // [llm.embed] and [llm.reason]: separate servers (two GPUs), either may be unset.
  LlmEndpointConfig llm_embed;
  LlmEndpointConfig llm_reason;
  // auto: the LLM evaluator when llm_reason is configured, else the rules;
  // rules | llm force one (llm needs llm_reason).
  std::string evaluator = "auto";
  std::string extractor = "auto";  // the same choice for the extract stage
  std::string openai_api_key;  // OPENAI_API_KEY: the key of openai endpoints without their own

  CrawlConfig crawl;

  // [knowledge]
  std::string profile = "research";  // a profile name (profiles/<name>.toml or built in) or a .toml path
  std::string profiles_dir;          // looked in first for a profile name

  // Test-only: sleep this long inside every stage to widen kill windows.
  int test_stage_delay_ms = 0;

  // Supervisor (`refinery up`): grace between SIGTERM and SIGKILL when
  // stopping a service, and per-service log rotation.
  double stop_grace_s = 10;
  int64_t log_max_bytes = 10 << 20;
  int log_keep = 3;
  std::map<std::string, ServiceSettings> services;  // by [services.<name>]

  std::string log_level = "info";
  std::string log_format = "text";  // text | json

  // Every path under the data directory, named here once.
  std::string SqlitePath() const { return data_dir + "/refinery.db"; }  // the embedded store
  std::string QueuePath() const { return data_dir + "/queue.db"; }      // the embedded queue
  std::string BlobDir() const { return data_dir + "/blobs"; }           // the blob directory
  std::string LogDir() const { return data_dir + "/logs"; }             // `up`'s per-service logs
  std::string LogPath(const std::string& service) const { return LogDir() + "/" + service + ".log"; }
  std::string RunDir() const { return data_dir + "/run"; }  // `up`'s socket, heartbeats, stopped services
  std::string ControlSocketPath() const { return RunDir() + "/supervisor.sock"; }
  std::string StoppedServicesPath() const { return RunDir() + "/stopped.json"; }
  // A worker's liveness file (format: pipeline/heartbeat.h; scripts read it).
  std::string HeartbeatPath(const std::string& service) const { return RunDir() + "/" + service + ".heartbeat"; }
};

// Reads a variable; injectable so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Builds a Config from toml file, legacy names, REFINERY_* (in rising
// precedence). An invalid value fails with a message naming the setting,
// e.g. "REFINERY_PORT: expected an integer in 1..65535, got 'abc'".
Result<Config> LoadConfig(const EnvLookup& env = ProcessEnv());

// Checks ranges and combinations; used after flags were applied too.
Status ValidateConfig(const Config& config);

}  // namespace refinery

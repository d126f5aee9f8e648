// A strict fake of the Ollama (0.5+) and OpenAI HTTP APIs, for tests of the
// LLM clients. Real sockets and real HTTP/1.1 (keep-alive, chunked request
// bodies, Expect: 100-continue), the documented request checks, error texts
// and answer shapes, deterministic embeddings, scripted chat replies,
// injected faults and thread-safe counters to assert on. Both APIs are
// served on one port: /api/... is Ollama, /v1/... is OpenAI.
//
// Not a production server: one thread per connection, everything in memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace refinery::testing {

// Which API a chat request came through, for scripts answering both.
enum class LlmApi { kOllama, kOpenAi };

// A model the server has "pulled" (or can pull).
struct FakeModel {
  // As configured; Ollama lookups accept it with or without ":latest",
  // OpenAI lookups need it exactly (as /v1/models lists it).
  std::string name;
  int dimension = 768;     // length of its embeddings
  bool can_think = false;  // accepts Ollama's "think": true
  bool can_chat = true;    // embedding-only models refuse chat, as Ollama's do

  static FakeModel Embedding(std::string name, int dimension = 768);
  static FakeModel Chat(std::string name, bool can_think = false);
};

// What a chat script sees of one request.
struct ChatCall {
  LlmApi api = LlmApi::kOllama;
  std::string model;       // as named in the request
  nlohmann::json request;  // the whole parsed body
  std::string prompt;      // the system and user message texts, joined by "\n"
  nlohmann::json format;   // Ollama "format" / OpenAI "response_format"; null when absent
};

// A scripted answer. The defaults are the fake's answer without a script.
struct ChatReply {
  std::string content = "{}";
  std::string finish_reason = "stop";    // or "length" (Ollama done_reason, OpenAI finish_reason)
  std::string thinking;                  // Ollama message.thinking when think is on; empty = omitted
  std::optional<int> prompt_tokens;      // default: the words in the prompt
  std::optional<int> completion_tokens;  // default: the words in content
};

using ChatScript = std::function<ChatReply(const ChatCall&)>;

// A misbehaviour for the next `times` requests to a path. Applied in this
// order: wait `delay`; answer `status` with `body` instead of the real
// answer (when status != 0); send only half the answer and reset the
// connection (when reset_mid_answer).
struct Fault {
  static constexpr int kForever = -1;  // `times` meaning: until ClearFaults()

  std::chrono::milliseconds delay{0};
  int status = 0;
  std::string body;                  // empty: an error body in the path's API style
  std::optional<int> retry_after_s;  // adds "Retry-After: <seconds>"
  bool reset_mid_answer = false;     // status line, headers with Content-Length, half the body, RST
  int times = 1;

  static Fault Delay(std::chrono::milliseconds delay, int times = 1);
  static Fault Status(int status, std::string body = "", int times = 1);
  static Fault RateLimited(int retry_after_s, int times = 1);  // 429 with Retry-After
  static Fault ResetMidAnswer(int times = 1);
};

class FakeLlmServer {
 public:
  // For AddFault: every path (a path's own faults are taken first).
  static constexpr const char* kAllPaths = "";
  // RecentBodies keeps at most this many requests (all paths together).
  static constexpr size_t kHistoryLimit = 256;

  // port 0: an ephemeral port, chosen by the first Start() and kept after.
  explicit FakeLlmServer(int port = 0);
  ~FakeLlmServer();  // Stop()s
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  // Listens on 127.0.0.1:port() (SO_REUSEADDR, so a restart gets the same
  // port back). Throws std::runtime_error when it cannot. No-op when running.
  void Start();
  // Closes the listener and every open connection (clients see the server
  // gone, mid-answer or idle), ends pending delays, joins all threads.
  // Models, settings and counters survive for the next Start().
  void Stop();
  bool running() const;
  int port() const;         // 0 until the first Start() when constructed with 0
  std::string url() const;  // "http://127.0.0.1:<port>", no trailing slash

  // --- Models (thread-safe, take effect on the next request) ---
  void AddModel(FakeModel model);                // replaces one of the same name
  void RemoveModel(const std::string& name);     // and unloads it
  bool HasModel(const std::string& name) const;  // Ollama matching (":latest" optional)
  // /api/pull succeeds for these (and adds them); any other name fails.
  void AddPullableModel(FakeModel model);
  // Names (as /api/ps lists them) of models that served a request and whose keep_alive has not run out.
  std::vector<std::string> LoadedModels() const;

  // --- Server capabilities ---
  // false: an Ollama older than 0.3, without /api/embed (404 "404 page not
  // found"); /api/embeddings still works.
  void SetEmbedEndpoint(bool present);
  // false: /v1/chat/completions refuses that response_format type with 400,
  // as vLLM and llama.cpp servers without it do.
  void SetJsonSchemaSupported(bool supported);
  void SetJsonObjectSupported(bool supported);
  // Non-empty: /v1/... requests need "Authorization: Bearer <key>", else 401
  // (Ollama's own /api/... ignores Authorization, as the real one does).
  void SetApiKey(std::string key);
  void SetVersion(std::string version);  // /api/version; default "0.5.7"
  // Answers every chat request; nullptr restores the default reply "{}".
  // Called without the server's lock held, on the connection's thread.
  void SetChatScript(ChatScript script);

  // --- Faults ---
  void AddFault(const std::string& path, Fault fault);  // queued behind the path's earlier faults
  void ClearFaults();
  // Added to every answer (a benchmark's model time); 0 = none.
  void SetLatency(std::chrono::milliseconds latency);
  // Waited before each line of a streamed answer after the first (a slow
  // /api/pull, a slow token stream); 0 = none.
  void SetStreamDelay(std::chrono::milliseconds delay);

  // --- Observation (thread-safe) ---
  int RequestCount(const std::string& path = kAllPaths) const;  // every request, faulted or not
  int64_t TextsEmbedded() const;                                // texts in successful embedding answers, both APIs
  // Bodies of the latest `k` requests to `path` (kAllPaths: any), oldest first.
  std::vector<std::string> RecentBodies(const std::string& path = kAllPaths,
                                        size_t k = std::numeric_limits<size_t>::max()) const;
  int InFlight() const;     // requests read but not yet answered
  int MaxInFlight() const;  // the most InFlight() has been since the last ResetCounters()
  void ResetCounters();     // counts, texts, bodies, max in flight

 private:
  struct Impl;  // sockets, threads and the state the routes share
  std::unique_ptr<Impl> impl_;
};

}  // namespace refinery::testing

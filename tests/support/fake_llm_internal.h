// FakeLlmServer's internals, shared by its .cpp files: the parsed request,
// the answer, the state behind one mutex, the route entry points and the
// pimpl. Not for tests: use fake_llm_server.h.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fake_llm_server.h"

namespace refinery::testing::fake_llm {

using SystemClock = std::chrono::system_clock;

struct Request {
  std::string method;
  std::string path;                            // the target without its query string
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  bool keep_alive = true;                      // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
};

struct Answer {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the framing ones
  // Non-empty: a streamed answer, sent chunked with one chunk per element
  // (NDJSON lines, SSE events); `body` is then unused.
  std::vector<std::string> stream;
  // Run just before the stream's last chunk goes out (a pulled model
  // appears only once its layers are in, right before "success", as in Ollama).
  std::function<void()> before_last_chunk;
};

Answer JsonAnswer(int status, const nlohmann::json& body);
Answer TextAnswer(int status, std::string text);
// {"error": message}: Ollama's error shape.
Answer OllamaError(int status, const std::string& message);
// {"error": {"message", "type", "param", "code"}}: OpenAI's error object.
Answer OpenAiError(int status, const std::string& message, const std::string& type, const nlohmann::json& param,
                   const nlohmann::json& code);
// The body of an answer sent whole (a stream's chunks concatenated).
std::string WholeBody(const Answer& answer);

// Everything the routes and the connection threads share, behind `mu`.
// Routes hold `mu` only briefly, never across a script call or a sleep.
struct State {
  mutable std::mutex mu;
  std::vector<FakeModel> models;                               // present ("pulled")
  std::map<std::string, SystemClock::time_point> modified_at;  // lower-case canonical name -> when added
  std::vector<FakeModel> pullable;                             // what /api/pull can add
  std::map<std::string, SystemClock::time_point> loaded;       // canonical name -> expires_at
  bool embed_endpoint = true;
  bool json_schema = true;
  bool json_object = true;
  std::string api_key;
  std::string version = "0.5.7";
  ChatScript script;
  std::map<std::string, std::deque<Fault>> faults;  // by path; "" = all paths
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds stream_delay{0};  // before each streamed chunk after the first
  // Observations.
  std::map<std::string, int> counts;  // by path
  int total_requests = 0;
  int64_t texts_embedded = 0;
  std::deque<std::pair<std::string, std::string>> history;  // (path, body), newest last
  int in_flight = 0;
  int max_in_flight = 0;
};

// "llama3.2" -> "llama3.2:latest"; a name with a tag is kept.
std::string CanonicalOllamaName(const std::string& name);
// The present model a request names (locks state.mu), Ollama or OpenAI matching.
std::optional<FakeModel> FindModel(State& state, const std::string& name, LlmApi api);
// Adds (or replaces, by Ollama matching) a present model, modified now.
void PutModel(State& state, FakeModel model);
void DropModel(State& state, const std::string& name);
// Marks a model loaded for `keep_alive` (Ollama's: seconds, or "5m"-style;
// absent = 5 minutes; 0 = unload). True when it stays loaded.
bool MarkLoaded(State& state, const std::string& canonical_name, const nlohmann::json& keep_alive);
void CountEmbedded(State& state, size_t texts);
// The script's reply to `call`, or the default reply (the script runs unlocked).
ChatReply RunScript(State& state, const ChatCall& call);

// The embedding of `text` by `model`: the same for either API and any
// spelling of the name; `dimensions` in (0, model.dimension) truncates and
// renormalises it, as Ollama's and OpenAI's "dimensions" do.
std::vector<float> EmbedText(const FakeModel& model, const std::string& text, int64_t dimensions);
// A vector as the servers write it: each float32 in its shortest decimal
// form (Go's strconv for Ollama, as OpenAI's float lists read), not the
// 17 digits a float widened to double prints -- twice the bytes.
nlohmann::json VectorJson(const std::vector<float>& vector);
// The same written straight to text ("[0.1,-0.25]"), for the batched
// answers: building a JSON tree of 16 x 768 numbers first cost the fake
// more than a millisecond per call on top of its latency.
std::string VectorText(const std::vector<float>& vector);
// Unit-L2-norm vector of `dimension` floats, a pure function of (model, text).
std::vector<float> FakeEmbedding(const std::string& model, const std::string& text, int dimension);
// Whitespace-separated words: the fake's token count, at least 1 for non-empty text.
int CountTokens(const std::string& text);
// A stable 64-hex-digit sha256-like digest of `seed` (not a real sha256).
std::string FakeDigest(const std::string& seed);
std::string Rfc3339(SystemClock::time_point when);  // UTC with nanoseconds, like Go's
std::string Lower(std::string text);
// object[key], or null when absent (never inserts, never throws).
const nlohmann::json& Field(const nlohmann::json& object, const char* key);
std::string JsonType(const nlohmann::json& value);  // Go's names: "string", "number", "bool", "array", "object"
// `text` cut after each run of whitespace: the pieces a model streams, in order.
std::vector<std::string> StreamPieces(const std::string& text);
// The text of a chat message's "content": a string, or OpenAI's array of {type:"text", text} parts.
std::string MessageText(const nlohmann::json& content);

// --- HTTP/1.1 framing (fake_llm_http.cpp) ---
// Reads the next request on `fd` (blocking), answering Expect: 100-continue;
// bytes past it stay in `buffer` for the next one. False when the
// connection is to end: closed by the client (error_status 0), or a framing
// error the caller answers with error_status (400, 413, 417, 431, 505) first.
bool ReadRequest(int fd, std::string& buffer, Request& request, int& error_status);
bool SendAll(int fd, std::string_view bytes);  // false once the peer is gone (no SIGPIPE)
// Status line and headers; `content_length` nullopt: Transfer-Encoding: chunked.
std::string AnswerHead(const Answer& answer, bool keep_alive, std::optional<size_t> content_length);
// Sends `answer` whole: Content-Length, or chunked for a stream. HEAD: headers only.
// `pause` (may be empty) runs before each chunk of a stream after the
// first; false ends the answer there (the server is stopping).
bool SendAnswer(int fd, const Answer& answer, bool keep_alive, bool head_only,
                const std::function<bool()>& pause = {});

// Route entry points: `request` to a known path of its API, with the method
// already checked. Ollama's and OpenAI's, in their own files.
Answer OllamaRoute(State& state, const Request& request);
Answer OpenAiRoute(State& state, const Request& request);
// The whole dispatch: auth, 404/405, then the API's route.
Answer Route(State& state, const Request& request);
// A fault's canned answer for `path` (its body, or a default one in the path's API style).
Answer FaultAnswer(const Fault& fault, const std::string& path);

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

struct Connection;  // an accepted connection and its thread (fake_llm_server.cpp)

}  // namespace refinery::testing::fake_llm

namespace refinery::testing {

// The state the routes share, and the listener side: its methods are in
// fake_llm_server.cpp; the public setters (fake_llm_settings.cpp) touch
// only `state`.
struct FakeLlmServer::Impl {
  fake_llm::State state;
  std::atomic<int> port{0};
  std::mutex life_mu;  // serialises Start() and Stop()
  std::atomic<bool> running{false};
  fake_llm::Fd listener;
  fake_llm::Fd wake_read, wake_write;  // a byte on this pipe ends the accept loop
  std::thread acceptor;
  std::mutex conns_mu;
  std::list<std::shared_ptr<fake_llm::Connection>> conns;  // GUARDED_BY(conns_mu)
  // Delays and latency wait on this, so Stop() need not sit them out.
  std::mutex sleep_mu;
  std::condition_variable sleep_cv;
  bool stopping = false;  // GUARDED_BY(sleep_mu)

  bool Sleep(std::chrono::milliseconds duration);  // false when Stop() cut it short
  void AcceptLoop();
  void Serve(fake_llm::Connection& conn);
  // Answers one request; false when the connection is to close.
  bool Handle(fake_llm::Connection& conn, int fd, const fake_llm::Request& request);
};

}  // namespace refinery::testing

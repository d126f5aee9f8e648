// ChatModel: one instruction-following model behind a reasoning server
// (Ollama's /api/chat, OpenAI's /v1/chat/completions), asked for JSON
// matching a schema. AskStructured turns its answers into checked JSON:
// repairs, one repair round trip, and a cache so no request is paid twice.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace refinery {

class LlmEndpoint;

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  nlohmann::json schema;  // the JSON schema (an object) the answer must match
  std::string schema_name = "answer";
};

struct ChatAnswer {
  std::string content;
  // How the structure was asked for: "format" (Ollama), "json_schema",
  // "json_object" or "prompt" (OpenAI-compatible, falling back in that order).
  std::string structure;
};

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // One answer. Errors: Unavailable / Timeout as LlmEndpoint::Post
  // (transient: the job waits); InvalidArgument for an answer cut off at
  // the token limit, an empty one, or a request the server refused, each
  // with a message saying which.
  virtual Result<ChatAnswer> Chat(const ChatRequest& request) = 0;
  // "ollama:qwen2.5:7b", for evaluator names and logs.
  virtual std::string Name() const = 0;
  // The SHA-256 of everything sent that decides the answer (model,
  // options, messages, schema): the reasoning cache's key.
  virtual std::string RequestKey(const ChatRequest& request) const = 0;
};

// A chat client over `endpoint` (config: model, max_tokens, num_ctx,
// keep_alive; temperature 0). Ollama: `format` = the schema, `think`
// false. OpenAI-compatible: response_format json_schema, falling back
// for good to json_object and then to the schema in the prompt when the
// server refuses one.
std::unique_ptr<ChatModel> MakeRemoteChat(std::shared_ptr<LlmEndpoint> endpoint);

// Where checked answers are kept, by ChatModel::RequestKey (the store's
// reasoning cache; pipeline/ adapts it). Get and Put never fail the
// caller: a cache that cannot answer is a miss.
class AnswerCache {
 public:
  virtual ~AnswerCache() = default;
  virtual std::optional<std::string> Get(const std::string& key) = 0;
  virtual void Put(const std::string& key, const std::string& model, const std::string& answer) = 0;
};

struct StructuredAnswer {
  nlohmann::json value;   // an object valid against the request's schema
  bool repaired = false;  // it took the repair round trip
  bool cached = false;    // from the cache: no call made
};

// Asks `model` and returns its answer parsed (ParseJsonAnswer) and checked
// against request.schema (CheckAgainstSchema) plus `check` (extra rules,
// e.g. a label list; may be null). An unusable answer gets one more round
// trip quoting the problem; if that is unusable too: InvalidArgument
// "unusable answer: ..." naming it. Valid answers go to `cache` (may be
// null), which is asked first.
Result<StructuredAnswer> AskStructured(ChatModel& model, const ChatRequest& request, AnswerCache* cache,
                                       const std::function<Status(const nlohmann::json&)>& check = nullptr);

}  // namespace refinery

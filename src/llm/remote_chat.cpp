// Chat clients over a reasoning server: Ollama's /api/chat with `format`
// (the schema) and `think` off; OpenAI's /v1/chat/completions with
// response_format json_schema, then json_object, then the schema in the
// prompt, for servers that refuse the richer ones (older vLLM, llama.cpp).
// Delivery (retries, caps, breaker) is the endpoint's.
#include <atomic>

#include "core/hash.h"
#include "core/log.h"
#include "llm/chat.h"
#include "llm/llm_endpoint.h"

namespace refinery {
namespace {

using nlohmann::json;

// The OpenAI-compatible ways of asking for structure, richest first.
enum Structure { kJsonSchema = 0, kJsonObject = 1, kPrompt = 2 };

const char* StructureName(int s) {
  return s == kJsonSchema ? "json_schema" : s == kJsonObject ? "json_object" : "prompt";
}

json Messages(const std::vector<ChatMessage>& messages) {
  json out = json::array();
  for (const ChatMessage& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

// Without a schema-aware response_format, the schema goes into the system
// message (which then also says "JSON", as json_object requires).
json MessagesWithSchema(const ChatRequest& request) {
  json out = Messages(request.messages);
  const std::string note = "Answer with only a JSON object matching this JSON schema, no other text: " +
                           request.schema.dump();
  if (!out.empty() && out[0]["role"] == "system") {
    out[0]["content"] = out[0]["content"].get<std::string>() + "\n\n" + note;
  } else {
    out.insert(out.begin(), json{{"role", "system"}, {"content", note}});
  }
  return out;
}

class RemoteChat final : public ChatModel {
 public:
  explicit RemoteChat(std::shared_ptr<LlmEndpoint> endpoint) : endpoint_(std::move(endpoint)) {}

  std::string Name() const override { return endpoint_->config().provider + ":" + endpoint_->config().model; }

  std::string RequestKey(const ChatRequest& request) const override {
    const LlmEndpointConfig& c = endpoint_->config();
    const json key = {{"model", Name()},
                      {"options", {{"temperature", 0}, {"max_tokens", c.max_tokens}, {"num_ctx", c.num_ctx}}},
                      {"messages", Messages(request.messages)},
                      {"schema", request.schema}};
    return Sha256Hex(key.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  Result<ChatAnswer> Chat(const ChatRequest& request) override {
    return endpoint_->config().provider == "openai" ? OpenAi(request) : Ollama(request);
  }

 private:
  std::string What(const char* path) const { return endpoint_->role() + " " + path + " (" + Name() + ")"; }

  Status CutOff(const char* path) {
    endpoint_->CountBadAnswer();
    return Status::InvalidArgument(What(path) + ": the answer was cut off at " +
                                   std::to_string(endpoint_->config().max_tokens) +
                                   " tokens (raise REFINERY_REASON_MAX_TOKENS, or shorten the chunks)");
  }

  Result<ChatAnswer> Ollama(const ChatRequest& request) {
    const LlmEndpointConfig& c = endpoint_->config();
    json options = {{"temperature", 0}, {"num_predict", c.max_tokens}};
    if (c.num_ctx > 0) options["num_ctx"] = c.num_ctx;
    // think off: a reasoning model must not spend its token budget thinking.
    const json body = {{"model", c.model},   {"messages", Messages(request.messages)},
                       {"stream", false},    {"format", request.schema},
                       {"think", false},     {"options", options},
                       {"keep_alive", c.keep_alive}};
    auto answer = endpoint_->Post("/api/chat", body);
    if (!answer.ok()) return answer.status();
    const json& message = JsonField(*answer, "message");
    if (!JsonField(message, "content").is_string()) {
      endpoint_->CountBadAnswer();
      return Status::InvalidArgument(What("/api/chat") + ": the answer has no message content");
    }
    const json& prompt_tokens = JsonField(*answer, "prompt_eval_count");
    if (prompt_tokens.is_number_integer()) endpoint_->CountTokens(prompt_tokens.get<int64_t>());
    if (JsonField(*answer, "done_reason") == "length") return CutOff("/api/chat");
    const std::string content = JsonField(message, "content").get<std::string>();
    if (content.find_first_not_of(" \t\r\n") == std::string::npos) {
      endpoint_->CountBadAnswer();
      const json& thinking = JsonField(message, "thinking");
      const bool thought = thinking.is_string() && !thinking.get<std::string>().empty();
      return Status::InvalidArgument(What("/api/chat") + (thought ? ": the model only thought and gave no answer"
                                                                  : ": the answer is empty"));
    }
    return ChatAnswer{content, "format"};
  }

  json ResponseFormat(int structure, const ChatRequest& request) const {
    if (structure == kJsonSchema) {
      return {{"type", "json_schema"},
              {"json_schema", {{"name", request.schema_name}, {"schema", request.schema}, {"strict", false}}}};
    }
    return {{"type", "json_object"}};
  }

  Result<ChatAnswer> OpenAi(const ChatRequest& request) {
    for (;;) {
      const int structure = structure_.load();
      json body = {{"model", endpoint_->config().model},
                   {"messages", structure == kJsonSchema ? Messages(request.messages) : MessagesWithSchema(request)},
                   {"temperature", 0},
                   {"max_tokens", endpoint_->config().max_tokens}};
      if (structure != kPrompt) body["response_format"] = ResponseFormat(structure, request);
      auto answer = endpoint_->Post("/v1/chat/completions", body);
      if (answer.status().code() == StatusCode::kInvalidArgument && structure != kPrompt &&
          answer.status().message().find("response_format") != std::string::npos) {
        int expected = structure;  // for good: every later call asks the way that works
        if (structure_.compare_exchange_strong(expected, structure + 1)) {
          spdlog::warn("{}: the server refused response_format {} ({}); asking with {} from now on",
                       endpoint_->role(), StructureName(structure), answer.status().message(),
                       StructureName(structure + 1));
        }
        continue;
      }
      if (!answer.ok()) return answer.status();
      return ReadOpenAi(*answer, structure);
    }
  }

  Result<ChatAnswer> ReadOpenAi(const json& answer, int structure) {
    const char* path = "/v1/chat/completions";
    const json& choices = JsonField(answer, "choices");
    const json& choice = JsonItem(choices, 0);
    const json& message = JsonField(choice, "message");
    if (!message.is_object()) {
      endpoint_->CountBadAnswer();
      return Status::InvalidArgument(What(path) + ": the answer has no choices[0].message");
    }
    const json& prompt_tokens = JsonField(JsonField(answer, "usage"), "prompt_tokens");
    if (prompt_tokens.is_number_integer()) endpoint_->CountTokens(prompt_tokens.get<int64_t>());
    if (JsonField(choice, "finish_reason") == "length") return CutOff(path);
    const json& text = JsonField(message, "content");
    const std::string content = text.is_string() ? text.get<std::string>() : "";
    if (content.find_first_not_of(" \t\r\n") == std::string::npos) {
      endpoint_->CountBadAnswer();
      const json& refusal = JsonField(message, "refusal");
      return Status::InvalidArgument(What(path) + ": the answer is empty" +
                                     (refusal.is_string() ? " (refused: " + refusal.get<std::string>() + ")" : ""));
    }
    return ChatAnswer{content, StructureName(structure)};
  }

  std::shared_ptr<LlmEndpoint> endpoint_;
  std::atomic<int> structure_{kJsonSchema};
};

}  // namespace

std::unique_ptr<ChatModel> MakeRemoteChat(std::shared_ptr<LlmEndpoint> endpoint) {
  return std::make_unique<RemoteChat>(std::move(endpoint));
}

}  // namespace refinery

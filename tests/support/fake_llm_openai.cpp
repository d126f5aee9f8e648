// FakeLlmServer's OpenAI API: /v1/models, /v1/embeddings and
// /v1/chat/completions (response_format text / json_object / json_schema,
// stream as server-sent events), with OpenAI's validation texts and its
// error object {"error": {"message", "type", "param", "code"}}.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/fake_llm_internal.h"

namespace refinery::testing::fake_llm {
namespace {

using nlohmann::json;

std::string TypeName(const json& value) {
  if (value.is_boolean()) return "a boolean";
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a decimal";
  if (value.is_null()) return "null";
  std::string type = JsonType(value);
  return (type == "array" || type == "object" ? "an " : "a ") + type;
}

Answer Invalid(const std::string& message, const json& param, const json& code) {
  return OpenAiError(400, message, "invalid_request_error", param, code);
}

Answer Missing(const std::string& param) {
  return Invalid("Missing required parameter: '" + param + "'.", param, "missing_required_parameter");
}

Answer WrongType(const json& value, const std::string& param, const std::string& expected) {
  return Invalid(
      "Invalid type for '" + param + "': expected " + expected + ", but got " + TypeName(value) + " instead.", param,
      "invalid_type");
}

Answer ModelNotFound(const std::string& name) {
  return OpenAiError(404, "The model `" + name + "` does not exist or you do not have access to it.",
                     "invalid_request_error", nullptr, "model_not_found");
}

std::optional<Answer> RequireModel(const json& body, std::string& name) {
  const json& model = Field(body, "model");
  if (!model.is_null() && !model.is_string()) return WrongType(model, "model", "a string");
  name = model.is_string() ? model.get<std::string>() : "";
  if (name.empty()) return Invalid("you must provide a model parameter", nullptr, nullptr);
  return std::nullopt;
}

// `value` must be absent or an integer >= 1.
std::optional<Answer> CheckPositive(const json& body, const std::string& key) {
  const json& value = Field(body, key.c_str());
  if (value.is_null()) return std::nullopt;
  if (!value.is_number_integer()) return WrongType(value, key, "an integer");
  if (value.get<int64_t>() < 1) {
    return Invalid("Invalid '" + key + "': integer below minimum value. Expected a value >= 1, but got " +
                       value.dump() + " instead.",
                   key, "integer_below_min_value");
  }
  return std::nullopt;
}

// encoding_format "base64": the float32 values' little-endian bytes, base64-encoded.
std::string Base64(const std::vector<float>& values) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += kDigits[(group >> 18) & 63];
    out += kDigits[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[group & 63] : '=';
  }
  return out;
}

// OpenAI refuses parameters it does not know (an Ollama "options" sent to it, say).
std::optional<Answer> CheckKnown(const json& body, const std::set<std::string>& known) {
  for (const auto& [key, value] : body.items()) {
    if (!known.count(key)) return Invalid("Unrecognized request argument supplied: " + key, nullptr, nullptr);
  }
  return std::nullopt;
}

int64_t EpochSeconds(SystemClock::time_point when) {
  return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

Answer Models(State& state) {
  json data = json::array();
  std::lock_guard lock(state.mu);
  for (const FakeModel& model : state.models) {
    auto modified = state.modified_at.find(Lower(CanonicalOllamaName(model.name)));
    data.push_back(
        {{"id", model.name},
         {"object", "model"},
         {"created", EpochSeconds(modified == state.modified_at.end() ? SystemClock::now() : modified->second)},
         {"owned_by", "library"}});
  }
  return JsonAnswer(200, {{"object", "list"}, {"data", data}});
}

Answer Embeddings(State& state, const json& body) {
  static const std::set<std::string> kKnown = {"model", "input", "encoding_format", "dimensions", "user"};
  if (auto error = CheckKnown(body, kKnown)) return *error;
  std::string name;
  if (auto error = RequireModel(body, name)) return *error;
  const json& input = Field(body, "input");
  std::vector<std::string> texts;
  if (input.is_null()) return Missing("input");
  if (input.is_string()) {
    texts.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (size_t i = 0; i < input.size(); ++i) {  // token arrays are valid for OpenAI, not served by the fake
      if (!input[i].is_string()) return WrongType(input[i], "input[" + std::to_string(i) + "]", "a string");
      texts.push_back(input[i].get<std::string>());
    }
  } else {
    return WrongType(input, "input", "a string or an array");
  }
  const json& encoding = Field(body, "encoding_format");
  if (!encoding.is_null() && encoding != "float" && encoding != "base64") {
    return Invalid("Invalid value: " + encoding.dump() + ". Supported values are: 'float' and 'base64'.",
                   "encoding_format", "invalid_value");
  }
  if (auto error = CheckPositive(body, "dimensions")) return *error;
  auto model = FindModel(state, name, LlmApi::kOpenAi);
  if (!model) return ModelNotFound(name);
  MarkLoaded(state, CanonicalOllamaName(model->name), nullptr);
  const json& dimensions = Field(body, "dimensions");
  json data = json::array();
  int tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> vector = EmbedText(*model, texts[i], dimensions.is_null() ? 0 : dimensions.get<int64_t>());
    json embedding = encoding == "base64" ? json(Base64(vector)) : VectorJson(vector);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
    tokens += std::max(1, CountTokens(texts[i]));
  }
  CountEmbedded(state, texts.size());
  return JsonAnswer(200, {{"object", "list"},
                          {"data", data},
                          {"model", name},
                          {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

Answer ChatCompletions(State& state, const json& body) {
  static const std::set<std::string> kKnown = {"model",
                                               "messages",
                                               "audio",
                                               "frequency_penalty",
                                               "logit_bias",
                                               "logprobs",
                                               "max_completion_tokens",
                                               "max_tokens",
                                               "metadata",
                                               "modalities",
                                               "n",
                                               "parallel_tool_calls",
                                               "prediction",
                                               "presence_penalty",
                                               "prompt_cache_key",
                                               "reasoning_effort",
                                               "response_format",
                                               "safety_identifier",
                                               "seed",
                                               "service_tier",
                                               "stop",
                                               "store",
                                               "stream",
                                               "stream_options",
                                               "temperature",
                                               "tool_choice",
                                               "tools",
                                               "top_logprobs",
                                               "top_p",
                                               "user",
                                               "verbosity",
                                               "web_search_options"};
  if (auto error = CheckKnown(body, kKnown)) return *error;
  std::string name;
  if (auto error = RequireModel(body, name)) return *error;
  const json& messages = Field(body, "messages");
  if (messages.is_null()) return Missing("messages");
  if (!messages.is_array()) return WrongType(messages, "messages", "an array");
  if (messages.empty()) {
    return Invalid(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array "
        "instead.",
        "messages", "empty_array");
  }
  static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool", "function"};
  std::string prompt, all_text;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!messages[i].is_object()) return WrongType(messages[i], at, "an object");
    const json& role = Field(messages[i], "role");
    if (role.is_null()) return Missing(at + ".role");
    if (!role.is_string()) return WrongType(role, at + ".role", "a string");
    if (!kRoles.count(role.get<std::string>())) {
      return Invalid("Invalid value: " + role.dump() +
                         ". Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
                     at + ".role", "invalid_value");
    }
    const json& content = Field(messages[i], "content");
    if (!content.is_null() && !content.is_string() && !content.is_array()) {
      return WrongType(content, at + ".content", "one of a string or array of objects");
    }
    std::string text = MessageText(content);
    all_text += text + "\n";
    if (role == "system" || role == "developer" || role == "user") prompt += (prompt.empty() ? "" : "\n") + text;
  }
  const json& temperature = Field(body, "temperature");
  if (!temperature.is_null()) {
    if (!temperature.is_number()) return WrongType(temperature, "temperature", "a decimal");
    double t = temperature.get<double>();
    if (t < 0 || t > 2) {
      return Invalid(std::string("Invalid 'temperature': decimal ") + (t < 0 ? "below minimum" : "above maximum") +
                         " value. Expected a value " + (t < 0 ? ">= 0" : "<= 2") + ", but got " + temperature.dump() +
                         " instead.",
                     "temperature", t < 0 ? "decimal_below_min_value" : "decimal_above_max_value");
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (auto error = CheckPositive(body, key)) return *error;
  }
  const json& stream = Field(body, "stream");
  if (!stream.is_null() && !stream.is_boolean()) return WrongType(stream, "stream", "a boolean");
  const json& format = Field(body, "response_format");
  std::string type = "text";
  if (!format.is_null()) {
    if (!format.is_object()) return WrongType(format, "response_format", "an object");
    const json& type_field = Field(format, "type");
    if (type_field.is_null()) return Missing("response_format.type");
    if (!type_field.is_string()) return WrongType(type_field, "response_format.type", "a string");
    type = type_field.get<std::string>();
    if (type == "json_schema") {
      const json& schema = Field(format, "json_schema");
      if (schema.is_null()) return Missing("response_format.json_schema");
      if (!schema.is_object()) return WrongType(schema, "response_format.json_schema", "an object");
      for (const char* key : {"name", "schema"}) {
        const json& value = Field(schema, key);
        const std::string param = std::string("response_format.json_schema.") + key;
        if (value.is_null()) return Missing(param);
        if (key == std::string("name") ? !value.is_string() : !value.is_object()) {
          return WrongType(value, param, key == std::string("name") ? "a string" : "an object");
        }
      }
      const json& strict = Field(schema, "strict");
      if (!strict.is_null() && !strict.is_boolean())
        return WrongType(strict, "response_format.json_schema.strict", "a boolean");
    } else if (type != "text" && type != "json_object") {
      return Invalid(
          "Invalid value: " + type_field.dump() + ". Supported values are: 'json_object', 'json_schema', and 'text'.",
          "response_format.type", "invalid_value");
    }
  }
  auto model = FindModel(state, name, LlmApi::kOpenAi);
  if (!model) return ModelNotFound(name);
  if (!model->can_chat) {
    return OpenAiError(404,
                       "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you "
                       "mean to use v1/completions?",
                       "invalid_request_error", "model", nullptr);
  }
  bool supported = true;
  {
    std::lock_guard lock(state.mu);
    supported = type == "json_schema" ? state.json_schema : type == "json_object" ? state.json_object : true;
  }
  if (!supported) {  // what OpenAI says for a model without the feature; vLLM and llama.cpp say much the same
    return Invalid("Invalid parameter: 'response_format' of type '" + type + "' is not supported with this model.",
                   "response_format", nullptr);
  }
  if (type == "json_object" && Lower(all_text).find("json") == std::string::npos) {
    return Invalid(
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
        "'json_object'.",
        "messages", nullptr);
  }
  ChatReply reply = RunScript(state, ChatCall{LlmApi::kOpenAi, name, body, prompt, format});
  MarkLoaded(state, CanonicalOllamaName(model->name), nullptr);
  const int prompt_tokens = reply.prompt_tokens.value_or(std::max(1, CountTokens(prompt)));
  const int completion_tokens = reply.completion_tokens.value_or(CountTokens(reply.content));
  const json usage = {{"prompt_tokens", prompt_tokens},
                      {"completion_tokens", completion_tokens},
                      {"total_tokens", prompt_tokens + completion_tokens}};
  const auto now = SystemClock::now();
  const std::string id = "chatcmpl-" + FakeDigest(body.dump() + Rfc3339(now)).substr(0, 29);
  json head = {{"id", id}, {"created", EpochSeconds(now)}, {"model", name}, {"system_fingerprint", "fp_fake"}};
  if (!stream.is_boolean() || !stream.get<bool>()) {
    json answer = head;
    answer["object"] = "chat.completion";
    answer["choices"] = {{{"index", 0},
                          {"message", {{"role", "assistant"}, {"content", reply.content}, {"refusal", nullptr}}},
                          {"logprobs", nullptr},
                          {"finish_reason", reply.finish_reason}}};
    answer["usage"] = usage;
    return JsonAnswer(200, answer);
  }
  const json& options = Field(body, "stream_options");
  const bool include_usage = options.is_object() && Field(options, "include_usage") == true;
  Answer answer;
  answer.content_type = "text/event-stream; charset=utf-8";
  auto event = [&](const json& delta, const json& finish_reason) {
    json chunk = head;
    chunk["object"] = "chat.completion.chunk";
    chunk["choices"] = {{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish_reason}}};
    if (include_usage) chunk["usage"] = nullptr;
    answer.stream.push_back("data: " + chunk.dump() + "\n\n");
  };
  event({{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, nullptr);
  for (const std::string& piece : StreamPieces(reply.content)) event({{"content", piece}}, nullptr);
  event(json::object(), reply.finish_reason);
  if (include_usage) {  // one more chunk, with no choices and the usage
    json chunk = head;
    chunk["object"] = "chat.completion.chunk";
    chunk["choices"] = json::array();
    chunk["usage"] = usage;
    answer.stream.push_back("data: " + chunk.dump() + "\n\n");
  }
  answer.stream.push_back("data: [DONE]\n\n");
  return answer;
}

}  // namespace

Answer OpenAiRoute(State& state, const Request& request) {
  if (request.path == "/v1/models") return Models(state);
  json body;
  try {
    body = json::parse(request.body);
  } catch (const json::parse_error&) {
    body = nullptr;
  }
  if (!body.is_object()) {
    return Invalid(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
        "JSON. If you have trouble figuring out how to fix this, please contact us through our help center "
        "at help.openai.com.)",
        nullptr, nullptr);
  }
  try {
    if (request.path == "/v1/embeddings") return Embeddings(state, body);
    return ChatCompletions(state, body);
  } catch (const json::exception& e) {  // a nested value of a type the checks above do not cover
    return Invalid(e.what(), nullptr, nullptr);
  }
}

}  // namespace refinery::testing::fake_llm

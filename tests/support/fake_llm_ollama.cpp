// FakeLlmServer's Ollama API (docs/api.md, 0.5+): /, /api/version,
// /api/tags, /api/ps, /api/embed, /api/embeddings, /api/chat, /api/pull.
// Error bodies are Ollama's {"error": "..."} with its texts.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/fake_llm_internal.h"

namespace refinery::testing::fake_llm {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

// Go's encoding/json text for a field of the wrong type, as Ollama answers it (400).
Answer TypeError(const json& value, const std::string& field, const std::string& go_type) {
  return OllamaError(
      400, "json: cannot unmarshal " + JsonType(value) + " into Go struct field " + field + " of type " + go_type);
}

Answer ModelNotFound(const std::string& name) {
  return OllamaError(404, "model \"" + name + "\" not found, try pulling it first");
}

// The required "model" field into `name`, or the error answer.
std::optional<Answer> RequireModel(const json& body, const std::string& go_struct, std::string& name) {
  const json& model = Field(body, "model");
  if (!model.is_null() && !model.is_string()) return TypeError(model, go_struct + ".model", "string");
  name = model.is_string() ? model.get<std::string>() : "";
  if (name.empty()) return OllamaError(400, "model is required");
  return std::nullopt;
}

long long Nanos(Steady::duration duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

long long ModelSize(const FakeModel& model) {
  long long spread = static_cast<long long>(std::stoull(FakeDigest(model.name).substr(0, 6), nullptr, 16));
  return model.can_chat ? 2'000'000'000 + spread : 270'000'000 + spread;
}

json Details(const FakeModel& model) {
  std::string family = model.can_chat ? "llama" : "nomic-bert";
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", family},
          {"families", {family}},
          {"parameter_size", model.can_chat ? "3.2B" : "137M"},
          {"quantization_level", model.can_chat ? "Q4_K_M" : "F16"}};
}

Answer Ndjson(const std::vector<json>& lines) {
  Answer answer;
  answer.content_type = "application/x-ndjson";
  for (const json& line : lines) answer.stream.push_back(line.dump() + "\n");
  return answer;
}

Answer Tags(State& state) {
  json models = json::array();
  std::lock_guard lock(state.mu);
  for (const FakeModel& model : state.models) {
    std::string name = CanonicalOllamaName(model.name);
    auto modified = state.modified_at.find(Lower(name));
    models.push_back(
        {{"name", name},
         {"model", name},
         {"modified_at", Rfc3339(modified == state.modified_at.end() ? SystemClock::now() : modified->second)},
         {"size", ModelSize(model)},
         {"digest", FakeDigest(name)},
         {"details", Details(model)}});
  }
  return JsonAnswer(200, {{"models", models}});
}

Answer Ps(State& state) {
  std::map<std::string, SystemClock::time_point> loaded;
  {
    std::lock_guard lock(state.mu);
    loaded = state.loaded;
  }
  json models = json::array();
  for (const auto& [name, expires] : loaded) {
    auto model = FindModel(state, name, LlmApi::kOllama);
    if (!model || expires <= SystemClock::now()) continue;
    models.push_back({{"name", name},
                      {"model", name},
                      {"size", ModelSize(*model)},
                      {"digest", FakeDigest(name)},
                      {"details", Details(*model)},
                      {"expires_at", Rfc3339(expires)},
                      {"size_vram", ModelSize(*model)}});
  }
  return JsonAnswer(200, {{"models", models}});
}

Answer Embed(State& state, const json& body) {
  auto start = Steady::now();
  std::string name;
  if (auto error = RequireModel(body, "EmbedRequest", name)) return *error;
  std::vector<std::string> inputs;
  const json& input = Field(body, "input");
  if (input.is_string()) {
    if (!input.get_ref<const std::string&>().empty()) inputs.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (const json& text : input) {
      if (!text.is_string()) return OllamaError(400, "invalid input type");
      inputs.push_back(text.get<std::string>());
    }
  } else if (!input.is_null()) {
    return OllamaError(400, "invalid input type");
  }
  const json& dimensions = Field(body, "dimensions");
  if (!dimensions.is_null() && !dimensions.is_number_integer()) {
    return TypeError(dimensions, "EmbedRequest.dimensions", "int");
  }
  auto model = FindModel(state, name, LlmApi::kOllama);
  if (!model) return ModelNotFound(name);
  MarkLoaded(state, CanonicalOllamaName(model->name), Field(body, "keep_alive"));
  if (inputs.empty()) return JsonAnswer(200, {{"model", name}, {"embeddings", json::array()}});
  std::string embeddings;
  int tokens = 0;
  for (const std::string& text : inputs) {
    if (!embeddings.empty()) embeddings += ',';
    embeddings += VectorText(EmbedText(*model, text, dimensions.is_null() ? 0 : dimensions.get<int64_t>()));
    tokens += std::max(1, CountTokens(text));
  }
  CountEmbedded(state, inputs.size());
  long long total = Nanos(Steady::now() - start);
  Answer answer;  // {"model", "embeddings", "total_duration", "load_duration", "prompt_eval_count"}, as Ollama writes it
  answer.body = "{\"model\":" + json(name).dump() + ",\"embeddings\":[" + embeddings +
                "],\"total_duration\":" + std::to_string(total) + ",\"load_duration\":" + std::to_string(total / 10) +
                ",\"prompt_eval_count\":" + std::to_string(tokens) + "}";
  return answer;
}

// The pre-0.3 endpoint, still served: one text, {"embedding": [...]}.
Answer LegacyEmbeddings(State& state, const json& body) {
  std::string name;
  if (auto error = RequireModel(body, "EmbeddingRequest", name)) return *error;
  const json& prompt = Field(body, "prompt");
  if (!prompt.is_null() && !prompt.is_string()) return TypeError(prompt, "EmbeddingRequest.prompt", "string");
  auto model = FindModel(state, name, LlmApi::kOllama);
  if (!model) return ModelNotFound(name);
  MarkLoaded(state, CanonicalOllamaName(model->name), Field(body, "keep_alive"));
  std::string text = prompt.is_string() ? prompt.get<std::string>() : "";
  if (text.empty())
    return JsonAnswer(200, {{"embedding", json::array()}});  // Ollama: "an empty request loads the model"
  std::vector<float> vector = EmbedText(*model, text, 0);
  CountEmbedded(state, 1);
  return JsonAnswer(200, {{"embedding", VectorJson(vector)}});
}

Answer Chat(State& state, const json& body) {
  auto start = Steady::now();
  std::string name;
  if (auto error = RequireModel(body, "ChatRequest", name)) return *error;
  const json& messages = Field(body, "messages");
  if (messages.is_null()) return OllamaError(400, "messages is required");
  if (!messages.is_array()) return TypeError(messages, "ChatRequest.messages", "[]api.Message");
  std::string prompt;
  for (const json& message : messages) {
    if (!message.is_object()) return TypeError(message, "ChatRequest.messages", "api.Message");
    const json& role = Field(message, "role");
    const json& content = Field(message, "content");
    if (!role.is_null() && !role.is_string()) return TypeError(role, "ChatRequest.messages.role", "string");
    if (!content.is_null() && !content.is_string()) return TypeError(content, "ChatRequest.messages.content", "string");
    if ((role == "system" || role == "user") && content.is_string()) {
      prompt += (prompt.empty() ? "" : "\n") + content.get<std::string>();
    }
  }
  const json& format = Field(body, "format");
  if (!format.is_null() && format != "" && format != "json" && !format.is_object()) {
    return OllamaError(400, "invalid format: " + format.dump() + "; expected \"json\" or a valid JSON Schema");
  }
  const json& stream = Field(body, "stream");
  if (!stream.is_null() && !stream.is_boolean()) return TypeError(stream, "ChatRequest.stream", "bool");
  const json& think = Field(body, "think");
  bool thinks = think.is_boolean() && think.get<bool>();
  if (think.is_string()) {
    if (think != "high" && think != "medium" && think != "low") {
      return OllamaError(
          400, "invalid think value: " + think.dump() + " (must be \"high\", \"medium\", \"low\", true, or false)");
    }
    thinks = true;
  } else if (!think.is_null() && !think.is_boolean()) {
    return TypeError(think, "ChatRequest.think", "api.ThinkValue");
  }
  const json& options = Field(body, "options");
  if (!options.is_null() && !options.is_object())
    return TypeError(options, "ChatRequest.options", "map[string]interface {}");
  auto model = FindModel(state, name, LlmApi::kOllama);
  if (!model) return ModelNotFound(name);
  if (!model->can_chat) return OllamaError(400, "\"" + name + "\" does not support chat");
  if (thinks && !model->can_think) return OllamaError(400, "\"" + name + "\" does not support thinking");
  const std::string canonical = CanonicalOllamaName(model->name);
  const std::string now = Rfc3339(SystemClock::now());
  const json empty_message = {{"role", "assistant"}, {"content", ""}};
  if (messages.empty()) {  // Ollama's "load a model" request (or unload, with keep_alive 0)
    bool loaded = MarkLoaded(state, canonical, Field(body, "keep_alive"));
    return JsonAnswer(200, {{"model", name},
                            {"created_at", now},
                            {"message", empty_message},
                            {"done_reason", loaded ? "load" : "unload"},
                            {"done", true}});
  }
  ChatReply reply = RunScript(state, ChatCall{LlmApi::kOllama, name, body, prompt, format});
  MarkLoaded(state, canonical, Field(body, "keep_alive"));
  if (!thinks) reply.thinking.clear();
  long long total = Nanos(Steady::now() - start);
  json stats = {
      {"done_reason", reply.finish_reason},
      {"done", true},
      {"total_duration", total},
      {"load_duration", total / 10},
      {"prompt_eval_count", reply.prompt_tokens.value_or(std::max(1, CountTokens(prompt)))},
      {"prompt_eval_duration", total / 5},
      {"eval_count", reply.completion_tokens.value_or(CountTokens(reply.content) + CountTokens(reply.thinking))},
      {"eval_duration", total / 2}};
  if (stream.is_boolean() && !stream.get<bool>()) {
    json message = {{"role", "assistant"}, {"content", reply.content}};
    if (!reply.thinking.empty()) message["thinking"] = reply.thinking;
    json answer = {{"model", name}, {"created_at", now}, {"message", message}};
    answer.update(stats);
    return JsonAnswer(200, answer);
  }
  std::vector<json> lines;
  for (const std::string& piece : StreamPieces(reply.thinking)) {
    lines.push_back({{"model", name},
                     {"created_at", now},
                     {"message", {{"role", "assistant"}, {"content", ""}, {"thinking", piece}}},
                     {"done", false}});
  }
  for (const std::string& piece : StreamPieces(reply.content)) {
    lines.push_back({{"model", name},
                     {"created_at", now},
                     {"message", {{"role", "assistant"}, {"content", piece}}},
                     {"done", false}});
  }
  json last = {{"model", name}, {"created_at", now}, {"message", empty_message}};
  last.update(stats);
  lines.push_back(last);
  return Ndjson(lines);
}

Answer Pull(State& state, const json& body) {
  const json& model_field = Field(body, "model");
  const json& name_field = Field(body, "name");
  for (const char* key : {"model", "name"}) {
    const json& value = Field(body, key);
    if (!value.is_null() && !value.is_string()) return TypeError(value, std::string("PullRequest.") + key, "string");
  }
  std::string name = model_field.is_string() ? model_field.get<std::string>() : "";
  if (name.empty() && name_field.is_string()) name = name_field.get<std::string>();
  if (name.empty()) return OllamaError(400, "model is required");
  const json& stream = Field(body, "stream");
  if (!stream.is_null() && !stream.is_boolean()) return TypeError(stream, "PullRequest.stream", "bool");
  const bool streaming = !stream.is_boolean() || stream.get<bool>();
  std::optional<FakeModel> found;
  {
    std::lock_guard lock(state.mu);
    for (const FakeModel& model : state.pullable) {
      if (Lower(CanonicalOllamaName(model.name)) == Lower(CanonicalOllamaName(name))) found = model;
    }
  }
  const std::string missing = "pull model manifest: file does not exist";
  if (!found) {  // streamed: the error arrives as a line after a 200, as Ollama sends it
    return streaming ? Ndjson({{{"status", "pulling manifest"}}, {{"error", missing}}}) : OllamaError(500, missing);
  }
  if (!streaming) {
    PutModel(state, *found);
    return JsonAnswer(200, {{"status", "success"}});
  }
  std::string digest = FakeDigest(CanonicalOllamaName(found->name));
  long long total = ModelSize(*found);
  std::vector<json> lines = {{{"status", "pulling manifest"}}};
  for (long long completed : {0LL, total / 2, total}) {
    lines.push_back({{"status", "pulling " + digest.substr(0, 12)},
                     {"digest", "sha256:" + digest},
                     {"total", total},
                     {"completed", completed}});
  }
  for (const char* status : {"verifying sha256 digest", "writing manifest", "success"}) {
    lines.push_back({{"status", status}});
  }
  Answer answer = Ndjson(lines);
  answer.before_last_chunk = [&state, model = *found] { PutModel(state, model); };
  return answer;
}

}  // namespace

Answer OllamaRoute(State& state, const Request& request) {
  const std::string& path = request.path;
  if (path == "/") return TextAnswer(200, "Ollama is running");
  if (path == "/api/version") {
    std::lock_guard lock(state.mu);
    return JsonAnswer(200, {{"version", state.version}});
  }
  if (path == "/api/tags") return Tags(state);
  if (path == "/api/ps") return Ps(state);
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return OllamaError(400, "missing request body");
  json body;
  try {
    body = json::parse(request.body);
  } catch (const json::parse_error& e) {
    return OllamaError(400, e.what());
  }
  if (!body.is_object())
    return OllamaError(400, "json: cannot unmarshal " + JsonType(body) + " into Go value of type api.Request");
  try {
    if (path == "/api/embed") return Embed(state, body);
    if (path == "/api/embeddings") return LegacyEmbeddings(state, body);
    if (path == "/api/chat") return Chat(state, body);
    return Pull(state, body);
  } catch (const json::exception& e) {  // a nested value of a type the checks above do not cover
    return OllamaError(400, e.what());
  }
}

}  // namespace refinery::testing::fake_llm

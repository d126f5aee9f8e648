// FakeLlmServer's dispatch (API key, 404, 405), fault bodies and the helpers
// both APIs' routes share: model lookup, deterministic embeddings, times.
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "support/fake_llm_internal.h"

namespace refinery::testing::fake_llm {
namespace {

using nlohmann::json;

struct RouteSpec {
  std::string_view path;
  std::string_view method;
};

// Every path the fake serves, with its method. Ollama's root answers HEAD
// too: clients probe it to see whether the server is up.
constexpr RouteSpec kRoutes[] = {
    {"/", "GET"},          {"/", "HEAD"},          {"/api/version", "GET"},     {"/api/tags", "GET"},
    {"/api/ps", "GET"},    {"/api/embed", "POST"}, {"/api/embeddings", "POST"}, {"/api/chat", "POST"},
    {"/api/pull", "POST"}, {"/v1/models", "GET"},  {"/v1/embeddings", "POST"},  {"/v1/chat/completions", "POST"},
};

// splitmix64: spreads a 64-bit state into well-mixed bits.
uint64_t Mix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

// Ollama's duration forms: seconds as a number, or Go's "30s", "5m", "1h";
// negative = forever. nullopt when unparseable.
std::optional<std::chrono::seconds> KeepAlive(const json& value) {
  using std::chrono::seconds;
  if (value.is_null()) return seconds(300);
  double amount = 0;
  if (value.is_number()) {
    amount = value.get<double>();
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    size_t used = 0;
    try {
      amount = std::stod(text, &used);
    } catch (const std::logic_error&) {  // invalid_argument, out_of_range
      return std::nullopt;
    }
    std::string unit = text.substr(used);
    if (unit == "ms") {
      amount /= 1000;
    } else if (unit == "m") {
      amount *= 60;
    } else if (unit == "h") {
      amount *= 3600;
    } else if (unit != "s" && !(unit.empty() && amount == 0)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (amount < 0) return seconds(100LL * 365 * 24 * 3600);
  return seconds(static_cast<long long>(std::ceil(amount)));
}

}  // namespace

Answer JsonAnswer(int status, const json& body) {
  Answer answer;
  answer.status = status;
  answer.body = body.dump();
  return answer;
}

Answer TextAnswer(int status, std::string text) {
  Answer answer;
  answer.status = status;
  answer.content_type = "text/plain";
  answer.body = std::move(text);
  return answer;
}

std::string WholeBody(const Answer& answer) {
  if (answer.stream.empty()) return answer.body;
  std::string body;
  for (const std::string& chunk : answer.stream) body += chunk;
  return body;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string CanonicalOllamaName(const std::string& name) {
  size_t slash = name.rfind('/');
  size_t colon = name.find(':', slash == std::string::npos ? 0 : slash);
  return colon == std::string::npos ? name + ":latest" : name;
}

std::optional<FakeModel> FindModel(State& state, const std::string& name, LlmApi api) {
  std::string key = Lower(CanonicalOllamaName(name));
  std::lock_guard lock(state.mu);
  for (const FakeModel& model : state.models) {
    if (api == LlmApi::kOpenAi ? model.name == name : Lower(CanonicalOllamaName(model.name)) == key) return model;
  }
  return std::nullopt;
}

void PutModel(State& state, FakeModel model) {
  std::string key = Lower(CanonicalOllamaName(model.name));
  std::lock_guard lock(state.mu);
  std::erase_if(state.models, [&](const FakeModel& m) { return Lower(CanonicalOllamaName(m.name)) == key; });
  state.models.push_back(std::move(model));
  state.modified_at[key] = SystemClock::now();
}

void DropModel(State& state, const std::string& name) {
  std::string key = Lower(CanonicalOllamaName(name));
  std::lock_guard lock(state.mu);
  std::erase_if(state.models, [&](const FakeModel& m) { return Lower(CanonicalOllamaName(m.name)) == key; });
  state.modified_at.erase(key);
  std::erase_if(state.loaded, [&](const auto& entry) { return Lower(entry.first) == key; });
}

bool MarkLoaded(State& state, const std::string& canonical_name, const json& keep_alive) {
  auto duration = KeepAlive(keep_alive).value_or(std::chrono::seconds(300));
  std::lock_guard lock(state.mu);
  if (duration.count() == 0) {
    state.loaded.erase(canonical_name);  // keep_alive 0: unloaded once answered
    return false;
  }
  state.loaded[canonical_name] = SystemClock::now() + duration;
  return true;
}

void CountEmbedded(State& state, size_t texts) {
  std::lock_guard lock(state.mu);
  state.texts_embedded += static_cast<int64_t>(texts);
}

ChatReply RunScript(State& state, const ChatCall& call) {
  ChatScript script;
  {
    std::lock_guard lock(state.mu);
    script = state.script;
  }
  return script ? script(call) : ChatReply{};
}

std::vector<float> FakeEmbedding(const std::string& model, const std::string& text, int dimension) {
  std::vector<double> values(static_cast<size_t>(std::max(dimension, 0)));
  uint64_t state = Fnv1a(model) ^ (Fnv1a(text) * 0x9E3779B97F4A7C15ull);
  double sum = 0;
  for (double& v : values) {
    v = static_cast<double>(Mix(state) >> 11) * 0x1.0p-52 - 1.0;  // uniform in [-1, 1)
    sum += v * v;
  }
  double norm = std::sqrt(sum);
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(norm > 0 ? values[i] / norm : i == 0);
  return out;
}

json VectorJson(const std::vector<float>& vector) {
  json out = json::array();
  for (float v : vector) {
    char text[32];
    auto printed = std::to_chars(text, text + sizeof text, v);  // shortest float32 decimal
    double widened = v;
    std::from_chars(text, printed.ptr, widened);  // the double that prints as that decimal
    out.push_back(widened);
  }
  return out;
}

std::string VectorText(const std::vector<float>& vector) {
  std::string out = "[";
  out.reserve(vector.size() * 12 + 2);
  char text[32];
  for (size_t i = 0; i < vector.size(); ++i) {
    if (i > 0) out += ',';
    out.append(text, std::to_chars(text, text + sizeof text, vector[i]).ptr);
  }
  return out + "]";
}

std::vector<float> EmbedText(const FakeModel& model, const std::string& text, int64_t dimensions) {
  std::vector<float> full = FakeEmbedding(Lower(CanonicalOllamaName(model.name)), text, model.dimension);
  if (dimensions <= 0 || dimensions >= model.dimension) return full;
  full.resize(static_cast<size_t>(dimensions));
  double sum = 0;
  for (float v : full) sum += static_cast<double>(v) * v;
  double norm = std::sqrt(sum);
  for (float& v : full) v = static_cast<float>(norm > 0 ? v / norm : 0);
  return full;
}

int CountTokens(const std::string& text) {
  int words = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    bool space = std::isspace(c) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::string FakeDigest(const std::string& seed) {
  uint64_t state = Fnv1a(seed);
  std::string hex;
  char part[17];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(part, sizeof part, "%016llx", static_cast<unsigned long long>(Mix(state)));
    hex += part;
  }
  return hex;
}

std::string Rfc3339(SystemClock::time_point when) {
  auto since_epoch = when.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  long long nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count();
  time_t t = static_cast<time_t>(secs.count());
  tm utc{};
  gmtime_r(&t, &utc);
  char text[64];
  size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out(text, length);
  if (nanos > 0) {  // Go's RFC3339Nano: the fraction without trailing zeros
    char fraction[32];
    std::snprintf(fraction, sizeof fraction, ".%09lld", nanos);
    std::string f(fraction);
    f.erase(f.find_last_not_of('0') + 1);
    out += f;
  }
  return out + "Z";
}

const json& Field(const json& object, const char* key) {
  static const json kAbsent;  // immutable: stands for a missing field
  auto it = object.find(key);
  return it == object.end() ? kAbsent : *it;
}

std::string JsonType(const json& value) {
  if (value.is_string()) return "string";
  if (value.is_number()) return "number";
  if (value.is_boolean()) return "bool";
  if (value.is_array()) return "array";
  return value.is_null() ? "null" : "object";
}

std::vector<std::string> StreamPieces(const std::string& text) {
  std::vector<std::string> pieces;
  size_t start = 0;
  for (size_t i = 1; i <= text.size(); ++i) {
    bool boundary = i == text.size() || (std::isspace(static_cast<unsigned char>(text[i - 1])) &&
                                         !std::isspace(static_cast<unsigned char>(text[i])));
    if (boundary && i > start) {
      pieces.push_back(text.substr(start, i - start));
      start = i;
    }
  }
  return pieces;
}

std::string MessageText(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const json& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
      }
    }
  }
  return text;
}

Answer OllamaError(int status, const std::string& message) { return JsonAnswer(status, {{"error", message}}); }

Answer OpenAiError(int status, const std::string& message, const std::string& type, const json& param,
                   const json& code) {
  return JsonAnswer(status, {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}});
}

Answer Route(State& state, const Request& request) {
  const bool openai = request.path == "/v1" || request.path.starts_with("/v1/");
  std::string api_key;
  bool embed_endpoint;
  {
    std::lock_guard lock(state.mu);
    api_key = state.api_key;
    embed_endpoint = state.embed_endpoint;
  }
  if (openai && !api_key.empty()) {  // OpenAI checks the key before the path
    auto it = request.headers.find("authorization");
    if (it == request.headers.end() || !Lower(it->second).starts_with("bearer ")) {
      return OpenAiError(401,
                         "You didn't provide an API key. You need to provide your API key in an Authorization header "
                         "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
                         "blank username) if you're accessing the API from your browser and are prompted for a "
                         "username and password. You can obtain an API key from "
                         "https://platform.openai.com/account/api-keys.",
                         "invalid_request_error", nullptr, nullptr);
    }
    std::string given = it->second.substr(7);
    if (given != api_key) {
      std::string shown = given.size() > 8
                              ? given.substr(0, 3) + std::string(given.size() - 7, '*') + given.substr(given.size() - 4)
                              : std::string(given.size(), '*');
      return OpenAiError(401,
                         "Incorrect API key provided: " + shown +
                             ". You can find your API key at https://platform.openai.com/account/api-keys.",
                         "invalid_request_error", nullptr, "invalid_api_key");
    }
  }
  bool known_path = false;
  bool method_ok = false;
  for (const RouteSpec& route : kRoutes) {
    if (route.path != request.path || (route.path == "/api/embed" && !embed_endpoint)) continue;
    known_path = true;
    method_ok = method_ok || route.method == request.method;
  }
  if (!known_path) {
    if (openai) {
      return OpenAiError(404, "Invalid URL (" + request.method + " " + request.path + ")", "invalid_request_error",
                         nullptr, nullptr);
    }
    return TextAnswer(404, "404 page not found");  // Go's http.NotFound text, as Ollama sends it
  }
  if (!method_ok) {
    if (openai) {
      return OpenAiError(405, "Invalid method for URL (" + request.method + " " + request.path + ")",
                         "invalid_request_error", nullptr, nullptr);
    }
    return TextAnswer(405, "405 method not allowed");
  }
  return openai ? OpenAiRoute(state, request) : OllamaRoute(state, request);
}

Answer FaultAnswer(const Fault& fault, const std::string& path) {
  if (!fault.body.empty()) {
    Answer answer = JsonAnswer(fault.status, nullptr);
    answer.body = fault.body;
    if (fault.body[0] != '{' && fault.body[0] != '[') answer.content_type = "text/plain";
    return answer;
  }
  const bool openai = path.starts_with("/v1/");
  switch (fault.status) {
    case 429:
      return openai ? OpenAiError(429, "Rate limit reached for requests", "requests", nullptr, "rate_limit_exceeded")
                    : OllamaError(429, "server busy, please try again.  maximum pending requests exceeded");
    case 503:
      return openai ? OpenAiError(503, "The server is overloaded or not ready yet.", "server_error", nullptr, nullptr)
                    : OllamaError(503, "server busy, please try again.  maximum pending requests exceeded");
    default:
      if (openai) {
        return OpenAiError(fault.status, "The server had an error while processing your request. Sorry about that!",
                           fault.status >= 500 ? "server_error" : "invalid_request_error", nullptr, nullptr);
      }
      return OllamaError(fault.status, "fake fault: HTTP " + std::to_string(fault.status));
  }
}

}  // namespace refinery::testing::fake_llm

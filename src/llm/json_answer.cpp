#include "llm/json_answer.h"

#include <cctype>
#include <cmath>
#include <optional>
#include <regex>

#include "core/json_depth.h"

namespace refinery {
namespace {

using nlohmann::json;

constexpr size_t kMaxDepth = 64;
constexpr int kMaxObjectStarts = 16;  // the later '{'s tried when the first does not open the answer
constexpr size_t kQuoteChars = 160;

std::string Quote(std::string_view text) {
  std::string q(text.substr(0, kQuoteChars));
  for (char& c : q) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return "\"" + q + (text.size() > kQuoteChars ? "...\"" : "\"");
}

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Drops every <think>...</think>; an unclosed one runs to the end.
std::string DropThinking(std::string_view s) {
  std::string out;
  for (;;) {
    const size_t open = s.find("<think>");
    if (open == std::string_view::npos) break;
    out.append(s.substr(0, open));
    const size_t close = s.find("</think>", open);
    if (close == std::string_view::npos) return out;
    s.remove_prefix(close + 8);
  }
  out.append(s);
  return out;
}

// The inside of the first ``` fence (its language tag dropped), or `s`.
std::string_view InsideFence(std::string_view s) {
  const size_t open = s.find("```");
  if (open == std::string_view::npos) return s;
  size_t body = s.find('\n', open);
  if (body == std::string_view::npos) return s;
  const size_t close = s.find("```", body);
  return s.substr(body + 1, close == std::string_view::npos ? std::string_view::npos : close - body - 1);
}

// From the first '{' at or after `from` to the brace that closes it
// (strings of either quote skipped), or empty.
std::string_view BalancedObject(std::string_view s, size_t from = 0) {
  const size_t start = s.find('{', from);
  if (start == std::string_view::npos) return {};
  int depth = 0;
  char quote = 0;
  for (size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return s.substr(start, i - start + 1);
    }
  }
  return {};
}

bool WordAt(std::string_view s, size_t i, std::string_view word) {
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  return s.substr(i, word.size()) == word && (i == 0 || !ident(s[i - 1])) &&
         (i + word.size() >= s.size() || !ident(s[i + word.size()]));
}

// A Python literal as JSON: 'x' -> "x", True/False/None, trailing commas.
std::string PythonToJson(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'') {
      out += '"';
      for (++i; i < s.size() && s[i] != c; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          if (s[i + 1] == '\'') out += '\'';
          else out.append(s.substr(i, 2));
          ++i;
        } else if (s[i] == '"') {
          out += "\\\"";
        } else {
          out += s[i];
        }
      }
      out += '"';
    } else if (WordAt(s, i, "True") || WordAt(s, i, "None")) {
      out += s[i] == 'T' ? "true" : "null";
      i += 3;
    } else if (WordAt(s, i, "False")) {
      out += "false";
      i += 4;
    } else if (c == '}' || c == ']') {
      const size_t last = out.find_last_not_of(" \t\r\n");
      if (last != std::string::npos && out[last] == ',') out.erase(last, 1);
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<json> ParseObject(std::string_view text) {
  if (text.empty() || !JsonDepthWithin(text, kMaxDepth)) return std::nullopt;
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  return parsed;
}

}  // namespace

Result<json> ParseJsonAnswer(std::string_view answer) {
  if (Trim(answer).empty()) return Status::InvalidArgument("the model's answer is empty");
  const std::string thought = DropThinking(answer);
  const std::string_view rest = Trim(thought);
  if (rest.empty()) return Status::InvalidArgument("the model's answer holds only its thinking, no JSON object");
  if (!JsonDepthWithin(rest, kMaxDepth)) {
    return Status::InvalidArgument("the model's answer nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  const std::string_view fenced = Trim(InsideFence(rest));
  for (std::string_view candidate : {rest, fenced, BalancedObject(fenced), BalancedObject(rest)}) {
    if (auto parsed = ParseObject(candidate)) return *parsed;
  }
  // Prose may hold a brace before the answer ("I {think} ..."): each later
  // '{' in turn, a bounded number of them (each try reads the text once).
  size_t from = rest.find('{');
  for (int tries = 0; tries < kMaxObjectStarts && from != std::string_view::npos; ++tries) {
    from = rest.find('{', from + 1);
    if (from == std::string_view::npos) break;
    if (auto parsed = ParseObject(BalancedObject(rest, from))) return *parsed;
  }
  const std::string_view object = BalancedObject(fenced);
  if (auto parsed = ParseObject(PythonToJson(object.empty() ? fenced : object))) return *parsed;
  return Status::InvalidArgument("the model's answer holds no JSON object: " + Quote(rest));
}

namespace {

std::string TypeOf(const json& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_null()) return "null";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number_float()) return std::floor(v.get<double>()) == v.get<double>() ? "integer" : "number";
  return "unknown";
}

bool HasType(const json& v, const std::string& type) {
  const std::string actual = TypeOf(v);
  return actual == type || (type == "number" && actual == "integer");
}

std::string Show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

std::string At(const std::string& path) { return path.empty() ? "the answer" : path; }

Status Check(const json& v, const json& schema, const std::string& path);

Status CheckObject(const json& v, const json& schema, const std::string& path) {
  if (schema.contains("required") && schema["required"].is_array()) {
    for (const json& key : schema["required"]) {
      if (key.is_string() && !v.contains(key.get<std::string>())) {
        return Status::InvalidArgument(At(path) + ": the required field \"" + key.get<std::string>() + "\" is missing");
      }
    }
  }
  if (!schema.contains("properties") || !schema["properties"].is_object()) return Status::Ok();
  for (const auto& [key, sub] : schema["properties"].items()) {
    if (v.contains(key)) REFINERY_RETURN_IF_ERROR(Check(v[key], sub, path.empty() ? key : path + "." + key));
  }
  return Status::Ok();
}

Status CheckArray(const json& v, const json& schema, const std::string& path) {
  if (schema.contains("minItems") && v.size() < schema["minItems"].get<size_t>()) {
    return Status::InvalidArgument(At(path) + ": fewer than " + schema["minItems"].dump() + " items");
  }
  if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<size_t>()) {
    return Status::InvalidArgument(At(path) + ": more than " + schema["maxItems"].dump() + " items");
  }
  if (!schema.contains("items") || !schema["items"].is_object()) return Status::Ok();
  for (size_t i = 0; i < v.size(); ++i) {
    REFINERY_RETURN_IF_ERROR(Check(v[i], schema["items"], path + "[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Status CheckScalar(const json& v, const json& schema, const std::string& path) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (schema.contains("maxLength") && s.size() > schema["maxLength"].get<size_t>()) {
      return Status::InvalidArgument(At(path) + ": longer than " + schema["maxLength"].dump() + " characters");
    }
    if (schema.contains("pattern") && schema["pattern"].is_string()) {
      const std::regex pattern(schema["pattern"].get<std::string>(), std::regex::ECMAScript);
      if (!std::regex_search(s, pattern)) {
        return Status::InvalidArgument(At(path) + ": " + Show(v) + " does not match " +
                                       schema["pattern"].get<std::string>());
      }
    }
  }
  if (v.is_number()) {
    const double x = v.get<double>();
    if (schema.contains("minimum") && x < schema["minimum"].get<double>()) {
      return Status::InvalidArgument(At(path) + ": " + Show(v) + " is below the minimum " + schema["minimum"].dump());
    }
    if (schema.contains("maximum") && x > schema["maximum"].get<double>()) {
      return Status::InvalidArgument(At(path) + ": " + Show(v) + " is above the maximum " + schema["maximum"].dump());
    }
  }
  return Status::Ok();
}

Status Check(const json& v, const json& schema, const std::string& path) {
  if (!schema.is_object()) return Status::Ok();
  if (schema.contains("type")) {
    const json& type = schema["type"];
    bool ok = type.is_string() ? HasType(v, type.get<std::string>()) : !type.is_array();
    if (type.is_array()) {
      for (const json& t : type) ok = ok || (t.is_string() && HasType(v, t.get<std::string>()));
    }
    if (!ok) return Status::InvalidArgument(At(path) + ": expected " + type.dump() + ", got " + TypeOf(v));
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    bool listed = false;
    for (const json& allowed : schema["enum"]) listed = listed || allowed == v;
    if (!listed) return Status::InvalidArgument(At(path) + ": " + Show(v) + " is not one of " + Show(schema["enum"]));
  }
  if (v.is_object()) return CheckObject(v, schema, path);
  if (v.is_array()) return CheckArray(v, schema, path);
  return CheckScalar(v, schema, path);
}

}  // namespace

Status CheckAgainstSchema(const json& value, const json& schema) { return Check(value, schema, ""); }

}  // namespace refinery

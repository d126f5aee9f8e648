#include "knowledge/llm_prompts.h"

#include <algorithm>

namespace refinery {

std::string FillPrompt(std::string_view tmpl, const std::map<std::string, std::string_view>& values) {
  std::string out;
  out.reserve(tmpl.size());
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const size_t close = tmpl.find('}', i);
      if (close != std::string_view::npos) {
        auto it = values.find(std::string(tmpl.substr(i + 1, close - i - 1)));
        if (it != values.end()) {
          out.append(it->second);
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& label : labels) out += (out.empty() ? "" : ", ") + label;
  return out;
}

nlohmann::json EvaluationSchema(const Profile& profile, const std::vector<std::string>& labels) {
  nlohmann::json schema = nlohmann::json::parse(profile.evaluate.schema, nullptr, false);
  if (!schema.is_object()) schema = nlohmann::json::object();  // checked at load; an empty one gets ours
  schema["type"] = "object";
  nlohmann::json& props = schema["properties"];
  if (!props.is_object()) props = nlohmann::json::object();
  for (const char* score : {"trust_score", "relevance_score"}) {
    props[score]["type"] = "number";
    props[score]["minimum"] = 0;
    props[score]["maximum"] = 1;
  }
  props["domain"] = {{"type", "string"}, {"enum", labels}};
  props["reasoning"]["type"] = "string";
  nlohmann::json required = schema.contains("required") && schema["required"].is_array() ? schema["required"]
                                                                                         : nlohmann::json::array();
  for (const char* field : {"trust_score", "relevance_score", "domain", "reasoning"}) {
    if (std::find(required.begin(), required.end(), field) == required.end()) required.push_back(field);
  }
  schema["required"] = required;
  return schema;
}

}  // namespace refinery

// The LLM extractor: the profile's [llm.extract] prompt and schema sent to
// the reasoning server; each entity type reads its items from the answer
// array its profile entry names (llm_list). The answer is checked and
// repaired once (AskStructured); then every item is held to the profile as
// the rule extractors' findings are: keys normalised and matched against
// the type's pattern, fields typed, and a top-level key must appear in the
// passage (a model that invents a trouble code is not a source).
#include <algorithm>
#include <map>
#include <optional>
#include <regex>

#include "knowledge/extractor.h"
#include "knowledge/llm_prompts.h"
#include "knowledge/resolver.h"

namespace refinery {
namespace {

using nlohmann::json;

// The position of `needle` in `text`, ASCII case folded; npos if absent.
size_t FindFolded(std::string_view text, std::string_view needle) {
  if (needle.empty() || needle.size() > text.size()) return std::string_view::npos;
  auto lower = [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); };
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it == text.end() ? std::string_view::npos : static_cast<size_t>(it - text.begin());
}

// A field of an item as its kind wants it; null when it does not fit.
json Typed(const EntityField& field, const json& value) {
  if (field.kind == "text") return value.is_string() ? value : json();
  if (field.kind == "integer") return value.is_number_integer() ? value : json();
  if (field.kind == "number") return value.is_number() ? value : json();
  if (field.kind == "enum") {
    const bool listed = value.is_string() &&
                        std::find(field.values.begin(), field.values.end(), value.get<std::string>()) != field.values.end();
    return listed ? value : json();
  }
  if (!value.is_array()) return json();  // list: the strings of it
  json out = json::array();
  for (const json& v : value) {
    if (v.is_string()) out.push_back(v);
  }
  return out;
}

class LlmExtractor final : public Extractor {
 public:
  LlmExtractor(std::shared_ptr<const Profile> profile, std::shared_ptr<ChatModel> model, AnswerCache* cache)
      : profile_(std::move(profile)), model_(std::move(model)), cache_(cache),
        schema_(json::parse(profile_->extract.schema)) {
    for (const EntityTypeDef& def : profile_->entities) {  // compiled once: a regex costs more than a match
      if (!def.key_pattern.empty()) patterns_.emplace(def.name, std::regex(def.key_pattern, std::regex::ECMAScript));
    }
  }

  std::string Name() const override { return model_->Name(); }

  Result<std::vector<ExtractedEntity>> Extract(std::string_view text) override {
    ChatRequest request;
    request.schema = schema_;
    request.schema_name = "extraction";
    request.messages = {{"system", profile_->extract.system},
                        {"user", FillPrompt(profile_->extract.prompt, {{"text", text}, {"schema", schema_.dump()}})}};
    auto answer = AskStructured(*model_, request, cache_, nullptr);
    if (!answer.ok()) return answer.status();
    std::vector<ExtractedEntity> out;
    for (const EntityTypeDef& def : profile_->entities) {
      if (def.llm_list.empty() || !answer->value.contains(def.llm_list)) continue;
      const json& items = answer->value[def.llm_list];
      if (!items.is_array()) continue;
      for (const json& item : items) {
        if (auto entity = Read(def, item, text)) out.push_back(std::move(*entity));
      }
    }
    std::stable_sort(out.begin(), out.end(), [](const ExtractedEntity& a, const ExtractedEntity& b) {
      return a.start < b.start;
    });
    return out;
  }

 private:
  // One item as an entity of `def`; nullopt when it does not hold up.
  std::optional<ExtractedEntity> Read(const EntityTypeDef& def, const json& item, std::string_view text) const {
    const json fields = item.is_string() ? json{{def.key_field, item}} : item;
    if (!fields.is_object() || !When(def, fields)) return std::nullopt;
    const std::string key_field = def.llm_key.empty() ? def.key_field : def.llm_key;
    if (!fields.contains(key_field) || !fields[key_field].is_string()) return std::nullopt;
    const std::string raw = fields[key_field].get<std::string>();
    ExtractedEntity e;
    e.type = def.name;
    for (const EntityField& f : def.fields) {
      if (!fields.contains(f.name)) continue;
      json v = Typed(f, fields[f.name]);
      if (!v.is_null()) e.attributes[f.name] = std::move(v);
    }
    e.attributes[def.key_field] = raw;
    const size_t at = FindFolded(text, raw);
    if (def.llm_parent.empty()) {
      e.key = NormaliseKey(def, raw);
      if (at == std::string_view::npos) return std::nullopt;  // not in the passage: invented
    } else {
      const std::string parent_type = def.llm_parent.substr(0, def.llm_parent.find(':'));
      const std::string parent_field = def.llm_parent.substr(def.llm_parent.find(':') + 1);
      const EntityTypeDef* parent = profile_->FindEntity(parent_type);
      if (parent == nullptr || !fields.contains(parent_field) || !fields[parent_field].is_string()) return std::nullopt;
      e.parent_type = parent_type;
      e.parent_key = NormaliseKey(*parent, fields[parent_field].get<std::string>());
      if (!Matches(*parent, e.parent_key) || FindFolded(text, e.parent_key) == std::string_view::npos) {
        return std::nullopt;
      }
      const std::string norm = NormaliseText(raw);
      if (norm.empty()) return std::nullopt;
      e.key = e.parent_key + ":" + norm;
    }
    if (e.key.empty() || !Matches(def, e.key)) return std::nullopt;
    // A paraphrased child is kept, located at its parent's mention.
    e.start = at != std::string_view::npos ? at : FindFolded(text, e.parent_key);
    e.end = e.start + (at != std::string_view::npos ? raw.size() : e.parent_key.size());
    return e;
  }

  // Whether `key` matches the type's pattern (none: any key).
  bool Matches(const EntityTypeDef& def, const std::string& key) const {
    auto it = patterns_.find(def.name);
    return it == patterns_.end() || std::regex_match(key, it->second);
  }

  static bool When(const EntityTypeDef& def, const json& fields) {
    if (def.llm_when.empty()) return true;
    const std::string field = def.llm_when.substr(0, def.llm_when.find('='));
    const std::string value = def.llm_when.substr(def.llm_when.find('=') + 1);
    return fields.contains(field) && fields[field] == value;
  }

  std::shared_ptr<const Profile> profile_;
  std::shared_ptr<ChatModel> model_;
  AnswerCache* cache_;
  const json schema_;
  std::map<std::string, std::regex> patterns_;  // by type name; read-only after construction
};

}  // namespace

Result<std::unique_ptr<Extractor>> NewLlmExtractor(std::shared_ptr<const Profile> profile,
                                                   std::shared_ptr<ChatModel> model, AnswerCache* cache) {
  if (profile->extract.prompt.empty() || profile->extract.schema.empty()) {
    return Status::InvalidArgument("profile " + profile->name +
                                   " has no [llm.extract] prompt and schema: the LLM extractor needs both");
  }
  const bool any = std::any_of(profile->entities.begin(), profile->entities.end(),
                               [](const EntityTypeDef& e) { return !e.llm_list.empty(); });
  if (!any) {
    return Status::InvalidArgument("profile " + profile->name +
                                   ": no entity type names an llm_list, so the LLM extractor would find nothing");
  }
  return std::unique_ptr<Extractor>(std::make_unique<LlmExtractor>(std::move(profile), std::move(model), cache));
}

}  // namespace refinery

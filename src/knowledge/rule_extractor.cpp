// The built-in Extractor: for each entity type of the profile that names a
// rule extractor, run it and keep the items whose normalised key is valid.
#include <algorithm>
#include <cctype>
#include <optional>
#include <regex>

#include "knowledge/abbreviations.h"
#include "knowledge/automotive_text.h"
#include "knowledge/extractor.h"
#include "knowledge/rule_extractors.h"

namespace refinery {
namespace {

using knowledge_internal::Finding;
using knowledge_internal::Mention;

// Keys are short: a longer one is not a key (and keeps std::regex, which
// recurses per character, away from long input).
constexpr size_t kMaxKeyBytes = 512;

bool IsAutomotive(const std::string& extractor) {
  for (std::string_view name : {"dtc_codes", "dtc_causes", "dtc_steps", "sensors", "tsb", "vehicles"}) {
    if (extractor == name) return true;
  }
  return false;
}

std::vector<Finding> Automotive(const EntityTypeDef& def, const knowledge_internal::ScannedText& text) {
  if (def.extractor == "dtc_codes") return knowledge_internal::FindDtcs(text);
  if (def.extractor == "dtc_causes") return knowledge_internal::FindDtcCauses(text);
  if (def.extractor == "dtc_steps") return knowledge_internal::FindDtcSteps(text, def.vocabulary);
  if (def.extractor == "sensors") return knowledge_internal::FindSensors(text, def.vocabulary);
  if (def.extractor == "tsb") return knowledge_internal::FindTsbs(text);
  if (def.extractor == "vehicles") return knowledge_internal::FindVehicles(text, def.vocabulary);
  return {};
}

struct TypeRule {
  const EntityTypeDef* def;
  std::optional<std::regex> pattern;
};

class RuleExtractor final : public Extractor {
 public:
  explicit RuleExtractor(std::shared_ptr<const Profile> profile) : profile_(std::move(profile)) {
    for (const EntityTypeDef& def : profile_->entities) {
      if (def.extractor.empty()) continue;
      TypeRule rule{&def, std::nullopt};
      if (!def.key_pattern.empty()) rule.pattern.emplace(def.key_pattern, std::regex::ECMAScript);
      rules_.push_back(std::move(rule));
    }
  }

  Result<std::vector<ExtractedEntity>> Extract(std::string_view text) override {
    std::vector<ExtractedEntity> out;
    std::optional<knowledge_internal::ScannedText> scanned;  // once for all automotive types
    for (const TypeRule& rule : rules_) {
      if (IsAutomotive(rule.def->extractor) && !scanned) scanned = knowledge_internal::ScanText(text);
      Run(rule, text, scanned, out);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const ExtractedEntity& a, const ExtractedEntity& b) { return a.start < b.start; });
    return out;
  }

  std::string Name() const override { return "rules:" + profile_->name; }

 private:
  static void Run(const TypeRule& rule, std::string_view text,
                  const std::optional<knowledge_internal::ScannedText>& scanned, std::vector<ExtractedEntity>& out) {
    const EntityTypeDef& def = *rule.def;
    auto add = [&](std::string_view raw_key, nlohmann::json attributes, size_t start, size_t end,
                   const std::string& parent_code = "") {
      std::string key = NormaliseKey(def, raw_key);
      if (key.empty() || key.size() > kMaxKeyBytes) return;
      if (rule.pattern && !std::regex_match(key, *rule.pattern)) return;
      out.push_back({def.name, std::move(key), std::move(attributes), start, end, parent_code.empty() ? "" : "dtc",
                     parent_code});
    };
    if (IsAutomotive(def.extractor)) {
      for (Finding& f : Automotive(def, *scanned)) add(f.key, std::move(f.attributes), f.start, f.end, f.parent_code);
      return;
    }
    const std::string& field = def.key_field;
    if (def.extractor == "abbreviations") {
      for (const AbbreviationDefinition& d : FindAbbreviationDefinitions(text)) {
        add(d.short_form, {{"short", d.short_form}, {"long", d.long_form}}, std::min(d.short_start, d.long_start),
            std::max(d.short_end, d.long_end));
      }
    } else if (def.extractor == "keyphrases") {
      const size_t limit = def.max_per_text > 0 ? static_cast<size_t>(def.max_per_text) : 10;
      for (const auto& k : knowledge_internal::FindKeyphrases(text, limit)) {
        add(k.phrase, {{field, k.phrase}, {"score", k.score}}, k.start, k.end);
      }
    } else {
      std::vector<Mention> mentions;
      if (def.extractor == "doi") mentions = knowledge_internal::FindDois(text);
      if (def.extractor == "pmid") mentions = knowledge_internal::FindPmids(text);
      if (def.extractor == "arxiv") mentions = knowledge_internal::FindArxivIds(text);
      if (def.extractor == "url") mentions = knowledge_internal::FindUrls(text);
      for (const Mention& m : mentions) add(m.value, {{field, m.value}}, m.start, m.end);
    }
  }

  std::shared_ptr<const Profile> profile_;
  std::vector<TypeRule> rules_;
};

}  // namespace

std::string NormaliseKey(const EntityTypeDef& type, std::string_view key) {
  std::string out;
  if (type.normalise == "fold") {
    for (char c : key) {
      const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
      if (space && (out.empty() || out.back() == ' ')) continue;
      out += space ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }
  out = std::string(key);
  if (type.normalise == "upper") {
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  } else if (type.normalise == "lower") {
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::unique_ptr<Extractor> NewRuleExtractor(std::shared_ptr<const Profile> profile) {
  return std::make_unique<RuleExtractor>(std::move(profile));
}

}  // namespace refinery

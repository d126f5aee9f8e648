#include "knowledge/profile.h"

#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "knowledge/profile_reader.h"

namespace refinery {
namespace {

using profile_internal::TableReader;

// The rule extractors built into Refinery (knowledge/rule_extractor.cpp).
const std::vector<std::string>& RuleExtractorNames() {
  static const std::vector<std::string> kNames = {"abbreviations", "doi",       "pmid",    "arxiv", "url",
                                                   "keyphrases",    "dtc_codes", "dtc_causes", "dtc_steps",
                                                   "sensors",       "tsb",       "vehicles"};
  return kNames;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

Status ReadPhrases(TableReader& r, const char* list_key, const char* weight_key, const char* cap_key,
                   PhraseSignal& out) {
  REFINERY_RETURN_IF_ERROR(r.Strings(list_key, out.phrases));
  REFINERY_RETURN_IF_ERROR(r.Number(weight_key, -1, 1, out.weight));
  return r.Number(cap_key, -1, 1, out.cap);
}

Status ReadSignals(const toml::table* table, const std::string& source, TrustSignals& s) {
  TableReader r(table, "evaluation.signals", source);
  REFINERY_RETURN_IF_ERROR(r.Number("quantity", -1, 1, s.quantity));
  REFINERY_RETURN_IF_ERROR(r.Number("quantity_cap", -1, 1, s.quantity_cap));
  REFINERY_RETURN_IF_ERROR(r.Number("citation", -1, 1, s.citation));
  REFINERY_RETURN_IF_ERROR(r.Number("citation_cap", -1, 1, s.citation_cap));
  REFINERY_RETURN_IF_ERROR(r.Number("code", -1, 1, s.code));
  REFINERY_RETURN_IF_ERROR(r.Number("code_cap", -1, 1, s.code_cap));
  REFINERY_RETURN_IF_ERROR(r.Number("short_text", -1, 1, s.short_text));
  REFINERY_RETURN_IF_ERROR(r.Int("short_chars", 0, 100000, s.short_chars));
  REFINERY_RETURN_IF_ERROR(r.Number("shouting", -1, 1, s.shouting));
  REFINERY_RETURN_IF_ERROR(r.Number("exclamations", -1, 1, s.exclamations));
  REFINERY_RETURN_IF_ERROR(r.Number("exclamations_cap", -1, 1, s.exclamations_cap));
  REFINERY_RETURN_IF_ERROR(ReadPhrases(r, "spam_phrases", "spam", "spam_cap", s.spam));
  REFINERY_RETURN_IF_ERROR(ReadPhrases(r, "boilerplate_phrases", "boilerplate", "boilerplate_cap", s.boilerplate));
  return r.Finish();
}

Status ReadTrustHints(TableReader& eval, Profile& p) {
  auto hints = eval.Tables("trust_hints");
  if (!hints.ok()) return hints.status();
  for (size_t i = 0; i < hints->size(); ++i) {
    TableReader r((*hints)[i], "evaluation.trust_hints[" + std::to_string(i) + "]", p.source);
    TrustHint hint;
    REFINERY_RETURN_IF_ERROR(r.String("pattern", hint.pattern, true));
    hint.trust = -1;
    REFINERY_RETURN_IF_ERROR(r.Number("trust", 0, 1, hint.trust));
    if (hint.trust < 0) return r.Error("trust", "missing (required)");
    REFINERY_RETURN_IF_ERROR(r.Finish());
    p.trust_hints.push_back(std::move(hint));
  }
  return Status::Ok();
}

Status ReadDomains(TableReader& eval, Profile& p) {
  std::vector<std::string> names;
  REFINERY_RETURN_IF_ERROR(eval.Strings("domains", names));
  REFINERY_RETURN_IF_ERROR(eval.String("default_domain", p.default_domain));
  REFINERY_RETURN_IF_ERROR(eval.Int("domain_min_votes", 1, 1000, p.domain_min_votes));
  auto keywords = eval.Table("domain_keywords");
  if (!keywords.ok()) return keywords.status();
  TableReader kr(*keywords, "evaluation.domain_keywords", p.source);
  for (const std::string& name : names) {
    if (name.empty() || name == "unknown") return eval.Error("domains", "'" + name + "' cannot be a domain name");
    DomainDef domain{name, {}};
    REFINERY_RETURN_IF_ERROR(kr.Strings(name.c_str(), domain.keywords));
    p.domains.push_back(std::move(domain));
  }
  for (const std::string& key : kr.Keys()) {
    if (!Contains(names, key)) return kr.Error(key, "not one of evaluation.domains");
  }
  if (!Contains(p.DomainLabels(), p.default_domain)) {
    return eval.Error("default_domain", "'" + p.default_domain + "' is not one of evaluation.domains");
  }
  return Status::Ok();
}

Status ReadEvaluation(TableReader& root, Profile& p) {
  auto table = root.Table("evaluation");
  if (!table.ok()) return table.status();
  TableReader r(*table, "evaluation", p.source);
  REFINERY_RETURN_IF_ERROR(r.Number("base_trust", 0, 1, p.base_trust));
  REFINERY_RETURN_IF_ERROR(r.Number("extraction_gate", 0, 1, p.extraction_gate));
  REFINERY_RETURN_IF_ERROR(r.Strings("always_extract", p.always_extract));
  REFINERY_RETURN_IF_ERROR(ReadTrustHints(r, p));
  REFINERY_RETURN_IF_ERROR(ReadDomains(r, p));
  auto signals = r.Table("signals");
  if (!signals.ok()) return signals.status();
  REFINERY_RETURN_IF_ERROR(ReadSignals(*signals, p.source, p.signals));
  auto relevance = r.Table("relevance");
  if (!relevance.ok()) return relevance.status();
  TableReader rr(*relevance, "evaluation.relevance", p.source);
  REFINERY_RETURN_IF_ERROR(rr.String("description", p.relevance_description));
  REFINERY_RETURN_IF_ERROR(rr.Strings("vocabulary", p.vocabulary));
  REFINERY_RETURN_IF_ERROR(rr.Int("saturation", 1, 1000, p.relevance_saturation));
  REFINERY_RETURN_IF_ERROR(rr.Number("floor", 0, 1, p.relevance_floor));
  REFINERY_RETURN_IF_ERROR(rr.Finish());
  return r.Finish();
}

Status ReadKind(TableReader& r, const std::string& name, const std::string& spec, EntityField& field);

// A kind ("text", "integer", "number", "list", "enum:a|b|c"), optionally
// followed by a merge rule: "number max", "text union".
Status ReadField(TableReader& r, const std::string& name, const std::string& spec, EntityField& field) {
  field.name = name;
  const size_t space = spec.find(' ');
  REFINERY_RETURN_IF_ERROR(ReadKind(r, name, spec.substr(0, space), field));
  field.merge = field.kind == "list" ? "union" : "resolve";
  if (space == std::string::npos) return Status::Ok();
  field.merge = spec.substr(space + 1);
  if (field.merge != "resolve" && field.merge != "union" && field.merge != "max" && field.merge != "min") {
    return r.Error(name, "unknown merge rule '" + field.merge + "' (resolve, union, max, min)");
  }
  if ((field.merge == "max" || field.merge == "min") && field.kind != "number" && field.kind != "integer") {
    return r.Error(name, "merge rule " + field.merge + " needs a number or integer field");
  }
  return Status::Ok();
}

Status ReadKind(TableReader& r, const std::string& name, const std::string& spec, EntityField& field) {
  if (spec.rfind("enum:", 0) == 0) {
    field.kind = "enum";
    std::string rest = spec.substr(5);
    for (size_t start = 0; start <= rest.size();) {
      size_t bar = std::min(rest.find('|', start), rest.size());
      if (bar > start) field.values.push_back(rest.substr(start, bar - start));
      start = bar + 1;
    }
    if (field.values.empty()) return r.Error(name, "an enum needs values: \"enum:a|b\"");
    return Status::Ok();
  }
  if (spec != "text" && spec != "integer" && spec != "number" && spec != "list") {
    return r.Error(name, "unknown field kind '" + spec + "' (text, integer, number, list, enum:a|b)");
  }
  field.kind = spec;
  return Status::Ok();
}

Status ReadEntity(const toml::table* table, const std::string& name, const std::string& source, EntityTypeDef& e) {
  TableReader r(table, "entities." + name, source);
  e.name = name;
  REFINERY_RETURN_IF_ERROR(r.String("extractor", e.extractor));
  if (!e.extractor.empty() && !Contains(RuleExtractorNames(), e.extractor)) {
    return r.Error("extractor", "unknown rule extractor '" + e.extractor + "'");
  }
  REFINERY_RETURN_IF_ERROR(r.String("key", e.key_field, true));
  REFINERY_RETURN_IF_ERROR(r.String("normalise", e.normalise));
  if (e.normalise != "exact" && e.normalise != "upper" && e.normalise != "lower" && e.normalise != "fold") {
    return r.Error("normalise", "expected exact, upper, lower or fold, got '" + e.normalise + "'");
  }
  REFINERY_RETURN_IF_ERROR(r.String("pattern", e.key_pattern));
  try {
    std::regex check(e.key_pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    return r.Error("pattern", std::string("not a valid regular expression: ") + error.what());
  }
  REFINERY_RETURN_IF_ERROR(r.Int("max_per_text", 0, 1000, e.max_per_text));
  REFINERY_RETURN_IF_ERROR(r.Strings("vocabulary", e.vocabulary));
  REFINERY_RETURN_IF_ERROR(r.String("llm_list", e.llm_list));
  REFINERY_RETURN_IF_ERROR(r.String("llm_key", e.llm_key));
  REFINERY_RETURN_IF_ERROR(r.String("llm_when", e.llm_when));
  if (!e.llm_when.empty() && e.llm_when.find('=') == std::string::npos) {
    return r.Error("llm_when", "expected FIELD=VALUE, got '" + e.llm_when + "'");
  }
  REFINERY_RETURN_IF_ERROR(r.String("llm_parent", e.llm_parent));
  if (!e.llm_parent.empty() && e.llm_parent.find(':') == std::string::npos) {
    return r.Error("llm_parent", "expected TYPE:FIELD, got '" + e.llm_parent + "'");
  }
  auto fields = r.Table("fields");
  if (!fields.ok()) return fields.status();
  TableReader fr(*fields, "entities." + name + ".fields", source);
  for (const std::string& field_name : fr.Keys()) {
    std::string spec;
    REFINERY_RETURN_IF_ERROR(fr.String(field_name.c_str(), spec, true));
    e.fields.push_back({});
    REFINERY_RETURN_IF_ERROR(ReadField(fr, field_name, spec, e.fields.back()));
  }
  const bool key_is_field = std::any_of(e.fields.begin(), e.fields.end(),
                                        [&](const EntityField& f) { return f.name == e.key_field; });
  if (!key_is_field) return r.Error("key", "'" + e.key_field + "' is not one of its fields");
  return r.Finish();
}

Status ReadEntities(TableReader& root, Profile& p) {
  auto table = root.Table("entities");
  if (!table.ok()) return table.status();
  TableReader r(*table, "entities", p.source);
  for (const std::string& name : r.Keys()) {
    auto entity = r.Table(name.c_str());
    if (!entity.ok()) return entity.status();
    p.entities.push_back({});
    REFINERY_RETURN_IF_ERROR(ReadEntity(*entity, name, p.source, p.entities.back()));
  }
  for (const EntityTypeDef& e : p.entities) {
    const std::string parent = e.llm_parent.substr(0, e.llm_parent.find(':'));
    if (!e.llm_parent.empty() && p.FindEntity(parent) == nullptr) {
      return Status::InvalidArgument(p.source + ": entities." + e.name + ".llm_parent: '" + parent +
                                     "' is not an entity type");
    }
  }
  for (const std::string& type : p.always_extract) {
    if (p.FindEntity(type) == nullptr) {
      return Status::InvalidArgument(p.source + ": evaluation.always_extract: '" + type + "' is not an entity type");
    }
  }
  return Status::Ok();
}

Status ReadLlmTask(TableReader& llm, const char* key, LlmTask& task) {
  auto table = llm.Table(key);
  if (!table.ok()) return table.status();
  TableReader r(*table, llm.Path(key), llm.source());
  REFINERY_RETURN_IF_ERROR(r.String("system", task.system));
  REFINERY_RETURN_IF_ERROR(r.String("prompt", task.prompt));
  REFINERY_RETURN_IF_ERROR(r.String("schema", task.schema));
  if (!task.schema.empty()) {
    auto schema = nlohmann::json::parse(task.schema, nullptr, false);
    if (schema.is_discarded() || !schema.is_object()) return r.Error("schema", "expected a JSON object");
  }
  return r.Finish();
}

Status ReadProfile(const toml::table& table, Profile& p) {
  TableReader root(&table, "", p.source);
  REFINERY_RETURN_IF_ERROR(root.String("name", p.name, true));
  REFINERY_RETURN_IF_ERROR(root.String("description", p.description));
  REFINERY_RETURN_IF_ERROR(ReadEvaluation(root, p));
  REFINERY_RETURN_IF_ERROR(ReadEntities(root, p));
  auto llm = root.Table("llm");
  if (!llm.ok()) return llm.status();
  TableReader lr(*llm, "llm", p.source);
  REFINERY_RETURN_IF_ERROR(ReadLlmTask(lr, "evaluate", p.evaluate));
  REFINERY_RETURN_IF_ERROR(ReadLlmTask(lr, "extract", p.extract));
  REFINERY_RETURN_IF_ERROR(lr.Finish());
  return root.Finish();
}

}  // namespace

std::vector<std::string> Profile::DomainLabels() const {
  std::vector<std::string> labels;
  for (const DomainDef& d : domains) labels.push_back(d.name);
  if (!Contains(labels, "general")) labels.push_back("general");
  labels.push_back("unknown");
  return labels;
}

const EntityTypeDef* Profile::FindEntity(std::string_view type) const {
  for (const EntityTypeDef& e : entities) {
    if (e.name == type) return &e;
  }
  return nullptr;
}

Result<Profile> ParseProfile(std::string_view toml_text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  Profile profile;
  profile.source = source;
  REFINERY_RETURN_IF_ERROR(ReadProfile(table, profile));
  return profile;
}

}  // namespace refinery

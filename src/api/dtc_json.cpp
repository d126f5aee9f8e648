#include "api/dtc_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "api/knowledge_json.h"

namespace refinery::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxSources = 50;
constexpr int64_t kMaxChildren = 1000;  // causes, steps, sensors, ... of one DTC (the largest page)

double Rounded(double v) { return std::round(v * 1000) / 1000; }

json Field(const json& attributes, const char* name) {
  auto it = attributes.find(name);
  return it == attributes.end() ? json(nullptr) : *it;
}

json ListField(const json& attributes, const char* name) {
  json value = Field(attributes, name);
  if (value.is_array()) return value;
  return value.is_null() ? json::array() : json::array({value});
}

// A text field merged as a union (a bulletin's summaries): its first value.
json FirstText(const json& attributes, const char* name) {
  json value = Field(attributes, name);
  return value.is_array() ? (value.empty() ? json(nullptr) : value.front()) : value;
}

int LikelihoodRank(const json& v) {
  const std::string s = v.is_string() ? v.get<std::string>() : "";
  return s == "high" ? 0 : s == "medium" ? 1 : s == "low" ? 2 : 3;
}

json ChildJson(const Entity& e) {
  const json a = ParsedObject(e.attributes_json);
  json out = {{"id", e.id}, {"confidence_score", Rounded(e.confidence)}, {"source_count", e.source_count}};
  if (e.entity.type == "cause") {
    out["description"] = Field(a, "description");
    out["likelihood"] = Field(a, "likelihood");
  } else if (e.entity.type == "diagnostic_step") {
    out["step_order"] = Field(a, "step_order");
    out["description"] = Field(a, "description");
    out["tools_required"] = ListField(a, "tools_required");
    out["expected_values"] = Field(a, "expected_values");
  } else if (e.entity.type == "sensor") {
    out["name"] = Field(a, "name");
    out["sensor_type"] = Field(a, "sensor_type");
    out["typical_range"] = Field(a, "typical_range");
    out["unit"] = Field(a, "unit");
  } else if (e.entity.type == "tsb") {
    out["tsb_number"] = Field(a, "tsb_number");
    out["title"] = Field(a, "title");
    out["affected_models"] = ListField(a, "affected_models");
    out["summary"] = FirstText(a, "summary");
  } else {
    out["attributes"] = a;
  }
  if (e.conflict_count > 0) out["conflict_count"] = e.conflict_count;
  return out;
}

const char* GroupOf(const std::string& type) {
  if (type == "cause") return "causes";
  if (type == "diagnostic_step") return "diagnostic_steps";
  if (type == "sensor") return "sensors";
  if (type == "tsb") return "tsb_references";
  if (type == "vehicle") return "vehicles";
  return nullptr;
}

void SortGroups(json& body) {
  auto& causes = body["causes"];
  std::stable_sort(causes.begin(), causes.end(), [](const json& a, const json& b) {
    if (LikelihoodRank(a["likelihood"]) != LikelihoodRank(b["likelihood"])) {
      return LikelihoodRank(a["likelihood"]) < LikelihoodRank(b["likelihood"]);
    }
    return a["confidence_score"].get<double>() > b["confidence_score"].get<double>();
  });
  auto& steps = body["diagnostic_steps"];
  std::stable_sort(steps.begin(), steps.end(), [](const json& a, const json& b) {
    const int64_t x = a["step_order"].is_number() ? a["step_order"].get<int64_t>() : INT64_MAX;
    const int64_t y = b["step_order"].is_number() ? b["step_order"].get<int64_t>() : INT64_MAX;
    return x < y;
  });
}

json SourcesJson(const std::vector<EntitySource>& sources) {
  json out = json::array();
  std::set<int64_t> seen;
  for (const EntitySource& s : sources) {
    if (out.size() >= kMaxSources || !seen.insert(s.mention.document_id).second) continue;
    out.push_back({{"document_id", s.mention.document_id},
                   {"document_title", s.document_title},
                   {"trust", Rounded(s.mention.trust)},
                   {"excerpt", s.excerpt}});
  }
  return out;
}

bool ValidCode(const std::string& code) {
  if (code.size() != 5 || std::string_view("PBCU").find(code[0]) == std::string_view::npos) return false;
  return std::all_of(code.begin() + 1, code.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

json DtcSummaryJson(const Entity& dtc) {
  const json a = ParsedObject(dtc.attributes_json);
  return {{"id", dtc.id},
          {"code", dtc.entity.key},
          {"description", Field(a, "description")},
          {"category", Field(a, "category")},
          {"severity", Field(a, "severity")},
          {"standard", Field(a, "standard")},
          {"confidence_score", Rounded(dtc.confidence)},
          {"source_count", dtc.source_count},
          {"conflict_count", dtc.conflict_count}};
}

Result<json> DtcDetailJson(KnowledgeStore& store, const std::string& code_text) {
  std::string code = code_text;
  for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!ValidCode(code)) return Status::InvalidArgument("'" + code_text + "' is not a DTC code (e.g. P0420)");
  auto found = store.FindEntity({"dtc", code});
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status::NotFound("no source names DTC " + code);
  auto detail = store.GetEntity((*found)->id);
  if (!detail.ok()) return detail.status();
  json body = DtcSummaryJson(detail->entity);
  for (const char* group : {"causes", "diagnostic_steps", "sensors", "tsb_references", "vehicles"}) {
    body[group] = json::array();
  }
  EntityQuery children;  // one query for all of them, not one per child
  children.parent = {"dtc", code};
  children.limit = kMaxChildren;
  auto page = store.ListEntities(children);
  if (!page.ok()) return page.status();
  for (const Entity& child : page->entities) {
    if (const char* group = GroupOf(child.entity.type)) body[group].push_back(ChildJson(child));
  }
  SortGroups(body);
  body["conflicts"] = json::array();
  for (const EntityConflict& c : detail->conflicts) body["conflicts"].push_back(ConflictJson(c));
  body["sources"] = SourcesJson(detail->sources);
  return body;
}

Result<std::string> DtcCategoryPrefix(const std::string& category) {
  static const std::map<std::string, std::string> kPrefixes = {
      {"", ""}, {"powertrain", "P"}, {"chassis", "C"}, {"body", "B"}, {"network", "U"}};
  auto it = kPrefixes.find(category);
  if (it == kPrefixes.end()) {
    return Status::InvalidArgument("category must be one of powertrain, chassis, body, network");
  }
  return it->second;
}

}  // namespace refinery::api

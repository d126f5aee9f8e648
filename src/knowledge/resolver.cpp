// Merging mentions: source count and confidence from the distinct
// documents and chunks; each attribute from its candidate values, weighed
// by the summed trust of the documents that give each.
#include "knowledge/resolver.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace refinery {
namespace {

using nlohmann::json;

// A value's text as candidates compare it: strings as they are, other JSON as dumped.
std::string ValueText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }
bool IsEmpty(const json& v) { return v.is_null() || (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty()); }

struct Candidate {
  json value;                            // the first form seen
  std::map<int64_t, double> documents;   // document -> its best trust for this value
  double Summed() const {
    double sum = 0;
    for (const auto& [doc, trust] : documents) sum += trust;
    return sum;
  }
};

// Groups `values` (document, trust, value) into candidates by normalised text.
std::vector<Candidate> Candidates(const std::vector<std::tuple<int64_t, double, json>>& values) {
  std::vector<Candidate> out;
  std::map<std::string, size_t> index;
  for (const auto& [doc, trust, value] : values) {
    const std::string norm = NormaliseText(ValueText(value));
    auto [it, fresh] = index.emplace(norm, out.size());
    if (fresh) out.push_back({value, {}});
    double& best = out[it->second].documents[doc];
    best = std::max(best, trust);
  }
  // Best first: summed trust, then more documents, then first seen (stable).
  std::stable_sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.Summed() != b.Summed()) return a.Summed() > b.Summed();
    return a.documents.size() > b.documents.size();
  });
  return out;
}

std::string Fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

json CandidatesJson(const std::vector<Candidate>& candidates) {
  json out = json::array();
  for (const Candidate& c : candidates) {
    json docs = json::array();
    for (const auto& [doc, trust] : c.documents) docs.push_back(doc);
    out.push_back({{"value", c.value}, {"sources", c.documents.size()}, {"documents", docs},
                   {"summed_trust", std::round(c.Summed() * 1000) / 1000}});
  }
  return out;
}

// Why the first candidate won.
std::string Reason(const std::vector<Candidate>& c) {
  if (c[0].Summed() > c[1].Summed()) {
    return "higher summed trust of its sources (" + Fixed2(c[0].Summed()) + " vs " + Fixed2(c[1].Summed()) + ")";
  }
  if (c[0].documents.size() > c[1].documents.size()) return "equal summed trust; more sources";
  return "equal summed trust and sources; the value seen first";
}

class Resolver {
 public:
  explicit Resolver(std::shared_ptr<const Profile> profile) : profile_(std::move(profile)) {}

  ResolvedEntity operator()(const EntityKey& key, const std::vector<Mention>& mentions) const {
    ResolvedEntity r;
    std::set<int64_t> documents;
    std::map<std::pair<int64_t, int64_t>, double> chunks;  // (document, chunk) -> trust
    std::set<EntityKey> parents;
    std::vector<json> attributes;
    for (const Mention& m : mentions) {
      documents.insert(m.document_id);
      chunks[{m.document_id, m.chunk_id}] = std::max(chunks[{m.document_id, m.chunk_id}], m.trust);
      if (!m.parent.type.empty()) parents.insert(m.parent);
      json parsed = json::parse(m.attributes_json, nullptr, false);
      attributes.push_back(parsed.is_object() ? std::move(parsed) : json::object());
    }
    double trust_sum = 0;
    for (const auto& [chunk, trust] : chunks) trust_sum += trust;
    r.source_count = static_cast<int64_t>(documents.size());
    r.confidence = EntityConfidence(r.source_count, trust_sum / static_cast<double>(chunks.size()));
    r.parents.assign(parents.begin(), parents.end());
    json merged = json::object();
    for (const std::string& field : Fields(key.type, attributes)) {
      MergeField(key, field, mentions, attributes, merged, r.conflicts);
    }
    r.attributes_json = merged.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  }

 private:
  // The profile's fields of the type, then any other attribute seen (sorted).
  std::vector<std::string> Fields(const std::string& type, const std::vector<json>& attributes) const {
    std::vector<std::string> fields;
    if (const EntityTypeDef* def = profile_->FindEntity(type)) {
      for (const EntityField& f : def->fields) fields.push_back(f.name);
    }
    std::set<std::string> seen;
    for (const json& a : attributes) {
      for (const auto& [name, value] : a.items()) seen.insert(name);
    }
    for (const std::string& name : seen) {
      if (std::find(fields.begin(), fields.end(), name) == fields.end()) fields.push_back(name);
    }
    return fields;
  }

  std::string MergeOf(const std::string& type, const std::string& field) const {
    if (const EntityTypeDef* def = profile_->FindEntity(type)) {
      for (const EntityField& f : def->fields) {
        if (f.name == field) return f.merge;
      }
    }
    return "resolve";
  }

  void MergeField(const EntityKey& key, const std::string& field, const std::vector<Mention>& mentions,
                  const std::vector<json>& attributes, json& merged, std::vector<EntityConflict>& conflicts) const {
    std::vector<std::tuple<int64_t, double, json>> values;
    for (size_t i = 0; i < mentions.size(); ++i) {
      auto it = attributes[i].find(field);
      if (it == attributes[i].end() || IsEmpty(*it)) continue;  // a mention without the value casts no vote
      if (it->is_array()) {
        for (const json& item : *it) values.emplace_back(mentions[i].document_id, mentions[i].trust, item);
      } else {
        values.emplace_back(mentions[i].document_id, mentions[i].trust, *it);
      }
    }
    if (values.empty()) return;
    const std::string merge = MergeOf(key.type, field);
    std::vector<Candidate> candidates = Candidates(values);
    if (merge == "union") {
      json all = json::array();
      for (const Candidate& c : candidates) all.push_back(c.value);
      merged[field] = std::move(all);
      return;
    }
    if (merge == "max" || merge == "min") {
      const double sign = merge == "max" ? 1 : -1;
      json best = candidates[0].value;
      for (const Candidate& c : candidates) {
        if (c.value.is_number() && (!best.is_number() || sign * c.value.get<double>() > sign * best.get<double>())) {
          best = c.value;
        }
      }
      merged[field] = best;
      return;
    }
    merged[field] = candidates[0].value;
    bool disagree = false;
    for (size_t i = 1; i < candidates.size(); ++i) {
      disagree = disagree || !ValuesAgree(ValueText(candidates[0].value), ValueText(candidates[i].value));
    }
    if (!disagree) return;
    EntityConflict conflict;
    conflict.entity = key;
    conflict.field = field;
    conflict.candidates_json = CandidatesJson(candidates).dump(-1, ' ', false, json::error_handler_t::replace);
    conflict.resolved_value = ValueText(candidates[0].value);
    conflict.reason = Reason(candidates);
    conflicts.push_back(std::move(conflict));
  }

  std::shared_ptr<const Profile> profile_;
};

// The numbers in a text, and the text with each number replaced by "#".
std::pair<std::vector<double>, std::string> SplitNumbers(std::string_view text) {
  std::vector<double> numbers;
  std::string shape;
  for (size_t i = 0; i < text.size();) {
    const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    const bool leading_dot = text[i] == '.' && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]));
    if (!digit && !leading_dot) {
      shape += text[i++];
      continue;
    }
    size_t end = i;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
    numbers.push_back(std::strtod(std::string(text.substr(i, end - i)).c_str(), nullptr));
    shape += '#';
    i = end;
  }
  return {numbers, NormaliseText(shape)};
}

bool NumbersAgree(double a, double b) {
  const double scale = std::max(std::fabs(a), std::fabs(b));
  return scale == 0 || std::fabs(a - b) <= 0.2 * scale;
}

}  // namespace

double EntityConfidence(int64_t source_count, double mean_trust) {
  const double sources = std::min(1.0, static_cast<double>(source_count) / 5.0);
  return std::min(1.0, 0.3 * sources + 0.7 * std::clamp(mean_trust, 0.0, 1.0));
}

std::string NormaliseText(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    const bool keep = std::isalnum(c) != 0 || c >= 0x80;
    if (keep) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  for (std::string_view article : {"a ", "an ", "the "}) {
    if (out.rfind(article, 0) == 0 && out.size() > article.size()) return out.substr(article.size());
  }
  return out;
}

bool ValuesAgree(std::string_view a, std::string_view b) {
  if (NormaliseText(a) == NormaliseText(b)) return true;
  auto [na, sa] = SplitNumbers(a);
  auto [nb, sb] = SplitNumbers(b);
  if (na.empty() || na.size() != nb.size() || sa != sb) return false;
  for (size_t i = 0; i < na.size(); ++i) {
    if (!NumbersAgree(na[i], nb[i])) return false;
  }
  return true;
}

EntityResolver NewEntityResolver(std::shared_ptr<const Profile> profile) {
  auto resolver = std::make_shared<const Resolver>(std::move(profile));
  return [resolver](const EntityKey& key, const std::vector<Mention>& mentions) { return (*resolver)(key, mentions); };
}

}  // namespace refinery

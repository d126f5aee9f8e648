#include "api/knowledge_json.h"

#include <cmath>

#include "api/json_util.h"

namespace refinery::api {

// A JSON object stored as text (attributes); {} if it is somehow not one.
json ParsedObject(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  return value.is_object() ? value : json::object();
}

json EntityJson(const Entity& e) {
  return {{"id", e.id},
          {"type", e.entity.type},
          {"key", e.entity.key},
          {"attributes", ParsedObject(e.attributes_json)},
          {"confidence", std::round(e.confidence * 1000) / 1000},
          {"source_count", e.source_count},
          {"conflict_count", e.conflict_count},
          {"created_at", IsoTime(e.created_at)},
          {"updated_at", IsoTime(e.updated_at)}};
}

json ConflictJson(const EntityConflict& c) {
  json candidates = json::parse(c.candidates_json, nullptr, false);
  return {{"id", c.id},
          {"entity_id", c.entity_id},
          {"entity_type", c.entity.type},
          {"entity_key", c.entity.key},
          {"field", c.field},
          {"candidates", candidates.is_array() ? candidates : json::array()},
          {"resolved_value", c.resolved_value},
          {"reason", c.reason},
          {"updated_at", IsoTime(c.updated_at)}};
}

}  // namespace refinery::api

// The knowledge base as JSON: GET /entities, /entities/{id}, /conflicts
// and `refinery entities --json` answer in these shapes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "store/knowledge.h"

namespace refinery::api {

// {id, type, key, attributes, confidence, source_count, conflict_count, created_at, updated_at}
nlohmann::json EntityJson(const Entity& entity);
// {id, entity_id, entity_type, entity_key, field, candidates, resolved_value, reason, updated_at}
nlohmann::json ConflictJson(const EntityConflict& conflict);
// A JSON object stored as text (attributes); {} if it is somehow not one.
nlohmann::json ParsedObject(const std::string& text);

}  // namespace refinery::api

// Trouble codes as JSON: GET /dtc, GET /dtc/{code} and `refinery dtc`
// answer in these shapes (the Python system's fields, and more). A DTC is
// the entity of type "dtc"; its causes, diagnostic steps, sensors,
// bulletins and vehicles are the entities related to it as children.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/knowledge.h"

namespace refinery::api {

// {id, code, description, category, severity, standard, confidence_score, source_count, conflict_count}
nlohmann::json DtcSummaryJson(const Entity& dtc);
// The summary plus causes, diagnostic_steps, sensors, tsb_references,
// vehicles, conflicts and sources. `code` any case. InvalidArgument when it
// is not a DTC code (^[PBCU][0-9A-F]{4}$); NotFound when no source names it.
Result<nlohmann::json> DtcDetailJson(KnowledgeStore& store, const std::string& code);
// "powertrain" -> "P", "chassis" -> "C", "body" -> "B", "network" -> "U";
// "" -> "". InvalidArgument for any other.
Result<std::string> DtcCategoryPrefix(const std::string& category);

}  // namespace refinery::api

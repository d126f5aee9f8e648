// Reading a model's JSON answer strictly, after the usual repairs, and
// checking it against the JSON schema it was asked to match. Small local
// models wrap their object in prose or code fences, think aloud in
// <think> blocks, or answer with a Python dict; none of that may become a
// silent default, and nothing unchecked may be stored as a fact.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace refinery {

// The JSON object in `answer`. Repairs, in order: <think>...</think> blocks
// dropped; the inside of a ``` fence taken; the first balanced {...} taken
// from prose around it; Python literals (single quotes, True/False/None)
// and trailing commas rewritten. InvalidArgument naming what was wrong
// (empty, only thinking, no object, nested over 64 levels) with the start
// of the answer quoted.
Result<nlohmann::json> ParseJsonAnswer(std::string_view answer);

// Checks `value` against `schema`, the subset of JSON Schema the profiles
// use: type (one or a list), properties, required, items, enum, pattern
// (ECMAScript, searched as JSON Schema does: anchor it), minimum, maximum, minItems, maxItems,
// maxLength. InvalidArgument naming the first violation by its path
// ("dtc_codes[1].code: \"P04X0\" does not match ^[PBCU][0-9A-F]{4}$").
Status CheckAgainstSchema(const nlohmann::json& value, const nlohmann::json& schema);

}  // namespace refinery

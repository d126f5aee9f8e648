// What the LLM evaluator and extractor share: the profile's prompt
// templates filled in, and the schemas they send, tightened so that an
// answer that passes the check can be read without further type tests.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "knowledge/profile.h"

namespace refinery {

// `tmpl` with each `{name}` of `values` replaced, in one pass over the
// template (text filled in is never scanned again, so a chunk holding
// "{title}" stays as written). Unknown `{...}` are left as they are.
std::string FillPrompt(std::string_view tmpl, const std::map<std::string, std::string_view>& values);

// "obd, electrical, ..., unknown".
std::string JoinLabels(const std::vector<std::string>& labels);

// The profile's evaluation schema with the four fields required and typed
// (scores numbers in [0, 1], reasoning a string) and domain limited to
// `labels`: what the server is asked to produce and the answer checked against.
nlohmann::json EvaluationSchema(const Profile& profile, const std::vector<std::string>& labels);

}  // namespace refinery

// Health of an LLM endpoint from its free listing calls only.
#include <chrono>

#include "llm/llm_endpoint.h"

namespace refinery {
namespace {

std::string Bare(const std::string& model) {
  const std::string tag = ":latest";
  if (model.size() > tag.size() && model.compare(model.size() - tag.size(), tag.size(), tag) == 0) {
    return model.substr(0, model.size() - tag.size());
  }
  return model;
}

// The "name" (Ollama) or "id" (OpenAI) of each item of `list`.
std::vector<std::string> Names(const nlohmann::json& list, const char* field) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const nlohmann::json& item : list) {
    if (item.is_object() && item.contains(field) && item[field].is_string()) out.push_back(item[field].get<std::string>());
  }
  return out;
}

}  // namespace

bool SameModel(const std::string& a, const std::string& b) { return Bare(a) == Bare(b); }

Result<EndpointReport> ListEndpoint(LlmEndpoint& endpoint) {
  EndpointReport report;
  const std::string& model = endpoint.config().model;
  const auto started = std::chrono::steady_clock::now();
  if (endpoint.config().provider == "openai") {
    auto models = endpoint.Probe("/v1/models");
    if (!models.ok()) return models.status();
    report.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    report.models = Names(models->is_object() ? (*models)["data"] : nlohmann::json(), "id");
  } else {
    auto version = endpoint.Probe("/api/version");
    if (!version.ok()) return version.status();
    report.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (version->is_object() && (*version)["version"].is_string()) report.version = (*version)["version"];
    auto tags = endpoint.Probe("/api/tags");
    if (!tags.ok()) return tags.status();
    report.models = Names(tags->is_object() ? (*tags)["models"] : nlohmann::json(), "name");
    auto ps = endpoint.Probe("/api/ps");
    if (ps.ok()) report.loaded = Names(ps->is_object() ? (*ps)["models"] : nlohmann::json(), "name");
  }
  for (const std::string& m : report.models) report.model_present = report.model_present || SameModel(m, model);
  return report;
}

Result<EndpointReport> InspectEndpoint(LlmEndpoint& endpoint) {
  auto report = ListEndpoint(endpoint);
  if (!report.ok()) return report;
  const std::string& model = endpoint.config().model;
  if (!report->model_present) {
    return Status::Unavailable(endpoint.role() + " " + endpoint.config().url + ": model '" + model +
                               "' is not available there" +
                               (endpoint.config().provider == "ollama"
                                    ? " (ollama pull " + model + ", or REFINERY_" +
                                          (endpoint.role() == "llm_embed" ? "EMBED" : "REASON") +
                                          "_PULL=true to let Refinery pull it)"
                                    : ""));
  }
  return report;
}

}  // namespace refinery

#include "api/stats_json.h"

#include "pipeline/stage_chain.h"

namespace refinery::api {

nlohmann::ordered_json PipelineStatsJson(const PipelineStats& stats) {
  nlohmann::ordered_json out;
  out["total_documents"] = stats.store.total_documents;
  nlohmann::ordered_json by_state = nlohmann::ordered_json::object();
  for (const std::string& state : AllStates()) {
    auto it = stats.store.documents_by_state.find(state);
    by_state[state] = it == stats.store.documents_by_state.end() ? 0 : it->second;
  }
  out["documents_by_stage"] = std::move(by_state);
  out["total_chunks"] = stats.store.total_chunks;
  out["chunks_with_embeddings"] = stats.store.chunks_with_embeddings;
  out["chunks_evaluated"] = stats.store.chunks_evaluated;
  out["chunks_evaluation_failed"] = stats.store.chunks_evaluation_failed;
  out["chunks_extraction_failed"] = stats.store.chunks_extraction_failed;
  out["total_entities"] = stats.knowledge.total_entities;
  out["entities_by_type"] = stats.knowledge.entities_by_type;
  out["total_conflicts"] = stats.knowledge.total_conflicts;
  // The Python system's names (automotive profile), from the same counters.
  auto count_of = [&](const char* type) {
    auto it = stats.knowledge.entities_by_type.find(type);
    return it == stats.knowledge.entities_by_type.end() ? int64_t{0} : it->second;
  };
  out["total_dtc_codes"] = count_of("dtc");
  out["total_causes"] = count_of("cause");
  out["total_diagnostic_steps"] = count_of("diagnostic_step");
  nlohmann::ordered_json depths = nlohmann::ordered_json::object();
  for (const StageFigures& s : stats.stages) {
    depths[s.stage] = {
        {"ready", s.queue.ready}, {"in_flight", s.queue.in_flight}, {"delayed", s.queue.delayed}, {"dead", s.dead}};
  }
  out["queue_depths"] = std::move(depths);
  return out;
}

}  // namespace refinery::api

#include "pipeline/pipeline_stats.h"

#include "pipeline/services.h"
#include "pipeline/stage_chain.h"

namespace refinery {
namespace {

Status Annotate(const Status& status, const std::string& what) {
  return status.ok() ? status : Status(status.code(), what + ": " + status.message());
}

}  // namespace

Status PipelineStats::status() const { return store_status.ok() ? queue_status : store_status; }

PipelineStats ReadPipelineStats(Services& services) {
  PipelineStats stats;
  std::vector<std::string> names;
  for (const StageDef& stage : WorkerStages()) {  // crawl's queue too
    names.push_back(stage.name);
    stats.stages.push_back({stage.name, {}, 0});
  }
  auto store = services.store->telemetry().Stats();
  stats.store_status = Annotate(store.status(), "store stats");
  if (store.ok()) {
    stats.store = std::move(*store);
    for (StageFigures& figures : stats.stages) {
      auto dead = stats.store.errors_by_stage.find(figures.stage);
      if (dead != stats.store.errors_by_stage.end()) figures.dead = dead->second;
    }
  }
  if (stats.store_status.ok()) {
    auto knowledge = services.store->knowledge().Stats();
    stats.store_status = Annotate(knowledge.status(), "knowledge stats");
    if (knowledge.ok()) stats.knowledge = std::move(*knowledge);
  }
  auto depths = services.queue->Depths(names);
  stats.queue_status = Annotate(depths.status(), "queue depths");
  if (depths.ok()) {
    for (size_t i = 0; i < stats.stages.size() && i < depths->size(); ++i) stats.stages[i].queue = (*depths)[i];
  }
  return stats;
}

}  // namespace refinery

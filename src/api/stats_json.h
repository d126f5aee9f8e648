// The public JSON shape of the pipeline's figures, shared by GET /stats and
// `refinery stats --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "pipeline/pipeline_stats.h"

namespace refinery::api {

// {total_documents, documents_by_stage (every state, 0 when none),
//  total_chunks, chunks_with_embeddings,
//  queue_depths: {stage: {ready, in_flight, delayed, dead}}}, keys in that
// order. `dead` counts the stage's documents given up on (in "error").
nlohmann::ordered_json PipelineStatsJson(const PipelineStats& stats);

}  // namespace refinery::api

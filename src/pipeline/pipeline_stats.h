// One snapshot of the pipeline's figures (the shape of GET /stats), read
// here once for the API, /metrics, `refinery stats` and the doctor, so each
// figure has one meaning everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "queue/queue.h"
#include "store/store.h"

namespace refinery {

struct Services;

// One stage of the chain.
struct StageFigures {
  std::string stage;
  QueueDepth queue;  // the queue's jobs (zero when queue_status failed)
  // Documents given up on at this stage, now in "error": its dead letters.
  // The store's figure (it owns attempts), zero when store_status failed.
  int64_t dead = 0;
};

struct PipelineStats {
  Status store_status;  // OK when `store` was read
  StoreStats store;
  KnowledgeStats knowledge;  // read with `store` (zero when store_status failed)
  Status queue_status;               // OK when the queue depths were read
  std::vector<StageFigures> stages;  // every stage of the chain, in order

  // The first failure, annotated with what failed ("store stats: ...").
  Status status() const;
};

// Reads the store's totals and every stage's queue depth (one round trip
// each where the backend can). A failing part is reported in its status and
// leaves its figures at zero; the other part is still read.
PipelineStats ReadPipelineStats(Services& services);

}  // namespace refinery

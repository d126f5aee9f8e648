// Never paying twice for an embedding: an Embedder that answers from the
// store's EmbeddingCache (by model and text hash) and sends only the misses
// to the embedder it wraps, storing what comes back (issue 12).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "llm/embedder.h"
#include "store/embedding_cache.h"

namespace refinery {

// What one process's cache saw, for /metrics. Texts, not calls.
struct EmbedCacheCounters {
  std::atomic<int64_t> hits{0};
  std::atomic<int64_t> misses{0};
  std::atomic<int64_t> errors{0};  // lookups or writes the store failed (served as misses)
};

// Wraps `inner`, keyed by inner->Name(). A cache the store cannot read or
// write is a miss (logged and counted), never a failed embedding; a cached
// vector of another dimension than the model's is a miss too. `cache` and
// `counters` must outlive the embedder.
std::unique_ptr<Embedder> MakeCachingEmbedder(std::unique_ptr<Embedder> inner, EmbeddingCache& cache,
                                              std::shared_ptr<EmbedCacheCounters> counters);

}  // namespace refinery

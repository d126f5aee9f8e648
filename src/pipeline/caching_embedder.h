// Never paying twice for an embedding: an Embedder that answers from the
// store's EmbeddingCache (by model and text hash) and sends only the misses
// to the embedder it wraps, storing what comes back (issue 12).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "llm/chat.h"
#include "llm/embedder.h"
#include "store/embedding_cache.h"
#include "store/reasoning_cache.h"

namespace refinery {

// What one process's cache saw, for /metrics: texts (embeddings) or
// requests (reasoning), not calls.
struct LlmCacheCounters {
  std::atomic<int64_t> hits{0};
  std::atomic<int64_t> misses{0};
  std::atomic<int64_t> errors{0};  // lookups or writes the store failed (served as misses)
};

// Wraps `inner`, keyed by inner->Name(). A cache the store cannot read or
// write is a miss (logged and counted), never a failed embedding; a cached
// vector of another dimension than the model's is a miss too. `cache` and
// `counters` must outlive the embedder.
std::unique_ptr<Embedder> MakeCachingEmbedder(std::unique_ptr<Embedder> inner, EmbeddingCache& cache,
                                              std::shared_ptr<LlmCacheCounters> counters);

// The store's ReasoningCache as the AnswerCache AskStructured reads and
// writes: a store failure is a miss (logged, counted as an error).
std::unique_ptr<AnswerCache> MakeStoreAnswerCache(ReasoningCache& cache, std::shared_ptr<LlmCacheCounters> counters);

}  // namespace refinery

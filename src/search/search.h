// Search: ranks stored chunks against a query by exact cosine similarity of
// their embeddings (an approximate index replaces the scan later).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "llm/embedder.h"
#include "store/store.h"

namespace refinery {

struct SearchQuery {
  std::string query;
  int limit = 10;  // 1..100
  std::optional<double> min_trust;      // applies only to evaluated chunks
  std::optional<double> min_relevance;  // applies only to evaluated chunks
};

struct SearchResult {
  int64_t chunk_id = 0;
  int64_t document_id = 0;
  std::string title;
  std::string content;
  double score = 0;       // the ranking score (today: the similarity)
  double similarity = 0;  // cosine of query and chunk embeddings
  std::optional<double> trust_score;      // null until the evaluate stage exists
  std::optional<double> relevance_score;  // null until the evaluate stage exists
};

// Keeps an in-memory copy of the stored vectors, topped up incrementally
// from the store before each query. Thread-safe.
class Searcher {
 public:
  Searcher(Store& store, Embedder& embedder);
  // InvalidArgument for an empty query or a limit outside 1..100.
  Result<std::vector<SearchResult>> Search(const SearchQuery& query);

 private:
  Status Refresh();  // REQUIRES: mutex_ held

  Store& store_;
  Embedder& embedder_;
  std::mutex mutex_;
  std::vector<ChunkVector> vectors_;  // GUARDED_BY(mutex_), chunk id order
  int64_t last_chunk_id_ = 0;         // GUARDED_BY(mutex_)
};

}  // namespace refinery

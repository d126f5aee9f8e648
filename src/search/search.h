// Search: ranks stored chunks against a query by exact cosine similarity of
// their embeddings (an approximate index replaces the scan later), by the
// store's full-text search (the default: with the built-in embedder it
// ranks as well as hybrid on SciFact at a fraction of the cost,
// docs/benchmarks.md), or by both fused (hybrid).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "llm/embedder.h"
#include "store/store.h"

namespace refinery {

enum class SearchMode {
  kLexical,  // Store::LexicalSearch only (no embedder call)
  kVector,   // cosine similarity of embeddings only
  kHybrid,   // vector and lexical rankings merged by weighted reciprocal rank fusion
};

// "lexical", "vector", "hybrid".
std::string_view SearchModeName(SearchMode mode);
// The mode of that name; nullopt for any other text.
std::optional<SearchMode> ParseSearchMode(std::string_view name);

struct SearchQuery {
  std::string query;
  int limit = 10;                       // 1..100
  // Filters on the evaluate stage's scores: a chunk not evaluated yet has
  // no score and is left out while a filter is set. Filtered results are
  // never fewer than `limit` while matching chunks exist (the rankings are
  // asked for more, not cut short).
  std::optional<double> min_trust;
  std::optional<double> min_relevance;
  SearchMode mode = SearchMode::kLexical;
};

struct SearchResult {
  int64_t chunk_id = 0;
  int64_t document_id = 0;
  std::string title;
  std::string content;
  // The ranking score, by mode: hybrid the fused score, vector the
  // similarity, lexical the lexical score.
  double score = 0;
  // Per-mode scores where known: similarity is the cosine of query and
  // chunk embeddings (absent in lexical mode or for a chunk without an
  // embedding); lexical_score is the store's full-text score (absent in
  // vector mode or when the chunk was no lexical candidate).
  std::optional<double> similarity;
  std::optional<double> lexical_score;
  std::optional<double> trust_score;      // null until the evaluate stage ran on the chunk
  std::optional<double> relevance_score;  // null until the evaluate stage ran on the chunk
};

// How a search was answered, when not as asked.
struct SearchNote {
  std::optional<SearchMode> fell_back_to;  // lexical: the embedding server could not embed the query
  std::string warning;                     // why, for the response
};

// Keeps an in-memory copy of the stored vectors of the embedder's model
// (never mixing two models' spaces), topped up incrementally from the
// store before each query. Thread-safe.
class Searcher {
 public:
  Searcher(Store& store, Embedder& embedder);
  // InvalidArgument for an empty query or a limit outside 1..100. When the
  // query cannot be embedded for a transient reason (the embedding server
  // is down or overloaded), vector and hybrid searches are answered
  // lexically instead of failing, and `note` (if given) says so.
  Result<std::vector<SearchResult>> Search(const SearchQuery& query, SearchNote* note = nullptr);

 private:
  struct Candidates;
  Status Refresh();  // REQUIRES: mutex_ held
  // `q` is the query's vector (unused in lexical mode).
  Result<std::vector<SearchResult>> SearchFiltered(const SearchQuery& query, const std::vector<float>& q);
  // The best `k` chunks by similarity to `q`, best first, plus the
  // similarity of each `also` chunk that has a cached vector.
  Status VectorCandidates(const std::vector<float>& q, size_t k, const std::vector<int64_t>& also, Candidates& out);
  // One ranking `depth` candidates deep per mode; `exhausted` when no
  // ranking had more to give.
  Result<std::vector<SearchResult>> SearchAtDepth(const SearchQuery& query, const std::vector<float>& q,
                                                  size_t depth, bool& exhausted);
  // Results in `order` (best first, at most query.limit) that pass the
  // query's filters, text fetched for chunks that lack it, deleted chunks
  // skipped.
  Result<std::vector<SearchResult>> Assemble(const std::vector<std::pair<int64_t, double>>& order,
                                             Candidates& candidates, const SearchQuery& query);

  Store& store_;
  Embedder& embedder_;
  std::mutex mutex_;
  std::vector<ChunkVector> vectors_;  // GUARDED_BY(mutex_), chunk id order, embedder_'s model only
  int64_t scanned_ = 0;               // GUARDED_BY(mutex_): vectors read of every model
  int64_t last_chunk_id_ = 0;         // GUARDED_BY(mutex_)
};

}  // namespace refinery

// Exact cosine search over an in-memory copy of the stored vectors, the
// store's lexical search, and their fusion.
#include "search/search.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "search/fusion.h"

namespace refinery {
namespace {

// One store page per top-up round trip: large enough to load quickly, small
// enough not to hold a huge result set in memory at once.
constexpr int64_t kScanPage = 10000;

// Hybrid fusion, tuned on SciFact with the built-in hashing embedder
// (docs/benchmarks.md): its vectors are weak next to BM25, so the lexical
// ranking votes 5 times as much, and k = 10 lets the top ranks count more
// than the customary 60 does (equal weights at k = 60: nDCG@10 0.585 vs
// 0.668). Re-tune when a semantic embedder is configured.
constexpr double kHybridRrfK = 10;
constexpr double kHybridLexicalWeight = 5;

// A scored candidate; ordered best first (higher score, then lower chunk id
// so equal scores rank deterministically).
struct Scored {
  float score = 0;
  size_t index = 0;
  int64_t chunk_id = 0;
};

bool Better(const Scored& a, const Scored& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.chunk_id < b.chunk_id;
}

bool IsBlank(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

bool IsZero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

Status ValidateQuery(const SearchQuery& query) {
  if (query.query.empty() || IsBlank(query.query)) {
    return Status::InvalidArgument("query must not be empty");
  }
  if (query.limit < 1 || query.limit > 100) {
    return Status::InvalidArgument("limit must be an integer between 1 and 100");
  }
  return Status::Ok();
}

// Keeps the best `k` of `vectors` by dot product with `q` using a bounded
// heap (O(n log k), no per-vector allocation). Vectors of another dimension
// (written by a different embedding model) cannot be compared and are skipped.
std::vector<Scored> TopK(const std::vector<ChunkVector>& vectors, const std::vector<float>& q, size_t k) {
  std::vector<Scored> heap;  // a heap whose front is the worst kept candidate
  heap.reserve(k + 1);
  for (size_t i = 0; i < vectors.size(); ++i) {
    if (vectors[i].embedding.size() != q.size()) continue;
    Scored s{Dot(vectors[i].embedding, q), i, vectors[i].chunk_id};
    if (heap.size() < k) {
      heap.push_back(s);
      std::push_heap(heap.begin(), heap.end(), Better);
    } else if (Better(s, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), Better);
      heap.back() = s;
      std::push_heap(heap.begin(), heap.end(), Better);
    }
  }
  std::sort(heap.begin(), heap.end(), Better);
  return heap;
}

}  // namespace

std::string_view SearchModeName(SearchMode mode) {
  switch (mode) {
    case SearchMode::kVector:
      return "vector";
    case SearchMode::kLexical:
      return "lexical";
    case SearchMode::kHybrid:
      break;
  }
  return "hybrid";
}

std::optional<SearchMode> ParseSearchMode(std::string_view name) {
  for (SearchMode mode : {SearchMode::kHybrid, SearchMode::kVector, SearchMode::kLexical}) {
    if (name == SearchModeName(mode)) return mode;
  }
  return std::nullopt;
}

Searcher::Searcher(Store& store, Embedder& embedder) : store_(store), embedder_(embedder) {}

// Top-up rules. Chunk ids grow, so a scan past the newest cached id finds
// new embeddings cheaply. Two cases need a full rebuild, both detected by
// comparing the cached count with the store's count:
//  - fewer cached than the store had before the scan: a document embedded
//    out of chunk-id order (its chunks older than the newest cached one);
//  - more cached than the store has after the scan: chunks were deleted or
//    re-chunked. (Deleted chunks are also dropped at GetChunkHits time, so a
//    stale cache never returns a deleted chunk, it only wastes candidates.)
// A deletion exactly cancelling an out-of-order embedding goes unnoticed
// until the counts next differ; acceptable for a scan that an index replaces.
//
// Only vectors of the configured model are kept (another model's live in
// another space until `refinery reembed` replaces them), but all are
// counted, so the counts compare with the store's.
Status Searcher::Refresh() {
  auto before = store_.telemetry().Stats();
  if (!before.ok()) return before.status();
  const std::string model = embedder_.Name();
  auto count = [this] { return scanned_; };
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      auto page = store_.chunks().ScanEmbeddings(last_chunk_id_, kScanPage);
      if (!page.ok()) return page.status();
      for (auto& v : *page) {
        last_chunk_id_ = std::max(last_chunk_id_, v.chunk_id);
        ++scanned_;
        if (v.model == model) vectors_.push_back(std::move(v));
      }
      if (static_cast<int64_t>(page->size()) < kScanPage) break;
    }
    bool stale = count() < before->chunks_with_embeddings;
    if (!stale && count() > before->chunks_with_embeddings) {
      auto after = store_.telemetry().Stats();
      if (!after.ok()) return after.status();
      stale = count() > after->chunks_with_embeddings;
    }
    if (!stale || round == 1) break;
    vectors_.clear();  // rebuild from scratch, once
    scanned_ = 0;
    last_chunk_id_ = 0;
  }
  return Status::Ok();
}

// What the rankings found for one query; chunk text as far as known.
struct Searcher::Candidates {
  std::vector<int64_t> vector_order;   // best first
  std::vector<int64_t> lexical_order;  // best first
  std::unordered_map<int64_t, double> similarity;
  std::unordered_map<int64_t, double> lexical;
  std::unordered_map<int64_t, ChunkHit> hits;
};

Status Searcher::VectorCandidates(const std::vector<float>& q, size_t k, const std::vector<int64_t>& also,
                                  Candidates& out) {
  // A query without any word the embedder knows (all punctuation) has the
  // zero vector: every similarity would be 0, so nothing is relevant.
  if (IsZero(q)) return Status::Ok();
  std::lock_guard<std::mutex> lock(mutex_);
  REFINERY_RETURN_IF_ERROR(Refresh());
  for (const Scored& s : TopK(vectors_, q, k)) {
    out.vector_order.push_back(s.chunk_id);
    out.similarity.emplace(s.chunk_id, s.score);
  }
  for (int64_t id : also) {  // vectors_ is in chunk id order
    if (out.similarity.count(id)) continue;
    auto it = std::lower_bound(vectors_.begin(), vectors_.end(), id,
                               [](const ChunkVector& v, int64_t x) { return v.chunk_id < x; });
    if (it != vectors_.end() && it->chunk_id == id && it->embedding.size() == q.size()) {
      out.similarity.emplace(id, Dot(it->embedding, q));
    }
  }
  return Status::Ok();
}

// Chunk text is fetched outside the lock (the store is thread-safe and a
// slow store should not serialise every other query's scoring), and only
// for a window of `order` at a time: most candidates are never shown.
Result<std::vector<SearchResult>> Searcher::Assemble(const std::vector<std::pair<int64_t, double>>& order,
                                                     Candidates& c, const SearchQuery& query) {
  const int limit = query.limit;
  const auto lookup = [](const std::unordered_map<int64_t, double>& m, int64_t id) -> std::optional<double> {
    auto it = m.find(id);
    return it == m.end() ? std::nullopt : std::optional<double>(it->second);
  };
  std::vector<SearchResult> results;
  size_t fetched = 0;  // order[0, fetched) has its text in c.hits unless deleted
  for (size_t i = 0; i < order.size() && results.size() < static_cast<size_t>(limit); ++i) {
    if (i == fetched) {
      fetched = std::min(order.size(), i + 2 * static_cast<size_t>(limit));
      std::vector<int64_t> missing;
      for (size_t j = i; j < fetched; ++j) {
        if (!c.hits.count(order[j].first)) missing.push_back(order[j].first);
      }
      if (!missing.empty()) {
        auto hits = store_.chunks().Hits(missing);
        if (!hits.ok()) return hits.status();
        for (auto& hit : *hits) c.hits.emplace(hit.chunk.id, std::move(hit));
      }
    }
    const auto [id, score] = order[i];
    auto it = c.hits.find(id);
    if (it == c.hits.end()) continue;  // deleted since the cache was filled
    const std::optional<ChunkEvaluation>& e = it->second.chunk.evaluation;
    if ((query.min_trust && (!e || e->trust_score < *query.min_trust)) ||
        (query.min_relevance && (!e || e->relevance_score < *query.min_relevance))) {
      continue;
    }
    SearchResult r;
    r.chunk_id = id;
    r.document_id = it->second.chunk.document_id;
    r.title = std::move(it->second.title);
    r.content = std::move(it->second.chunk.content);
    r.score = score;
    r.similarity = lookup(c.similarity, id);
    r.lexical_score = lookup(c.lexical, id);
    if (e) {
      r.trust_score = e->trust_score;
      r.relevance_score = e->relevance_score;
    }
    results.push_back(std::move(r));
  }
  return results;
}

// The query is embedded once, whatever the depth rounds; a transient
// failure (the embedding server down or overloaded) answers lexically.
Result<std::vector<SearchResult>> Searcher::Search(const SearchQuery& query, SearchNote* note) {
  REFINERY_RETURN_IF_ERROR(ValidateQuery(query));
  if (query.mode == SearchMode::kLexical) return SearchFiltered(query, {});
  auto embedded = embedder_.Embed({query.query});
  if (embedded.ok() && embedded->size() == 1) return SearchFiltered(query, embedded->front());
  if (embedded.ok()) return Status::Internal("embedder returned no query vector");
  if (!embedded.status().transient()) {
    return Status(embedded.status().code(), "the query could not be embedded: " + embedded.status().message());
  }
  SearchQuery lexical = query;
  lexical.mode = SearchMode::kLexical;
  if (note != nullptr) {
    note->fell_back_to = SearchMode::kLexical;
    note->warning = "answered lexically: " + embedded.status().message();
  }
  return SearchFiltered(lexical, {});
}

Result<std::vector<SearchResult>> Searcher::SearchFiltered(const SearchQuery& query, const std::vector<float>& q) {
  // Over-fetch so that chunks deleted since the cache was filled can be
  // dropped and still leave `limit` results; in hybrid mode also the depth
  // of each ranking that goes into the fusion. Filters that leave fewer
  // than `limit` ask again four times deeper until the rankings run dry.
  const bool filtered = query.min_trust.has_value() || query.min_relevance.has_value();
  for (size_t depth = static_cast<size_t>(query.limit) * 4 + 20;; depth *= 4) {
    bool exhausted = false;
    auto results = SearchAtDepth(query, q, depth, exhausted);
    if (!results.ok() || !filtered || exhausted || results->size() >= static_cast<size_t>(query.limit)) {
      return results;
    }
  }
}

Result<std::vector<SearchResult>> Searcher::SearchAtDepth(const SearchQuery& query, const std::vector<float>& q,
                                                          size_t k, bool& exhausted) {
  const bool filtered = query.min_trust.has_value() || query.min_relevance.has_value();
  // Unfiltered lexical search needs only `limit` (the store skips nothing).
  const size_t lexical_depth = query.mode == SearchMode::kLexical && !filtered ? query.limit : k;
  Candidates c;
  exhausted = true;
  if (query.mode != SearchMode::kVector) {
    auto found = store_.search_index().Lexical(query.query, static_cast<int64_t>(lexical_depth));
    if (!found.ok()) return found.status();
    for (LexicalHit& h : *found) {
      const int64_t id = h.hit.chunk.id;
      c.lexical_order.push_back(id);
      c.lexical.emplace(id, h.score);
      c.hits.emplace(id, std::move(h.hit));
    }
  }
  exhausted = c.lexical_order.size() < lexical_depth;
  if (query.mode != SearchMode::kLexical) {
    REFINERY_RETURN_IF_ERROR(VectorCandidates(q, k, c.lexical_order, c));
    exhausted = exhausted && c.vector_order.size() < k;
  }
  std::vector<std::pair<int64_t, double>> order;
  if (query.mode == SearchMode::kVector) {
    for (int64_t id : c.vector_order) order.emplace_back(id, c.similarity[id]);
  } else if (query.mode == SearchMode::kLexical) {
    for (int64_t id : c.lexical_order) order.emplace_back(id, c.lexical[id]);
  } else {
    const std::vector<Ranking> rankings = {{c.vector_order, 1.0}, {c.lexical_order, kHybridLexicalWeight}};
    for (const FusedRank& f : ReciprocalRankFusion(rankings, kHybridRrfK)) {
      order.emplace_back(f.id, f.score);
    }
  }
  return Assemble(order, c, query);
}

}  // namespace refinery

// Exact cosine search over an in-memory copy of the stored vectors.
#include "search/search.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <unordered_map>
#include <utility>

namespace refinery {
namespace {

// One store page per top-up round trip: large enough to load quickly, small
// enough not to hold a huge result set in memory at once.
constexpr int64_t kScanPage = 10000;

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
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
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
std::vector<Scored> TopK(const std::vector<ChunkVector>& vectors, const std::vector<float>& q,
                         size_t k) {
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
Status Searcher::Refresh() {
  auto before = store_.Stats();
  if (!before.ok()) return before.status();
  auto count = [this] { return static_cast<int64_t>(vectors_.size()); };
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      auto page = store_.ScanEmbeddings(last_chunk_id_, kScanPage);
      if (!page.ok()) return page.status();
      for (auto& v : *page) {
        last_chunk_id_ = std::max(last_chunk_id_, v.chunk_id);
        vectors_.push_back(std::move(v));
      }
      if (static_cast<int64_t>(page->size()) < kScanPage) break;
    }
    bool stale = count() < before->chunks_with_embeddings;
    if (!stale && count() > before->chunks_with_embeddings) {
      auto after = store_.Stats();
      if (!after.ok()) return after.status();
      stale = count() > after->chunks_with_embeddings;
    }
    if (!stale || round == 1) break;
    vectors_.clear();  // rebuild from scratch, once
    last_chunk_id_ = 0;
  }
  return Status::Ok();
}

Result<std::vector<SearchResult>> Searcher::Search(const SearchQuery& query) {
  REFINERY_RETURN_IF_ERROR(ValidateQuery(query));
  auto embedded = embedder_.Embed({query.query});
  if (!embedded.ok()) return embedded.status();
  if (embedded->size() != 1) return Status::Internal("embedder returned no query vector");
  const std::vector<float>& q = embedded->front();
  // A query without any word the embedder knows (all punctuation) has the
  // zero vector: every similarity would be 0, so nothing is relevant.
  if (IsZero(q)) return std::vector<SearchResult>{};

  // Over-fetch so that chunks deleted since the cache was filled can be
  // dropped and still leave `limit` results.
  size_t k = static_cast<size_t>(query.limit) * 4 + 20;
  std::unordered_map<int64_t, float> scores;
  std::vector<int64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    REFINERY_RETURN_IF_ERROR(Refresh());
    for (const Scored& s : TopK(vectors_, q, k)) {
      scores.emplace(s.chunk_id, s.score);
      ids.push_back(s.chunk_id);
    }
  }
  if (ids.empty()) return std::vector<SearchResult>{};

  // Chunk text is fetched outside the lock: the store is thread-safe and a
  // slow store should not serialise every other query's scoring.
  auto hits = store_.GetChunkHits(ids);
  if (!hits.ok()) return hits.status();
  std::vector<SearchResult> results;
  results.reserve(hits->size());
  for (auto& hit : *hits) {
    auto it = scores.find(hit.chunk.id);
    if (it == scores.end()) continue;  // not asked for: ignore defensively
    SearchResult r;
    r.chunk_id = hit.chunk.id;
    r.document_id = hit.chunk.document_id;
    r.title = std::move(hit.title);
    r.content = std::move(hit.chunk.content);
    r.similarity = it->second;
    r.score = r.similarity;
    // min_trust / min_relevance apply only to evaluated chunks; no stage
    // evaluates chunks yet (trust and relevance are null), so they filter
    // nothing today.
    results.push_back(std::move(r));
  }
  std::sort(results.begin(), results.end(), [](const SearchResult& a, const SearchResult& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.chunk_id < b.chunk_id;
  });
  if (results.size() > static_cast<size_t>(query.limit)) results.resize(query.limit);
  return results;
}

}  // namespace refinery

// Never paying twice: the embedding and reasoning caches over the store.
#include "pipeline/caching_embedder.h"

#include <algorithm>
#include <unordered_map>

#include "core/log.h"

namespace refinery {
namespace {

class CachingEmbedder final : public Embedder {
 public:
  CachingEmbedder(std::unique_ptr<Embedder> inner, EmbeddingCache& cache, std::shared_ptr<LlmCacheCounters> counters)
      : inner_(std::move(inner)), cache_(cache), counters_(std::move(counters)) {}

  int Dimension() const override { return inner_->Dimension(); }
  std::string Name() const override { return inner_->Name(); }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    const std::string model = inner_->Name();
    std::vector<std::string> hashes;
    hashes.reserve(texts.size());
    for (const std::string& text : texts) hashes.push_back(EmbeddingTextHash(text));
    std::vector<std::vector<float>> out = Lookup(model, hashes);
    // The misses, each distinct text once (a document may repeat a chunk).
    std::vector<std::string> missing;
    std::vector<std::string> missing_hashes;
    std::unordered_map<std::string, size_t> slot;  // hash -> index in missing
    for (size_t i = 0; i < texts.size(); ++i) {
      if (out[i].empty() && slot.emplace(hashes[i], missing.size()).second) {
        missing.push_back(texts[i]);
        missing_hashes.push_back(hashes[i]);
      }
    }
    counters_->hits += static_cast<int64_t>(texts.size() - missing.size());
    counters_->misses += static_cast<int64_t>(missing.size());
    if (missing.empty()) return out;
    auto computed = inner_->Embed(missing);
    if (!computed.ok()) return computed.status();
    if (computed->size() != missing.size()) return Status::Internal(model + ": wrong number of vectors");
    for (size_t i = 0; i < texts.size(); ++i) {
      if (out[i].empty()) out[i] = (*computed)[slot[hashes[i]]];
    }
    Remember(model, missing_hashes, *computed);
    return out;
  }

 private:
  // One vector per hash, empty for a miss; a failing store misses all.
  std::vector<std::vector<float>> Lookup(const std::string& model, const std::vector<std::string>& hashes) {
    std::vector<std::vector<float>> out(hashes.size());
    const int dimension = inner_->Dimension();
    for (size_t start = 0; start < hashes.size(); start += EmbeddingCache::kMaxPerCall) {
      const size_t end = std::min(hashes.size(), start + EmbeddingCache::kMaxPerCall);
      auto found = cache_.Get(model, std::vector<std::string>(hashes.begin() + start, hashes.begin() + end));
      if (!found.ok()) {
        ++counters_->errors;
        spdlog::warn("embedding cache lookup failed, embedding without it: {}", found.status().ToString());
        return std::vector<std::vector<float>>(hashes.size());
      }
      for (size_t i = start; i < end; ++i) {
        std::vector<float>& v = (*found)[i - start];
        if (dimension == 0 || static_cast<int>(v.size()) == dimension) out[i] = std::move(v);
      }
    }
    return out;
  }

  void Remember(const std::string& model, const std::vector<std::string>& hashes,
                const std::vector<std::vector<float>>& vectors) {
    CachedVectors entries;
    for (size_t i = 0; i < hashes.size(); ++i) {
      if (!vectors[i].empty()) entries.emplace_back(hashes[i], vectors[i]);
      if (entries.size() == EmbeddingCache::kMaxPerCall || (i + 1 == hashes.size() && !entries.empty())) {
        Status s = cache_.Put(model, entries);
        entries.clear();
        if (!s.ok()) {
          ++counters_->errors;
          spdlog::warn("embedding cache write failed (the vectors are still used): {}", s.ToString());
          return;
        }
      }
    }
  }

  std::unique_ptr<Embedder> inner_;
  EmbeddingCache& cache_;
  std::shared_ptr<LlmCacheCounters> counters_;
};

class StoreAnswerCache final : public AnswerCache {
 public:
  StoreAnswerCache(ReasoningCache& cache, std::shared_ptr<LlmCacheCounters> counters)
      : cache_(cache), counters_(std::move(counters)) {}

  std::optional<std::string> Get(const std::string& key) override {
    auto found = cache_.Get(key);
    if (!found.ok()) {
      ++counters_->errors;
      spdlog::warn("reasoning cache lookup failed, asking the model: {}", found.status().ToString());
      return std::nullopt;
    }
    ++(found->has_value() ? counters_->hits : counters_->misses);
    return *found;
  }

  void Put(const std::string& key, const std::string& model, const std::string& answer) override {
    Status s = cache_.Put(key, model, answer);
    if (!s.ok()) {
      ++counters_->errors;
      spdlog::warn("reasoning cache write failed (the answer is still used): {}", s.ToString());
    }
  }

 private:
  ReasoningCache& cache_;
  std::shared_ptr<LlmCacheCounters> counters_;
};

}  // namespace

std::unique_ptr<AnswerCache> MakeStoreAnswerCache(ReasoningCache& cache, std::shared_ptr<LlmCacheCounters> counters) {
  return std::make_unique<StoreAnswerCache>(cache, std::move(counters));
}

std::unique_ptr<Embedder> MakeCachingEmbedder(std::unique_ptr<Embedder> inner, EmbeddingCache& cache,
                                              std::shared_ptr<LlmCacheCounters> counters) {
  return std::make_unique<CachingEmbedder>(std::move(inner), cache, std::move(counters));
}

}  // namespace refinery

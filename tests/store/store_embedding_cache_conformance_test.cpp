// Store conformance: the embedding cache (vectors by model and text hash)
// and the model each stored vector is tagged with. Every backend in
// StoreBackends() must pass.
#include "store_backends.h"

namespace refinery {
namespace {

class EmbeddingCacheConformance : public StoreConformance {
 protected:
  EmbeddingCache& cache() { return store().embedding_cache(); }
};

TEST_P(EmbeddingCacheConformance, PutThenGetRoundTripsVectorsPerModelAndMissesAreEmpty) {
  const std::string a = EmbeddingTextHash("alpha"), b = EmbeddingTextHash("beta");
  ASSERT_STORE_OK(cache().Put("ollama:m1", {{a, {0.25f, -1.5f, 3.0f}}}));
  auto got = cache().Get("ollama:m1", {a, b, a});
  ASSERT_STORE_OK(got);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0], (std::vector<float>{0.25f, -1.5f, 3.0f}));
  EXPECT_TRUE((*got)[1].empty());
  EXPECT_EQ((*got)[2], (*got)[0]);
  auto other_model = cache().Get("ollama:m2", {a});
  ASSERT_STORE_OK(other_model);
  EXPECT_TRUE(other_model->front().empty()) << "a vector of one model answered for another";
}

TEST_P(EmbeddingCacheConformance, TheFirstVectorStoredForAKeyStays) {
  const std::string h = EmbeddingTextHash("same text");
  ASSERT_STORE_OK(cache().Put("m", {{h, {1.0f}}}));
  ASSERT_STORE_OK(cache().Put("m", {{h, {2.0f}}, {h, {3.0f}}}));
  EXPECT_EQ(cache().Get("m", {h})->front(), std::vector<float>{1.0f});
}

TEST_P(EmbeddingCacheConformance, ABatchOfTheMaximumSizeRoundTrips) {
  CachedVectors entries;
  std::vector<std::string> hashes;
  for (size_t i = 0; i < EmbeddingCache::kMaxPerCall; ++i) {
    hashes.push_back(EmbeddingTextHash("text " + std::to_string(i)));
    entries.emplace_back(hashes.back(), std::vector<float>{static_cast<float>(i), 1.0f});
  }
  ASSERT_STORE_OK(cache().Put("m", entries));
  auto got = cache().Get("m", hashes);
  ASSERT_STORE_OK(got);
  for (size_t i = 0; i < hashes.size(); ++i) ASSERT_EQ((*got)[i].front(), static_cast<float>(i)) << i;
}

TEST_P(EmbeddingCacheConformance, BadArgumentsAreRejectedAndWriteNothing) {
  const std::string h = EmbeddingTextHash("x");
  EXPECT_STORE_CODE(cache().Put("", {{h, {1.0f}}}), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Put(std::string(257, 'm'), {{h, {1.0f}}}), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Put("m", {{h, {1.0f}}, {"NOT-HEX'}", {1.0f}}}), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Put("m", {{h, {}}}), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Get("m", {"g0"}), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Get("m", std::vector<std::string>(EmbeddingCache::kMaxPerCall + 1, h)), kInvalidArgument);
  EXPECT_TRUE(cache().Get("m", {h})->front().empty()) << "a rejected batch wrote part of itself";
  EXPECT_TRUE(cache().Get("m", {})->empty());
}

TEST_P(EmbeddingCacheConformance, VectorsCarryTheirModelAndReembedFindsTheOthers) {
  const int64_t old_doc = Insert("old");
  const int64_t new_doc = Insert("new");
  const int64_t waiting = Insert("waiting");
  for (int64_t id : {old_doc, new_doc, waiting}) {
    ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, std::to_string(id)), {"chunking", "embedding"}));
  }
  auto vectors_of = [this](int64_t id) {
    ChunkEmbeddings v;
    auto chunks = store().chunks().Get(id);
    EXPECT_STORE_OK(chunks);
    for (const Chunk& c : *chunks) v.emplace_back(c.id, std::vector<float>{1.0f, 0.0f});
    return v;
  };
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(old_doc, "model-a", vectors_of(old_doc), {"embedding", "complete"}));
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(new_doc, "model-b", vectors_of(new_doc), {"embedding", "complete"}));
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(waiting, "model-a", vectors_of(waiting), {"embedding", "evaluating"}));
  EXPECT_EQ(store().chunks().Get(old_doc)->front().embedding_model, "model-a");
  auto scanned = store().chunks().ScanEmbeddings(0, 100);
  ASSERT_STORE_OK(scanned);
  ASSERT_EQ(scanned->size(), 6u);
  EXPECT_EQ(scanned->front().model, "model-a");
  EXPECT_EQ(scanned->back().model, "model-a");
  EXPECT_EQ((*scanned)[2].model, "model-b");

  auto stale = store().chunks().EmbeddedByOtherModels("model-b", "complete", 0, 10);
  ASSERT_STORE_OK(stale);
  EXPECT_EQ(*stale, std::vector<int64_t>{old_doc});
  EXPECT_EQ(*store().chunks().EmbeddedByOtherModels("model-b", "evaluating", 0, 10), std::vector<int64_t>{waiting});
  EXPECT_TRUE(store().chunks().EmbeddedByOtherModels("model-b", "complete", old_doc, 10)->empty());
  EXPECT_TRUE(store().chunks().EmbeddedByOtherModels("model-a", "complete", 0, 0)->empty());
  EXPECT_STORE_CODE(store().chunks().EmbeddedByOtherModels("", "complete", 0, 10), kInvalidArgument);
  EXPECT_STORE_CODE(store().chunks().SetEmbeddings(old_doc, "", {}, {"complete", "complete"}), kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, EmbeddingCacheConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

// Searcher against the real SQLite store, with a fake embedder whose query
// vectors the tests choose, so expected rankings are exact.
#include "search/search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/hash.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using Vec = std::vector<float>;

Vec Unit(Vec v) {
  float norm = 0;
  for (float x : v) norm += x * x;
  norm = std::sqrt(norm);
  for (float& x : v) x /= norm;
  return v;
}

// Maps known query texts to chosen vectors; any other text is the zero
// vector (what the real embedder gives an all-punctuation text).
class FakeEmbedder : public Embedder {
 public:
  int Dimension() const override { return 3; }
  std::string Name() const override { return "fake-3"; }
  Result<std::vector<Vec>> Embed(const std::vector<std::string>& texts) override {
    ++calls;
    std::vector<Vec> out;
    for (const auto& text : texts) {
      auto it = vectors.find(text);
      out.push_back(it == vectors.end() ? Vec(3, 0.0f) : it->second);
    }
    return out;
  }
  std::map<std::string, Vec> vectors;
  int calls = 0;
};

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config;
    config.data_dir = dir_.path();
    auto store = OpenStore(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    embedder_.vectors["x"] = Unit({1, 0, 0});
    embedder_.vectors["y"] = Unit({0, 1, 0});
    searcher_ = std::make_unique<Searcher>(*store_, embedder_);
  }

  // A document in "embedding" with one chunk per vector; returns its id.
  int64_t AddChunked(const std::string& title, size_t chunks) {
    NewDocument doc;
    doc.title = title;
    doc.content_hash = Sha256Hex(title);
    doc.state = "chunking";
    auto inserted = store_->documents().Insert(doc);
    EXPECT_TRUE(inserted.ok()) << inserted.status().ToString();
    std::vector<Chunk> list(chunks);
    for (size_t i = 0; i < chunks; ++i) {
      list[i].chunk_index = static_cast<int>(i);
      list[i].content = title + " chunk " + std::to_string(i);
      list[i].char_end = static_cast<int64_t>(list[i].content.size());
    }
    EXPECT_TRUE(store_->chunks().Replace(inserted->id, list, {"chunking", "embedding"}).ok());
    return inserted->id;
  }

  void Embed(int64_t id, const std::vector<Vec>& vectors) {
    auto chunks = store_->chunks().Get(id);
    ASSERT_TRUE(chunks.ok());
    ASSERT_EQ(chunks->size(), vectors.size());
    std::vector<std::pair<int64_t, Vec>> updates;
    for (size_t i = 0; i < vectors.size(); ++i) updates.emplace_back((*chunks)[i].id, vectors[i]);
    ASSERT_TRUE(store_->chunks().SetEmbeddings(id, embedder_.Name(), updates, {"embedding", "complete"}).ok());
  }

  int64_t AddDocument(const std::string& title, const std::vector<Vec>& vectors) {
    int64_t id = AddChunked(title, vectors.size());
    Embed(id, vectors);
    return id;
  }

  // Vector mode unless told: most cases here pin down the vector ranking.
  Result<std::vector<SearchResult>> Run(const std::string& query, int limit = 10,
                                        SearchMode mode = SearchMode::kVector) {
    SearchQuery q;
    q.query = query;
    q.limit = limit;
    q.mode = mode;
    return searcher_->Search(q);
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeEmbedder embedder_;
  std::unique_ptr<Searcher> searcher_;  // made in SetUp, once the store exists
};

TEST_F(SearchTest, RanksByCosineSimilarity) {
  int64_t far = AddDocument("far", {Unit({0, 0, 1})});
  int64_t near = AddDocument("near", {Unit({1, 0.2f, 0})});
  int64_t exact = AddDocument("exact", {Unit({1, 0, 0})});
  int64_t mid = AddDocument("mid", {Unit({1, 1, 0})});
  auto results = Run("x");
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[0].document_id, exact);
  EXPECT_EQ((*results)[1].document_id, near);
  EXPECT_EQ((*results)[2].document_id, mid);
  EXPECT_EQ((*results)[3].document_id, far);
  EXPECT_NEAR(*(*results)[0].similarity, 1.0, 1e-5);
  EXPECT_NEAR(*(*results)[2].similarity, std::sqrt(0.5), 1e-5);
  EXPECT_NEAR(*(*results)[3].similarity, 0.0, 1e-5);
  for (const auto& r : *results) {
    ASSERT_TRUE(r.similarity.has_value());
    EXPECT_EQ(r.score, *r.similarity);
    EXPECT_FALSE(r.lexical_score.has_value());
    EXPECT_FALSE(r.trust_score.has_value());
    EXPECT_FALSE(r.relevance_score.has_value());
  }
  EXPECT_EQ((*results)[0].title, "exact");
  EXPECT_EQ((*results)[0].content, "exact chunk 0");
}

TEST_F(SearchTest, VectorsOfAnotherModelAreNeverCompared) {
  const int64_t other = AddChunked("other model", 1);
  auto chunks = store_->chunks().Get(other);
  ASSERT_TRUE(chunks.ok());
  ASSERT_TRUE(store_->chunks()
                  .SetEmbeddings(other, "another-model-3", {{chunks->front().id, Unit({1, 0, 0})}},
                                 {"embedding", "complete"})
                  .ok());
  const int64_t mine = AddDocument("mine", {Unit({1, 1, 0})});
  auto results = Run("x");
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 1u) << "a vector of the same dimension but another model was ranked";
  EXPECT_EQ(results->front().document_id, mine);
}

TEST_F(SearchTest, LimitBoundsAreEnforced) {
  for (int i = 0; i < 5; ++i) AddDocument("doc" + std::to_string(i), {Unit({1, float(i), 0})});
  EXPECT_EQ(Run("x", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Run("x", 101).status().code(), StatusCode::kInvalidArgument);
  auto one = Run("x", 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().title, "doc0");
  auto three = Run("x", 3);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->size(), 3u);
  auto all = Run("x", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
}

TEST_F(SearchTest, EmptyQueryIsRejected) {
  EXPECT_EQ(Run("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Run("  \t\n").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, EmptyStoreAndZeroQueryVectorGiveNoResults) {
  auto empty = Run("x");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  AddDocument("a", {Unit({1, 0, 0})});
  auto unknown = Run("!!!");  // the zero vector
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());
}

TEST_F(SearchTest, DeletedDocumentsChunksAreNotReturned) {
  int64_t keep = AddDocument("keep", {Unit({1, 1, 0})});
  int64_t gone = AddDocument("gone", {Unit({1, 0, 0}), Unit({1, 0.1f, 0})});
  auto before = Run("x");
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 3u);
  EXPECT_EQ(before->front().document_id, gone);
  ASSERT_TRUE(store_->documents().Delete(gone).ok());
  auto after = Run("x");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(after->front().document_id, keep);
}

TEST_F(SearchTest, DeletionHiddenByNewEmbeddingsIsStillFiltered) {
  int64_t gone = AddDocument("gone", {Unit({1, 0, 0})});
  ASSERT_TRUE(Run("x").ok());  // caches "gone"
  ASSERT_TRUE(store_->documents().Delete(gone).ok());
  int64_t fresh = AddDocument("fresh", {Unit({1, 1, 0})});  // counts match again
  auto results = Run("x");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().document_id, fresh);
}

TEST_F(SearchTest, PicksUpNewAndOutOfOrderEmbeddings) {
  int64_t older = AddChunked("older", 1);  // lower chunk ids, embedded last
  int64_t newer = AddDocument("newer", {Unit({0, 1, 0})});
  auto first = Run("x");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  Embed(older, {Unit({1, 0, 0})});
  auto second = Run("x");
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].document_id, older);
  EXPECT_EQ((*second)[1].document_id, newer);
}

TEST_F(SearchTest, ReembeddedDocumentUsesItsNewVectors) {
  int64_t id = AddDocument("doc", {Unit({1, 0, 0})});
  AddDocument("other", {Unit({0.5f, 1, 0})});
  auto first = Run("y");
  ASSERT_TRUE(first.ok());
  EXPECT_NE(first->front().document_id, id);
  // Re-chunking drops the old chunks (and their vectors) and adds new ones.
  ASSERT_TRUE(store_->documents().SetState(id, {"complete", "chunking"}).ok());
  std::vector<Chunk> chunks(1);
  chunks[0].content = "doc again";
  ASSERT_TRUE(store_->chunks().Replace(id, chunks, {"chunking", "embedding"}).ok());
  Embed(id, {Unit({0, 1, 0})});
  auto second = Run("y");
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ(second->front().document_id, id);
  EXPECT_EQ(second->front().content, "doc again");
}

TEST_F(SearchTest, ScansPastOneStorePage) {
  // More vectors than one ScanEmbeddings page (10000): the best is the last.
  std::vector<Vec> vectors(10050, Unit({0, 1, 0}));
  vectors.back() = Unit({1, 0, 0});
  int64_t id = AddDocument("many", vectors);
  auto results = Run("x", 1);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->front().document_id, id);
  EXPECT_EQ(results->front().content, "many chunk 10049");
}

// Vector ranking: alpha, zebra stripes, zebra. Lexical ranking of "zebra
// stripes": zebra stripes, zebra. Fused (k 10, lexical weight 5): zebra
// stripes (2nd + 1st), zebra (3rd + 2nd), alpha (1st in one list only).
TEST_F(SearchTest, HybridFusesVectorAndLexicalRanks) {
  embedder_.vectors["zebra stripes"] = Unit({1, 0, 0});
  int64_t alpha = AddDocument("alpha", {Unit({1, 0, 0})});
  int64_t zebra = AddDocument("zebra", {Unit({0, 0, 1})});
  int64_t both = AddDocument("zebra stripes", {Unit({1, 0.5f, 0})});
  auto results = Run("zebra stripes", 10, SearchMode::kHybrid);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0].document_id, both);
  EXPECT_EQ((*results)[1].document_id, zebra);
  EXPECT_EQ((*results)[2].document_id, alpha);
  EXPECT_DOUBLE_EQ((*results)[0].score, 1.0 / 12 + 5.0 / 11);
  EXPECT_DOUBLE_EQ((*results)[1].score, 1.0 / 13 + 5.0 / 12);
  EXPECT_DOUBLE_EQ((*results)[2].score, 1.0 / 11);
  EXPECT_TRUE((*results)[0].lexical_score.has_value());
  EXPECT_NEAR(*(*results)[0].similarity, 1 / std::sqrt(1.25), 1e-5);
  EXPECT_FALSE((*results)[2].lexical_score.has_value());
  EXPECT_NEAR(*(*results)[2].similarity, 1.0, 1e-5);
  EXPECT_EQ((*results)[0].content, "zebra stripes chunk 0");
  // The default mode is lexical: alpha has no word of the query.
  SearchQuery q;
  q.query = "zebra stripes";
  auto by_default = searcher_->Search(q);
  ASSERT_TRUE(by_default.ok());
  ASSERT_EQ(by_default->size(), 2u);
  EXPECT_EQ(by_default->front().document_id, both);
  EXPECT_FALSE(by_default->front().similarity.has_value());
}

TEST_F(SearchTest, HybridGivesSimilarityOfLexicalHitsOutsideTheVectorTop) {
  embedder_.vectors["zebra"] = Unit({1, 0, 0});
  for (int i = 0; i < 30; ++i) AddDocument("doc" + std::to_string(i), {Unit({1, 0.01f * i, 0})});
  AddDocument("zebra", {Unit({0, 1, 0})});
  auto results = Run("zebra", 2, SearchMode::kHybrid);  // vector depth 28: zebra is not in it
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);  // zebra (lexical 1st), doc0 (vector 1st)
  const SearchResult& hit = (*results)[0];
  EXPECT_EQ(hit.title, "zebra");
  ASSERT_TRUE(hit.similarity.has_value());
  EXPECT_NEAR(*hit.similarity, 0.0, 1e-6);
  EXPECT_TRUE(hit.lexical_score.has_value());
}

TEST_F(SearchTest, LexicalModeUsesTheStoreOnlyAndHybridSurvivesAZeroVector) {
  AddDocument("alpha", {Unit({1, 0, 0})});
  int64_t zebra = AddDocument("zebra", {Unit({0, 1, 0})});
  const int calls = embedder_.calls;
  auto lexical = Run("zebra!", 10, SearchMode::kLexical);
  ASSERT_TRUE(lexical.ok()) << lexical.status().ToString();
  EXPECT_EQ(embedder_.calls, calls);  // no query embedding in lexical mode
  ASSERT_EQ(lexical->size(), 1u);
  EXPECT_EQ(lexical->front().document_id, zebra);
  ASSERT_TRUE(lexical->front().lexical_score.has_value());
  EXPECT_EQ(lexical->front().score, *lexical->front().lexical_score);
  EXPECT_FALSE(lexical->front().similarity.has_value());
  // "zebra!" embeds to the zero vector: hybrid still has the lexical hit.
  auto hybrid = Run("zebra!", 10, SearchMode::kHybrid);
  ASSERT_TRUE(hybrid.ok());
  ASSERT_EQ(hybrid->size(), 1u);
  EXPECT_EQ(hybrid->front().document_id, zebra);
  auto none = Run("the !!!", 10, SearchMode::kLexical);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SearchModeTest, NamesRoundTripAndUnknownNamesAreRejected) {
  for (SearchMode mode : {SearchMode::kHybrid, SearchMode::kVector, SearchMode::kLexical}) {
    EXPECT_EQ(ParseSearchMode(SearchModeName(mode)), mode);
  }
  EXPECT_EQ(SearchModeName(SearchMode::kHybrid), "hybrid");
  EXPECT_EQ(SearchQuery{}.mode, SearchMode::kLexical);
  EXPECT_FALSE(ParseSearchMode("Hybrid").has_value());
  EXPECT_FALSE(ParseSearchMode("").has_value());
  EXPECT_FALSE(ParseSearchMode("bm25").has_value());
}

TEST(SearchRealEmbedderTest, RanksTheTopicalChunkFirst) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path();
  auto store = OpenStore(config);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Migrate().ok());
  auto embedder = MakeHashingEmbedder(384);
  std::vector<std::string> texts = {"Cats purr when they are content and sleep a lot.",
                                    "The stock market fell sharply on interest rate fears.",
                                    "Volcanoes erupt molten lava and ash."};
  for (size_t i = 0; i < texts.size(); ++i) {
    NewDocument doc{"doc" + std::to_string(i), "", Sha256Hex(texts[i]), "text/plain", "", "chunking", "{}"};
    auto inserted = (*store)->documents().Insert(doc);
    ASSERT_TRUE(inserted.ok());
    Chunk chunk;
    chunk.content = texts[i];
    ASSERT_TRUE((*store)->chunks().Replace(inserted->id, {chunk}, {"chunking", "embedding"}).ok());
    auto stored = (*store)->chunks().Get(inserted->id);
    ASSERT_TRUE(stored.ok());
    auto vectors = embedder->Embed({texts[i]});
    ASSERT_TRUE(vectors.ok());
    ASSERT_TRUE((*store)
                    ->chunks()
                    .SetEmbeddings(inserted->id, embedder->Name(), {{stored->front().id, vectors->front()}},
                                   {"embedding", "complete"})
                    .ok());
  }
  Searcher searcher(**store, *embedder);
  auto results = searcher.Search({"why do cats purr", 3, std::nullopt, std::nullopt});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_FALSE(results->empty());
  EXPECT_EQ(results->front().title, "doc0");
}

// Trust filters must not starve the list: the 12 trusted chunks rank below
// 200 untrusted ones (longer text, lower BM25), past the first ranking depth.
TEST_F(SearchTest, TrustFiltersAskForMoreInsteadOfReturningFewer) {
  const std::string filler = " with many more words that lengthen this chunk and lower its score";
  for (int i = 0; i < 212; ++i) {
    const bool trusted = i >= 200;
    NewDocument doc;
    doc.title = "t" + std::to_string(i);
    doc.content_hash = Sha256Hex(doc.title);
    doc.state = "evaluating";
    auto inserted = store_->documents().Insert(doc);
    ASSERT_TRUE(inserted.ok());
    Chunk chunk;
    chunk.content = "alpha " + std::to_string(i) + (trusted ? filler + filler : "");
    chunk.char_end = static_cast<int64_t>(chunk.content.size());
    ASSERT_TRUE(store_->chunks().Replace(inserted->id, {chunk}, {"evaluating", "evaluating"}).ok());
    const int64_t chunk_id = store_->chunks().Get(inserted->id)->front().id;
    ChunkEvaluation e{trusted ? 0.9 : 0.1, 0.5, "general", "test", "test"};
    ASSERT_TRUE(store_->chunks().SetEvaluations(inserted->id, {{chunk_id, e}}, {"evaluating", "complete"}).ok());
  }
  AddChunked("alpha unevaluated", 1);  // no evaluation: left out under a filter
  for (SearchMode mode : {SearchMode::kLexical, SearchMode::kHybrid}) {
    SearchQuery q{"alpha", 10, 0.5, std::nullopt, mode};
    auto results = searcher_->Search(q);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 10u) << SearchModeName(mode);
    for (const SearchResult& r : *results) {
      ASSERT_TRUE(r.trust_score.has_value());
      EXPECT_DOUBLE_EQ(*r.trust_score, 0.9);
      EXPECT_DOUBLE_EQ(*r.relevance_score, 0.5);
    }
    q.min_trust = 0.95;  // nothing passes: the rankings run dry, no endless loop
    EXPECT_TRUE(searcher_->Search(q)->empty());
  }
  auto unfiltered = Run("alpha", 5, SearchMode::kLexical);
  ASSERT_TRUE(unfiltered.ok());
  ASSERT_EQ(unfiltered->size(), 5u);
  EXPECT_DOUBLE_EQ(*unfiltered->front().trust_score, 0.1);
}

}  // namespace
}  // namespace refinery

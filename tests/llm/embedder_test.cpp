#include "llm/embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace refinery {
namespace {

std::vector<float> EmbedOne(Embedder& embedder, const std::string& text) {
  auto result = embedder.Embed({text});
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? result.value().at(0) : std::vector<float>{};
}

double Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

bool IsZero(const std::vector<float>& v) {
  for (float x : v) {
    if (x != 0.0f) return false;
  }
  return true;
}

struct Abstract {
  std::string title;
  std::string text;
};

std::vector<Abstract> LoadSciFact(size_t limit) {
  std::ifstream in(std::string(REFINERY_SCIFACT_DIR) + "/corpus.jsonl");
  std::vector<Abstract> out;
  std::string line;
  while (out.size() < limit && std::getline(in, line)) {
    auto json = nlohmann::json::parse(line);
    out.push_back({json.at("title").get<std::string>(), json.at("text").get<std::string>()});
  }
  return out;
}

TEST(EmbedderTest, DimensionAndName) {
  for (int dim : {1, 16, 384, 1000}) {
    auto embedder = MakeHashingEmbedder(dim);
    EXPECT_EQ(embedder->Dimension(), dim);
    EXPECT_EQ(embedder->Name(), "builtin-hash-" + std::to_string(dim));
    auto v = EmbedOne(*embedder, "Insulin resistance in skeletal muscle.");
    EXPECT_EQ(v.size(), static_cast<size_t>(dim));
  }
  EXPECT_THROW(MakeHashingEmbedder(0), std::invalid_argument);
}

TEST(EmbedderTest, UnitNorm) {
  auto embedder = MakeHashingEmbedder(384);
  auto vectors =
      embedder->Embed({"a b c d e f g h", "Tumour necrosis factor alpha", "x", "漢字 😀", std::string(5000, 'z')});
  ASSERT_TRUE(vectors.ok());
  ASSERT_EQ(vectors->size(), 5u);
  for (const auto& v : *vectors) EXPECT_NEAR(Norm(v), 1.0, 1e-5);
}

TEST(EmbedderTest, EmptyAndPunctuationGiveZeroVector) {
  auto embedder = MakeHashingEmbedder(64);
  auto vectors = embedder->Embed({"", "   ", "!!! ... ,;: -- ()", "the of and"});
  ASSERT_TRUE(vectors.ok());
  for (const auto& v : *vectors) {
    EXPECT_EQ(v.size(), 64u);
    EXPECT_TRUE(IsZero(v));
  }
  EXPECT_TRUE(embedder->Embed({})->empty());
}

TEST(EmbedderTest, DeterministicAcrossCallsAndInstances) {
  auto a = MakeHashingEmbedder(384);
  auto b = MakeHashingEmbedder(384);
  std::string text = "Vitamin D supplementation reduces fracture risk in elderly women.";
  auto first = EmbedOne(*a, text);
  EXPECT_EQ(first, EmbedOne(*a, text));
  EXPECT_EQ(first, EmbedOne(*b, text));
  auto batch = a->Embed({"other text", text});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ((*batch)[1], first) << "batching must not change a vector";
}

TEST(EmbedderTest, CaseOfAsciiLettersIsIgnored) {
  auto embedder = MakeHashingEmbedder(384);
  EXPECT_EQ(EmbedOne(*embedder, "Insulin RESISTANCE"), EmbedOne(*embedder, "insulin resistance"));
}

// Pins the hash and weights: if these change, every stored vector changes.
TEST(EmbedderTest, PinnedValues) {
  auto embedder = MakeHashingEmbedder(384);
  const std::vector<std::pair<std::string, std::vector<std::pair<size_t, float>>>> cases = {
      {"The quick brown fox jumps over the lazy dog.",
       {{1, 0.1109448f}, {34, -0.1921620f}, {35, -0.1568996f}, {37, -0.1109448f}}},
      {"hello", {{1, -0.2581989f}, {41, -0.2581989f}, {42, -0.2581989f}, {62, 0.2581989f}}},
  };
  for (const auto& [text, expected] : cases) {
    auto v = EmbedOne(*embedder, text);
    ASSERT_EQ(v.size(), 384u);
    size_t first_nonzero = 0;
    while (first_nonzero < v.size() && v[first_nonzero] == 0.0f) ++first_nonzero;
    EXPECT_EQ(first_nonzero, expected[0].first) << text;
    for (const auto& [index, value] : expected) EXPECT_NEAR(v[index], value, 1e-5) << text << " @" << index;
  }
}

TEST(EmbedderTest, RelatedTextsAreCloser) {
  auto embedder = MakeHashingEmbedder(384);
  auto query = EmbedOne(*embedder, "insulin resistance in type 2 diabetes");
  auto related = EmbedOne(*embedder, "Type 2 diabetic patients show insulin resistance in muscle.");
  auto unrelated = EmbedOne(*embedder, "The galaxy cluster emits strong X-ray radiation.");
  EXPECT_GT(Cosine(query, related), Cosine(query, unrelated) + 0.2f);
  // Character n-grams relate inflections that share no whole word.
  auto mutation = EmbedOne(*embedder, "mutation");
  EXPECT_GT(Cosine(EmbedOne(*embedder, "mutations"), mutation), 0.1f);
  EXPECT_LT(std::abs(Cosine(EmbedOne(*embedder, "galaxy"), mutation)), 0.05f);
}

TEST(EmbedderTest, SciFactAbstractIsClosestToItsOwnTitle) {
  auto abstracts = LoadSciFact(200);
  ASSERT_EQ(abstracts.size(), 200u) << "SciFact corpus not found under " << REFINERY_SCIFACT_DIR;
  auto embedder = MakeHashingEmbedder(384);
  std::vector<std::string> titles, texts;
  for (const auto& a : abstracts) {
    titles.push_back(a.title);
    texts.push_back(a.text);
  }
  auto title_vectors = embedder->Embed(titles);
  auto text_vectors = embedder->Embed(texts);
  ASSERT_TRUE(title_vectors.ok() && text_vectors.ok());
  std::mt19937 rng(42);
  int wins = 0;
  for (size_t i = 0; i < abstracts.size(); ++i) {
    size_t other = (i + 1 + rng() % (abstracts.size() - 1)) % abstracts.size();
    float own = Cosine((*text_vectors)[i], (*title_vectors)[i]);
    float foreign = Cosine((*text_vectors)[i], (*title_vectors)[other]);
    wins += own > foreign ? 1 : 0;
  }
  EXPECT_GE(wins, 180);
  std::printf("own title closer than a random title for %d of 200 abstracts\n", wins);
}

TEST(EmbedderTest, CosineEdgeCases) {
  std::vector<float> a = {1, 0, 0}, b = {0, 1, 0}, zero = {0, 0, 0};
  EXPECT_FLOAT_EQ(Cosine(a, a), 1.0f);
  EXPECT_FLOAT_EQ(Cosine(a, b), 0.0f);
  EXPECT_FLOAT_EQ(Cosine(a, {-2, 0, 0}), -1.0f);
  EXPECT_FLOAT_EQ(Cosine(a, {3, 0, 0}), 1.0f) << "scale-invariant";
  EXPECT_FLOAT_EQ(Cosine(a, zero), 0.0f);
  EXPECT_FLOAT_EQ(Cosine(zero, zero), 0.0f);
  EXPECT_FLOAT_EQ(Cosine({}, {}), 0.0f);
  EXPECT_FLOAT_EQ(Cosine(a, {1, 0}), 0.0f) << "length mismatch";
  EXPECT_NEAR(Cosine({1, 1}, {1, 0}), std::sqrt(0.5f), 1e-6);
}

TEST(EmbedderTest, OpenEmbedderUsesBuiltinByDefault) {
  Config config;
  config.embedding_dim = 128;
  auto embedder = OpenEmbedder(config);
  ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
  EXPECT_EQ((*embedder)->Dimension(), 128);
  EXPECT_EQ((*embedder)->Name(), "builtin-hash-128");
  config.embedding_dim = 0;
  auto invalid = OpenEmbedder(config);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace refinery

// The built-in embedder: feature hashing of words, word pairs and character
// n-grams. Every constant below is part of the output format: changing one
// changes every stored vector, so the tests pin a few values.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "llm/embedder.h"

namespace refinery {
namespace {

constexpr float kBigramWeight = 0.25f;
constexpr float kCharGramWeight =
    2.0f;  // all n-grams of one word together, in L2 terms; tuned on SciFact (docs/benchmarks.md)
constexpr size_t kMinGram = 3;
constexpr size_t kMaxGram = 5;
// Distinguishes the feature kinds, so the word "abc" and the 3-gram "abc" differ.
constexpr uint64_t kUnigramSeed = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kBigramSeed = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kCharGramSeed = 0x165667B19E3779F9ULL;

// FNV-1a 64: explicit and stable everywhere, unlike std::hash.
constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

constexpr uint64_t Fnv1a(std::string_view bytes) {
  uint64_t h = kFnvOffset;
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return h;
}

// SplitMix64's finaliser: spreads FNV's weak low bits before the modulo.
constexpr uint64_t Mix(uint64_t z) {
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ULL;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Function words that make every English text look alike.
constexpr std::string_view kStopWords[] = {
    "a",     "about", "after", "all",   "also", "an",    "and",    "any",     "are",   "as",    "at",      "be",
    "been",  "being", "both",  "but",   "by",   "can",   "could",  "did",     "do",    "does",  "during",  "each",
    "for",   "from",  "had",   "has",   "have", "he",    "her",    "his",     "how",   "i",     "if",      "in",
    "into",  "is",    "it",    "its",   "may",  "might", "more",   "most",    "much",  "must",  "no",      "not",
    "of",    "on",    "or",    "other", "our",  "over",  "she",    "should",  "so",    "some",  "such",    "than",
    "that",  "the",   "their", "them",  "then", "there", "these",  "they",    "this",  "those", "to",      "under",
    "up",    "upon",  "us",    "very",  "was",  "we",    "were",   "what",    "when",  "where", "whether", "which",
    "while", "who",   "whom",  "why",   "will", "with",  "within", "without", "would", "you",   "your"};

const std::vector<uint64_t>& StopWordHashes() {
  static const std::vector<uint64_t> hashes = [] {
    std::vector<uint64_t> v;
    for (std::string_view word : kStopWords) v.push_back(Fnv1a(word));
    std::sort(v.begin(), v.end());
    return v;
  }();
  return hashes;
}

bool IsStopWord(uint64_t word_hash) {
  const auto& hashes = StopWordHashes();
  return std::binary_search(hashes.begin(), hashes.end(), word_hash);
}

// Letters, digits, and every byte of a non-ASCII code point.
bool IsTokenByte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

struct Word {
  uint64_t hash;
  std::string_view text;
};

// Buffers reused across the texts of one Embed call.
struct Scratch {
  std::string lower;
  std::string padded;
  std::vector<Word> words;
  std::vector<uint64_t> bigrams;
};

// Counts each run of equal keys in a sorted range and calls fn(first, 1 + ln tf).
template <typename It, typename Key, typename Fn>
void ForEachSublinear(It begin, It end, Key key, Fn fn) {
  for (It run = begin; run != end;) {
    It next = run;
    while (next != end && key(*next) == key(*run)) ++next;
    fn(*run, 1.0f + std::log(static_cast<float>(next - run)));
    run = next;
  }
}

class Accumulator {
 public:
  explicit Accumulator(std::vector<float>& out) : out_(out) {}
  // Signed hashing: the top bit picks the sign, so collisions cancel on average.
  void Add(uint64_t feature, float weight) {
    float sign = (feature >> 63) != 0 ? -1.0f : 1.0f;
    out_[feature % out_.size()] += sign * weight;
  }

 private:
  std::vector<float>& out_;
};

// Character n-grams of "<word>", sharing `weight` so their L2 norm is `weight`.
void AddCharGrams(std::string_view word, float weight, Scratch& scratch, Accumulator& acc) {
  std::string& padded = scratch.padded;
  padded.assign(1, '<').append(word).push_back('>');
  size_t n = padded.size();
  size_t grams = 0;
  for (size_t len = kMinGram; len <= kMaxGram && len <= n; ++len) grams += n - len + 1;
  if (grams == 0) return;
  float each = weight / std::sqrt(static_cast<float>(grams));
  for (size_t start = 0; start + kMinGram <= n; ++start) {
    uint64_t h = kFnvOffset;
    for (size_t len = 1; len <= kMaxGram && start + len <= n; ++len) {
      h = (h ^ static_cast<unsigned char>(padded[start + len - 1])) * kFnvPrime;
      if (len >= kMinGram) acc.Add(Mix(h ^ kCharGramSeed), each);
    }
  }
}

// Lower-cases ASCII letters and splits into content words (stop words dropped).
void Tokenize(std::string_view text, Scratch& scratch) {
  std::string& lower = scratch.lower;
  lower.assign(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  scratch.words.clear();
  size_t pos = 0;
  while (pos < lower.size()) {
    while (pos < lower.size() && !IsTokenByte(static_cast<unsigned char>(lower[pos]))) ++pos;
    size_t start = pos;
    while (pos < lower.size() && IsTokenByte(static_cast<unsigned char>(lower[pos]))) ++pos;
    if (pos == start) break;
    std::string_view token(lower.data() + start, pos - start);
    uint64_t h = Fnv1a(token);
    if (!IsStopWord(h)) scratch.words.push_back({h, token});
  }
}

void EmbedOne(std::string_view text, Scratch& scratch, std::vector<float>& out) {
  Tokenize(text, scratch);
  Accumulator acc(out);
  // Bigrams of adjacent content words, in text order (before sorting words).
  scratch.bigrams.clear();
  for (size_t i = 1; i < scratch.words.size(); ++i) {
    scratch.bigrams.push_back(Mix(scratch.words[i - 1].hash ^ Mix(scratch.words[i].hash ^ kBigramSeed)));
  }
  auto& words = scratch.words;
  std::sort(words.begin(), words.end(), [](const Word& a, const Word& b) { return a.hash < b.hash; });
  ForEachSublinear(
      words.begin(), words.end(), [](const Word& w) { return w.hash; },
      [&](const Word& w, float weight) {
        acc.Add(Mix(w.hash ^ kUnigramSeed), weight);
        AddCharGrams(w.text, kCharGramWeight * weight, scratch, acc);
      });
  auto& bigrams = scratch.bigrams;
  std::sort(bigrams.begin(), bigrams.end());
  ForEachSublinear(
      bigrams.begin(), bigrams.end(), [](uint64_t b) { return b; },
      [&](uint64_t b, float weight) { acc.Add(b, kBigramWeight * weight); });
  double norm = 0;
  for (float v : out) norm += static_cast<double>(v) * v;
  if (norm == 0) return;
  float scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& v : out) v *= scale;
}

class HashingEmbedder final : public Embedder {
 public:
  explicit HashingEmbedder(int dimension) : dimension_(dimension) {}

  int Dimension() const override { return dimension_; }

  // Thread-safe: all state lives in the call.
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    std::vector<std::vector<float>> vectors;
    vectors.reserve(texts.size());
    Scratch scratch;
    for (const std::string& text : texts) {
      std::vector<float> v(static_cast<size_t>(dimension_), 0.0f);
      EmbedOne(text, scratch, v);
      vectors.push_back(std::move(v));
    }
    return vectors;
  }

  std::string Name() const override { return "builtin-hash-" + std::to_string(dimension_); }

 private:
  const int dimension_;
};

}  // namespace

std::unique_ptr<Embedder> MakeHashingEmbedder(int dimension) {
  if (dimension <= 0) {
    throw std::invalid_argument("hashing embedder: dimension must be positive, got " + std::to_string(dimension));
  }
  return std::make_unique<HashingEmbedder>(dimension);
}

}  // namespace refinery

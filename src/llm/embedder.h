// Embedder: text to a fixed-size vector whose cosine similarity tracks
// topical similarity.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace refinery {

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual int Dimension() const = 0;
  // One L2-normalised vector per input text, in order. An empty or
  // all-punctuation text yields the zero vector.
  virtual Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) = 0;
  // Names the model, e.g. "builtin-hash-384", for stats and health.
  virtual std::string Name() const = 0;
};

// The built-in deterministic embedder: feature-hashed word unigrams, word
// bigrams and character n-grams with sublinear (1 + ln tf) weights, signed
// hashing, L2-normalised. Needs no model files; same input, same output on
// every machine.
std::unique_ptr<Embedder> MakeHashingEmbedder(int dimension);

// Chooses from config (the built-in embedder unless a server is configured).
Result<std::unique_ptr<Embedder>> OpenEmbedder(const Config& config);

// Cosine similarity of two equal-length vectors (0 if either is zero).
float Cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace refinery

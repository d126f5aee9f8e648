// Embedder: text to a fixed-size vector whose cosine similarity tracks
// topical similarity.
#pragma once

#include <chrono>
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

class LlmEndpoint;

// An embedder over an LLM server (Ollama's /api/embed, falling back to
// /api/embeddings; OpenAI's /v1/embeddings), config.batch_size texts per
// call. Its dimension is the model's, learned from the first answer (0
// until then). Errors as LlmEndpoint::Post, plus InvalidArgument for an
// answer of the wrong shape.
std::unique_ptr<Embedder> MakeRemoteEmbedder(std::shared_ptr<LlmEndpoint> endpoint);

// Merges concurrent Embed calls (from many threads) into calls of `inner`
// of up to `batch_texts` texts, at most `max_calls` at once; a call with
// more texts than that goes alone. A call starts once a slot is free and
// its batch is full or its oldest caller has waited `linger`. Each caller
// gets its own vectors, or the error of the call it was part of.
std::unique_ptr<Embedder> MakeCoalescingEmbedder(std::unique_ptr<Embedder> inner, int batch_texts, int max_calls,
                                                 std::chrono::milliseconds linger = std::chrono::milliseconds(0));

// Chooses from config: the built-in embedder, or (config.llm_embed set) a
// coalescing remote embedder over `endpoint`, which must then be non-null.
Result<std::unique_ptr<Embedder>> OpenEmbedder(const Config& config, std::shared_ptr<LlmEndpoint> endpoint = nullptr);

// Cosine similarity of two equal-length vectors (0 if either is zero).
float Cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace refinery

// EmbeddingCache: vectors an embedding server already computed, by (model,
// hash of the text), so a retry, a re-delivered job, a re-ingested document
// or a chunk two documents share costs no second call (issue 12).
//
// Entries are never changed once written (the same model gives the same
// text the same vector): Put keeps the first vector stored for a key.
// Public methods validate once, then call the backend's Do* method.
// Errors common to every method: Unavailable or Timeout while the database
// is down or busy; callers treat a cache failure as a miss, never as a
// failed embedding. Thread-safety: as DocumentStore.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace refinery {

// The cache key of one text: the lower-case hex SHA-256 of its bytes.
std::string EmbeddingTextHash(const std::string& text);

using CachedVectors = std::vector<std::pair<std::string, std::vector<float>>>;  // text hash, vector

class EmbeddingCache {
 public:
  // At most this many hashes or entries per call (callers split bigger batches).
  static constexpr size_t kMaxPerCall = 1000;

  virtual ~EmbeddingCache() = default;

  // The vectors stored for `model`, one per hash in order; a miss is an
  // empty vector. InvalidArgument: an empty model or a model over 256
  // bytes, a hash that is not 1..128 lower-case hex digits, more than
  // kMaxPerCall hashes.
  Result<std::vector<std::vector<float>>> Get(const std::string& model, const std::vector<std::string>& hashes);
  // Stores each (hash, vector) for `model` in one transaction; a key
  // already present keeps its vector. InvalidArgument (no write): as Get,
  // or an empty vector.
  Status Put(const std::string& model, const CachedVectors& entries);

 protected:
  // REQUIRES (each): the arguments passed the checks above; Get gets at
  // least one hash, Put at least one entry, both without repeats.
  virtual Result<std::vector<std::vector<float>>> DoGet(const std::string& model,
                                                        const std::vector<std::string>& hashes) = 0;
  virtual Status DoPut(const std::string& model, const CachedVectors& entries) = 0;
};

}  // namespace refinery

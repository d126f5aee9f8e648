// EmbeddingCache's shared front: the argument checks every backend relies on,
// and repeated keys folded so backends see each one once.
#include "store/embedding_cache.h"

#include <algorithm>
#include <unordered_map>

#include "core/hash.h"

namespace refinery {
namespace {

constexpr size_t kMaxModelBytes = 256;
constexpr size_t kMaxHashChars = 128;

Status CheckModel(const std::string& model) {
  if (model.empty() || model.size() > kMaxModelBytes) {
    return Status::InvalidArgument("embedding cache: the model name must be 1.." + std::to_string(kMaxModelBytes) +
                                   " bytes");
  }
  return Status::Ok();
}

// Lower-case hex only: backends may quote hashes into array literals.
Status CheckHash(const std::string& hash) {
  if (!IsLowerHex(hash, kMaxHashChars)) {
    return Status::InvalidArgument("embedding cache: a text hash must be 1..128 lower-case hex digits");
  }
  return Status::Ok();
}

Status CheckCount(size_t n) {
  if (n > EmbeddingCache::kMaxPerCall) {
    return Status::InvalidArgument("embedding cache: at most " + std::to_string(EmbeddingCache::kMaxPerCall) +
                                   " keys per call, got " + std::to_string(n));
  }
  return Status::Ok();
}

}  // namespace

std::string EmbeddingTextHash(const std::string& text) { return Sha256Hex(text); }

Result<std::vector<std::vector<float>>> EmbeddingCache::Get(const std::string& model,
                                                            const std::vector<std::string>& hashes) {
  REFINERY_RETURN_IF_ERROR(CheckModel(model));
  REFINERY_RETURN_IF_ERROR(CheckCount(hashes.size()));
  std::vector<std::string> distinct;
  std::unordered_map<std::string, size_t> slot;  // hash -> index in distinct
  for (const std::string& h : hashes) {
    REFINERY_RETURN_IF_ERROR(CheckHash(h));
    if (slot.emplace(h, distinct.size()).second) distinct.push_back(h);
  }
  if (distinct.empty()) return std::vector<std::vector<float>>{};
  auto found = DoGet(model, distinct);
  if (!found.ok()) return found.status();
  if (found->size() != distinct.size()) return Status::Internal("embedding cache: backend answered the wrong count");
  std::vector<std::vector<float>> out;
  out.reserve(hashes.size());
  for (const std::string& h : hashes) out.push_back((*found)[slot[h]]);
  return out;
}

Status EmbeddingCache::Put(const std::string& model, const CachedVectors& entries) {
  REFINERY_RETURN_IF_ERROR(CheckModel(model));
  REFINERY_RETURN_IF_ERROR(CheckCount(entries.size()));
  CachedVectors distinct;
  std::unordered_map<std::string, bool> seen;
  for (const auto& [hash, vector] : entries) {
    REFINERY_RETURN_IF_ERROR(CheckHash(hash));
    if (vector.empty()) return Status::InvalidArgument("embedding cache: an entry needs a vector");
    if (seen.emplace(hash, true).second) distinct.emplace_back(hash, vector);
  }
  if (distinct.empty()) return Status::Ok();
  return DoPut(model, distinct);
}

}  // namespace refinery

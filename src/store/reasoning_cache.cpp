// ReasoningCache's shared front: the argument checks every backend relies on.
#include "store/reasoning_cache.h"

#include "core/hash.h"

namespace refinery {
namespace {

Status CheckHash(const std::string& hash) {
  if (!IsLowerHex(hash, 128)) {
    return Status::InvalidArgument("reasoning cache: a request hash must be 1..128 lower-case hex digits");
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<std::string>> ReasoningCache::Get(const std::string& request_hash) {
  REFINERY_RETURN_IF_ERROR(CheckHash(request_hash));
  return DoGet(request_hash);
}

Status ReasoningCache::Put(const std::string& request_hash, const std::string& model, const std::string& answer) {
  REFINERY_RETURN_IF_ERROR(CheckHash(request_hash));
  if (model.empty() || model.size() > 256) return Status::InvalidArgument("reasoning cache: the model name must be 1..256 bytes");
  if (answer.size() > kMaxAnswerBytes) {
    return Status::InvalidArgument("reasoning cache: an answer over " + std::to_string(kMaxAnswerBytes) + " bytes");
  }
  return DoPut(request_hash, model, answer);
}

}  // namespace refinery

// ReasoningCache: checked answers of a reasoning model, by the hash of the
// full request as sent (model, options, prompt, schema), so a retry, a
// re-delivered job or an unchanged document evaluated or extracted again
// costs no call (issue 12). Entries never change: Put keeps the first
// answer stored for a key.
//
// Public methods validate once, then call the backend's Do* method.
// Errors: Unavailable or Timeout while the database is down or busy
// (callers treat that as a miss). Thread-safety: as DocumentStore.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"

namespace refinery {

class ReasoningCache {
 public:
  static constexpr size_t kMaxAnswerBytes = 1 << 20;

  virtual ~ReasoningCache() = default;

  // The answer stored for `request_hash`, or nullopt. InvalidArgument: a
  // hash that is not 1..128 lower-case hex digits.
  Result<std::optional<std::string>> Get(const std::string& request_hash);
  // InvalidArgument (no write): a bad hash, a model name that is empty or
  // over 256 bytes, an answer over kMaxAnswerBytes.
  Status Put(const std::string& request_hash, const std::string& model, const std::string& answer);

 protected:
  virtual Result<std::optional<std::string>> DoGet(const std::string& request_hash) = 0;
  virtual Status DoPut(const std::string& request_hash, const std::string& model, const std::string& answer) = 0;
};

}  // namespace refinery

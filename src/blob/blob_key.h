// Key rules shared by every BlobStore, so all backends accept the same keys.
#pragma once

#include <string>

#include "core/status.h"

namespace refinery {

// Longest key accepted (S3's limit), in bytes.
inline constexpr size_t kMaxBlobKeyBytes = 1024;

// InvalidArgument unless `key` is a non-empty relative path of
// [A-Za-z0-9._/-], at most kMaxBlobKeyBytes, with no "..", no leading or
// trailing "/", and no empty or "." segments ("a//b", "a/./b"): one key,
// one file, on every backend.
Status ValidateBlobKey(const std::string& key);

}  // namespace refinery

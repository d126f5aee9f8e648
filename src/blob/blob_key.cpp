#include "blob/blob_key.h"

namespace refinery {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '/' || c == '-';
}

Status Invalid(const std::string& key, const std::string& why) {
  return Status::InvalidArgument("blob key '" + key + "': " + why);
}

}  // namespace

Status ValidateBlobKey(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("blob key is empty");
  if (key.size() > kMaxBlobKeyBytes) {
    return Status::InvalidArgument("blob key longer than " + std::to_string(kMaxBlobKeyBytes) + " bytes");
  }
  for (char c : key) {
    if (!IsKeyChar(c)) return Invalid(key, "only [A-Za-z0-9._/-] are allowed");
  }
  if (key.find("..") != std::string::npos) return Invalid(key, "'..' is not allowed");
  if (key.front() == '/' || key.back() == '/') return Invalid(key, "must not start or end with '/'");
  if (key.find("//") != std::string::npos) return Invalid(key, "empty path segment");
  if (key == "." || key.starts_with("./") || key.ends_with("/.") || key.find("/./") != std::string::npos) {
    return Invalid(key, "'.' path segment");
  }
  return Status::Ok();
}

}  // namespace refinery

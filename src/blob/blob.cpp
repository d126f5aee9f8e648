#include "blob/blob.h"

#include <string_view>

#include "blob/fs_blob_store.h"

namespace refinery {
namespace {

// "file:/x", "file:///x" and "file:x" all name the path after the scheme.
std::string FileUrlPath(std::string_view url) {
  std::string_view path = url.substr(std::string_view("file:").size());
  if (path.starts_with("//")) path.remove_prefix(2);
  return std::string(path);
}

Result<std::unique_ptr<BlobStore>> OpenFs(const std::string& root) {
  auto store = FsBlobStore::Open(root);
  if (!store.ok()) return store.status();
  return std::unique_ptr<BlobStore>(std::move(*store));
}

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenBlobStore(const Config& config) {
  if (config.blob_url.empty()) return OpenFs(config.BlobDir());
  if (config.blob_url.starts_with("file:")) {
    std::string path = FileUrlPath(config.blob_url);
    if (path.empty()) return Status::InvalidArgument("blob_url '" + config.blob_url + "': no path");
    return OpenFs(path);
  }
  return Status::InvalidArgument("MINIO_ENDPOINT: the S3 blob store is not built yet");
}

}  // namespace refinery

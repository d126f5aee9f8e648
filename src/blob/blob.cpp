#include "blob/blob.h"

#include <string_view>
#include <utility>

#include "blob/fs_blob_store.h"
#include "blob/s3_blob_store.h"

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

// "http(s)://host:port" names the server; an optional "/bucket" path
// overrides config.s3_bucket.
Result<std::unique_ptr<BlobStore>> OpenS3(const Config& config) {
  S3Options options;
  options.endpoint = config.blob_url;
  options.bucket = config.s3_bucket;
  size_t authority = config.blob_url.find("://") + 3;
  size_t slash = config.blob_url.find('/', authority);
  if (slash != std::string::npos) {
    options.endpoint = config.blob_url.substr(0, slash);
    std::string bucket = config.blob_url.substr(slash + 1);
    if (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
    if (!bucket.empty()) options.bucket = bucket;
  }
  options.region = config.s3_region;
  options.access_key = config.s3_access_key;
  options.secret_key = config.s3_secret_key;
  auto store = S3BlobStore::Open(std::move(options));
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
  if (config.blob_url.starts_with("http://") || config.blob_url.starts_with("https://")) return OpenS3(config);
  return Status::InvalidArgument("blob_url '" + config.blob_url +
                                 "': expected http(s)://host:port for S3/MinIO or file:PATH");
}

}  // namespace refinery

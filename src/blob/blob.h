// BlobStore: raw document bytes under a key. Writes are atomic: a reader sees
// either the old object or the whole new one, never a torn write.
//
// Thread-safety: every method may be called from many threads and processes.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace refinery {

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `data` under `key` (keys are relative paths of [A-Za-z0-9._/-],
  // no "..", no leading "/": InvalidArgument otherwise). Overwrites.
  virtual Status Put(const std::string& key, const std::string& data) = 0;
  // NotFound when absent.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // OK when absent too (deleting is idempotent).
  virtual Status Delete(const std::string& key) = 0;
  virtual Result<bool> Exists(const std::string& key) = 0;
  virtual Status Ping() = 0;
};

// Chooses the implementation from config: a directory in data_dir unless
// blob_url is set ("file:PATH": a directory; "http(s)://host:port[/bucket]":
// S3/MinIO, see s3_blob_store.h). Creates the directory or bucket if missing.
Result<std::unique_ptr<BlobStore>> OpenBlobStore(const Config& config);

}  // namespace refinery

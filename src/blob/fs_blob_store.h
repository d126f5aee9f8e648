// FsBlobStore: blobs as files under a root directory, one file per key
// (key "a/b.txt" is ROOT/a/b.txt).
//
// Put writes a unique temp file in the target's directory, fsyncs it, renames
// it over the target and fsyncs the directory: readers (other threads or
// processes) see the old file or the whole new one, and a crash leaves at
// worst a stray temp file, never a torn blob. Temp names contain '~', which
// no key may, so they never collide with a blob.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "blob/blob.h"

namespace refinery {

class FsBlobStore final : public BlobStore {
 public:
  // Creates `root` (and its parents) if missing; Unavailable if it cannot.
  static Result<std::unique_ptr<FsBlobStore>> Open(const std::string& root);

  // REQUIRES: `root` exists (use Open).
  explicit FsBlobStore(std::string root) : root_(std::move(root)) {}

  Status Put(const std::string& key, const std::string& data) override;
  Result<std::string> Get(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<bool> Exists(const std::string& key) override;
  // OK when the root is a writable directory.
  Status Ping() override;

  const std::string& root() const { return root_; }

 private:
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  const std::string root_;  // constant after construction; no other state, so no lock
};

}  // namespace refinery

// DELETE /documents/{id} racing an identical re-ingest (issue 9): the new
// document must keep its blob. The interleaving that broke it is forced,
// not hoped for: the delete is held right after its row is gone and before
// it removes the blob, while the same content is ingested again.
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "support/test_support.h"

namespace refinery {
namespace {

// A real blob store whose first Delete waits until the test lets it go.
class HeldDelete final : public BlobStore {
 public:
  explicit HeldDelete(std::unique_ptr<BlobStore> inner) : inner_(std::move(inner)) {}

  Status Put(const std::string& key, const std::string& data) override { return inner_->Put(key, data); }
  Result<std::string> Get(const std::string& key) override { return inner_->Get(key); }
  Result<bool> Exists(const std::string& key) override { return inner_->Exists(key); }
  Status Ping() override { return inner_->Ping(); }
  Status Delete(const std::string& key) override {
    std::unique_lock lock(mutex_);
    if (!held_once_) {
      held_once_ = true;
      deleting_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    }
    lock.unlock();
    return inner_->Delete(key);
  }

  void WaitUntilDeleting() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return deleting_; });
  }
  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::unique_ptr<BlobStore> inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_once_ = false;  // GUARDED_BY(mutex_)
  bool deleting_ = false;   // GUARDED_BY(mutex_)
  bool released_ = false;   // GUARDED_BY(mutex_)
};

TEST(BlobRaceTest, DeleteRacingAnIdenticalReingestNeverTakesTheNewDocumentsBlob) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path();
  auto opened = OpenServices(config, OpenMode::kServe);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Services services = std::move(opened).value();
  auto held = std::make_unique<HeldDelete>(std::move(services.blobs));
  HeldDelete& blobs = *held;
  services.blobs = std::move(held);

  IngestRequest request;
  request.title = "twice";
  request.content = "The same words, ingested, deleted and ingested again.";
  auto first = IngestDocument(services, request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  Status deleted;
  std::thread deleter([&] { deleted = DeleteDocumentEverywhere(services, first->id); });
  blobs.WaitUntilDeleting();  // the row is gone; its blob is not yet
  auto second = IngestDocument(services, request);
  blobs.Release();
  deleter.join();
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->created);
  EXPECT_NE(second->id, first->id);

  auto doc = services.store->documents().Get(second->id);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  auto text = services.blobs->Get(doc->blob_key);
  ASSERT_TRUE(text.ok()) << "the new document lost its blob: " << text.status().ToString();
  EXPECT_EQ(*text, request.content);
}

TEST(BlobRaceTest, ARejectedOrDuplicateIngestLeavesNoBlobBehind) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path();
  auto opened = OpenServices(config, OpenMode::kServe);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Services services = std::move(opened).value();
  IngestRequest request;
  request.content = "Stored once.";
  ASSERT_TRUE(IngestDocument(services, request).ok());
  auto again = IngestDocument(services, request);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  request.content = "Bad metadata.";
  request.metadata_json = "[1, 2]";  // not an object: the store refuses it
  EXPECT_EQ(IngestDocument(services, request).status().code(), StatusCode::kInvalidArgument);
  size_t blobs = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(config.BlobDir())) {
    blobs += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(blobs, 1u);  // the first document's, nothing else
}

}  // namespace
}  // namespace refinery

// FsBlobStore specifics: on-disk layout, temp files, torn reads, errors, factory.
#include "blob/fs_blob_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.h"

namespace refinery {
namespace {

namespace fs = std::filesystem;

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = FsBlobStore::Open(Root());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  std::string Root() const { return temp_.path() + "/blobs"; }

  // Every regular file under the root, as a key.
  std::vector<std::string> Files() const {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(Root())) {
      if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), Root()).string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  refinery::testing::TempDir temp_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(FsBlobStoreTest, BlobIsAFileAtRootSlashKey) {
  ASSERT_TRUE(store_->Put("docs/7/raw.html", "<html>").ok());
  std::ifstream in(Root() + "/docs/7/raw.html", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "<html>");
}

TEST_F(FsBlobStoreTest, NoTempFilesLeftBehind) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->Put("k" + std::to_string(i % 5), std::string(1000 + i, 'x')).ok());
    ASSERT_TRUE(store_->Put("nested/dir/k" + std::to_string(i % 3), "v").ok());
  }
  ASSERT_TRUE(store_->Delete("k0").ok());
  EXPECT_EQ(store_->Put("k1/child", "v").code(), StatusCode::kInvalidArgument);  // k1 is a blob
  std::vector<std::string> expected = {"k1", "k2", "k3", "k4", "nested/dir/k0", "nested/dir/k1", "nested/dir/k2"};
  EXPECT_EQ(Files(), expected);
}

TEST_F(FsBlobStoreTest, KeyUnderADirectoryOfBlobsCannotBeWritten) {
  ASSERT_TRUE(store_->Put("a/b", "v").ok());
  Status status = store_->Put("a", "v");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_EQ(Files(), std::vector<std::string>{"a/b"});
}

TEST_F(FsBlobStoreTest, ReaderNeverSeesAPartialFile) {
  const std::string a(1 << 20, 'A'), b((1 << 20) + 4096, 'B');
  ASSERT_TRUE(store_->Put("hot", a).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto got = store_->Get("hot");
      if (!got.ok() || (*got != a && *got != b)) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(store_->Put("hot", i % 2 ? a : b).ok());
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
}

TEST_F(FsBlobStoreTest, IoErrorIsUnavailableWithReason) {
  fs::remove_all(Root());
  std::ofstream(Root()) << "a file where the blob directory was";
  Status put = store_->Put("k", "v");
  EXPECT_EQ(put.code(), StatusCode::kUnavailable) << put.ToString();
  EXPECT_NE(put.message().find("Not a directory"), std::string::npos) << put.message();
  EXPECT_EQ(store_->Ping().code(), StatusCode::kUnavailable);
}

TEST_F(FsBlobStoreTest, PingFailsWhenRootIsGone) {
  EXPECT_TRUE(store_->Ping().ok());
  fs::remove_all(Root());
  Status ping = store_->Ping();
  EXPECT_EQ(ping.code(), StatusCode::kUnavailable);
  EXPECT_NE(ping.message().find(Root()), std::string::npos) << ping.message();
}

TEST_F(FsBlobStoreTest, OverlongPathSegmentIsInvalidArgument) {
  EXPECT_EQ(store_->Put(std::string(300, 'n'), "v").code(), StatusCode::kInvalidArgument);
}

TEST(OpenBlobStoreTest, DefaultIsDirectoryInDataDir) {
  refinery::testing::TempDir temp;
  Config config;
  config.data_dir = temp.path() + "/data";
  auto store = OpenBlobStore(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(fs::is_directory(config.BlobDir()));
  ASSERT_TRUE((*store)->Put("x/y", "v").ok());
  EXPECT_TRUE(fs::exists(config.BlobDir() + "/x/y"));
}

TEST(OpenBlobStoreTest, FileUrlNamesTheDirectory) {
  refinery::testing::TempDir temp;
  for (std::string prefix : {"file:", "file://"}) {
    Config config;
    config.blob_url = prefix + temp.path() + "/via-url";
    auto store = OpenBlobStore(config);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Put("k", "v").ok());
    EXPECT_TRUE(fs::exists(temp.path() + "/via-url/k"));
  }
}

// http(s) URLs open S3 (tests/blob/s3_blob_integration_test.cpp); any
// other scheme is a configuration error, not a silent fallback.
TEST(OpenBlobStoreTest, UnknownSchemeIsInvalidArgument) {
  for (std::string url : {"s3://bucket", "ftp://host/x", "localhost:9000"}) {
    Config config;
    config.blob_url = url;
    auto store = OpenBlobStore(config);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << url;
  }
}

TEST(OpenBlobStoreTest, UncreatableDirectoryIsUnavailable) {
  refinery::testing::TempDir temp;
  std::ofstream(temp.path() + "/file") << "x";
  Config config;
  config.blob_url = "file:" + temp.path() + "/file/blobs";
  auto store = OpenBlobStore(config);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
}

}  // namespace
}  // namespace refinery

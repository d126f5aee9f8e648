// The contract of blob.h, run against every BlobStore implementation.
// Adding a backend means adding one entry to Factories().
#include "blob/blob.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "blob/fs_blob_store.h"
#include "blob/s3_blob_store.h"
#include "core/random.h"
#include "support/test_support.h"

namespace refinery {
namespace {

struct BlobStoreFactory {
  std::string name;
  // A store to test, given a scratch directory that outlives it; nullptr
  // when the backend is not available here (the test is then skipped).
  std::function<std::unique_ptr<BlobStore>(const std::string& scratch_dir)> make;
  // Why the test server cannot show atomic overwrites under concurrent
  // writers (that test is then skipped); empty when it can.
  std::string racy_overwrites = {};
};

// s3rver (the local S3 server of the test suite) truncates and rewrites the
// object file in place (lib/stores/filesystem.js, putObject), so concurrent
// PUTs of one key interleave there; S3 and MinIO replace objects atomically.
constexpr char kS3rverRacyOverwrites[] =
    "s3rver rewrites object files in place, so concurrent PUTs of one key can interleave on it";

// An S3 store on the server named by REFINERY_TEST_S3_URL (started by
// scripts/test-services.sh), in a fresh bucket per test so tests never share
// objects; nullptr (skip) when the variable is unset.
std::unique_ptr<BlobStore> MakeS3Store() {
  const char* url = std::getenv("REFINERY_TEST_S3_URL");
  if (url == nullptr || *url == '\0') return nullptr;
  S3Options options;
  options.endpoint = url;
  options.bucket = "refinery-test-" + RandomHex(32);
  options.access_key = "S3RVER";
  options.secret_key = "S3RVER";
  auto store = S3BlobStore::Open(options);
  if (!store.ok()) {
    ADD_FAILURE() << "REFINERY_TEST_S3_URL=" << url << ": " << store.status().ToString();
    return nullptr;
  }
  return std::move(*store);
}

std::vector<BlobStoreFactory> Factories() {
  return {
      {"fs",
       [](const std::string& dir) -> std::unique_ptr<BlobStore> {
         auto store = FsBlobStore::Open(dir + "/blobs");
         if (!store.ok()) return nullptr;
         return std::move(*store);
       }},
      {"s3", [](const std::string&) { return MakeS3Store(); }, kS3rverRacyOverwrites},
  };
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(rng() & 0xFF);
  return data;
}

class BlobConformanceTest : public ::testing::TestWithParam<BlobStoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(scratch_.path());
    if (!store_) GTEST_SKIP() << GetParam().name << " backend not available";
  }

  // Keys live under a per-test prefix so backends shared between runs
  // (one S3 bucket) never see another test's objects.
  std::string Key(const std::string& name) const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test = info->name();
    for (char& c : test) {
      if (c == '/') c = '-';
    }
    return "conformance/" + test + "/" + prefix_ + "/" + name;
  }

  void ExpectValue(const std::string& key, const std::string& expected) {
    auto got = store_->Get(key);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->size(), expected.size());
    EXPECT_TRUE(*got == expected) << "content differs";
  }

  refinery::testing::TempDir scratch_;
  std::unique_ptr<BlobStore> store_;
  std::string prefix_ = RandomHex(32);
};

TEST_P(BlobConformanceTest, PutGetRoundTripsBinaryData) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  std::string with_nuls("a\0b\0\0c", 6);
  ASSERT_TRUE(store_->Put(Key("bytes.bin"), all_bytes).ok());
  ASSERT_TRUE(store_->Put(Key("nuls"), with_nuls).ok());
  ASSERT_TRUE(store_->Put(Key("empty"), "").ok());
  ExpectValue(Key("bytes.bin"), all_bytes);
  ExpectValue(Key("nuls"), with_nuls);
  ExpectValue(Key("empty"), "");
}

TEST_P(BlobConformanceTest, LargeBlobRoundTrips) {
  std::string big = RandomBytes(5 * 1024 * 1024, 7);
  ASSERT_TRUE(store_->Put(Key("deep/nested/dirs/big.bin"), big).ok());
  ExpectValue(Key("deep/nested/dirs/big.bin"), big);
}

TEST_P(BlobConformanceTest, PutOverwrites) {
  ASSERT_TRUE(store_->Put(Key("doc"), "a much longer first version").ok());
  ASSERT_TRUE(store_->Put(Key("doc"), "short").ok());
  ExpectValue(Key("doc"), "short");
}

TEST_P(BlobConformanceTest, ExistsTracksPutAndDelete) {
  auto before = store_->Exists(Key("x"));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(*before);
  ASSERT_TRUE(store_->Put(Key("x"), "1").ok());
  EXPECT_TRUE(*store_->Exists(Key("x")));
  ASSERT_TRUE(store_->Delete(Key("x")).ok());
  EXPECT_FALSE(*store_->Exists(Key("x")));
}

TEST_P(BlobConformanceTest, DeleteIsIdempotent) {
  ASSERT_TRUE(store_->Put(Key("d/once"), "v").ok());
  EXPECT_TRUE(store_->Delete(Key("d/once")).ok());
  EXPECT_TRUE(store_->Delete(Key("d/once")).ok());
  EXPECT_TRUE(store_->Delete(Key("never/existed")).ok());
  EXPECT_EQ(store_->Get(Key("d/once")).status().code(), StatusCode::kNotFound);
}

TEST_P(BlobConformanceTest, MissingBlobIsNotFoundNamingTheKey) {
  auto got = store_->Get(Key("missing.txt"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find(Key("missing.txt")), std::string::npos) << got.status().message();
}

TEST_P(BlobConformanceTest, KeyPrefixOfAnotherKeyIsNoBlob) {
  ASSERT_TRUE(store_->Put(Key("dir/leaf"), "v").ok());
  EXPECT_EQ(store_->Get(Key("dir")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->Exists(Key("dir")));
  EXPECT_TRUE(store_->Delete(Key("dir")).ok());
  ExpectValue(Key("dir/leaf"), "v");
}

TEST_P(BlobConformanceTest, InvalidKeysAreRejected) {
  const std::vector<std::string> invalid = {"",
                                            "/abs",
                                            "a/../b",
                                            "..",
                                            "../x",
                                            "a/..",
                                            "a..b",
                                            "a b",
                                            "a\\b",
                                            "a//b",
                                            "trailing/",
                                            "ü",
                                            std::string("a\0b", 3),
                                            "a:b",
                                            "a?b",
                                            ".",
                                            "./a",
                                            "a/./b",
                                            "a/.",
                                            std::string(1025, 'k')};
  for (const std::string& key : invalid) {
    SCOPED_TRACE("key '" + key + "'");
    EXPECT_EQ(store_->Put(key, "v").code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Get(key).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Delete(key).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Exists(key).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_P(BlobConformanceTest, EveryAllowedCharacterWorks) {
  std::string key = Key("AZaz09._-/.hidden/x-y_z.tar.gz");
  ASSERT_TRUE(store_->Put(key, "ok").ok());
  ExpectValue(key, "ok");
}

TEST_P(BlobConformanceTest, ConcurrentWritersLeaveOneCompleteValue) {
  if (!GetParam().racy_overwrites.empty()) GTEST_SKIP() << GetParam().racy_overwrites;
  constexpr int kThreads = 8;
  constexpr int kWrites = 15;
  std::vector<std::string> values;
  for (int t = 0; t < kThreads; ++t) values.push_back(RandomBytes(256 * 1024 + t * 4099, 100 + t));
  std::string key = Key("contended");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        if (!store_->Put(key, values[t]).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = store_->Get(key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  int matches = 0;
  for (const auto& v : values) matches += (*got == v) ? 1 : 0;
  EXPECT_EQ(matches, 1) << "the final value must be exactly one writer's complete value";
}

TEST_P(BlobConformanceTest, PingSucceeds) { EXPECT_TRUE(store_->Ping().ok()); }

INSTANTIATE_TEST_SUITE_P(Backends, BlobConformanceTest, ::testing::ValuesIn(Factories()),
                         [](const ::testing::TestParamInfo<BlobStoreFactory>& info) { return info.param.name; });

}  // namespace
}  // namespace refinery

// S3BlobStore beyond the shared contract: retries and failure handling
// against a scripted local server (always run), and bucket creation, large
// objects and the OpenBlobStore factory against the real s3rver started by
// scripts/test-services.sh (skipped unless REFINERY_TEST_S3_URL is set).
#include "blob/s3_blob_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "blob/blob.h"
#include "core/hash.h"
#include "core/http_client.h"
#include "core/random.h"
#include "fake_http_server.h"

namespace refinery {
namespace {

using refinery::testing::FakeHttpServer;
using Clock = std::chrono::steady_clock;

FakeHttpServer::Reply Answer(int status, std::string body = "") {
  return FakeHttpServer::Answer(status, std::move(body));
}
FakeHttpServer::Reply Hang() { return FakeHttpServer::Hang(); }

S3Options FastOptions(const std::string& endpoint, const std::string& bucket = "bucket") {
  S3Options options;
  options.endpoint = endpoint;
  options.bucket = bucket;
  options.access_key = "S3RVER";
  options.secret_key = "S3RVER";
  options.backoff.base_s = 0.02;
  return options;
}

std::unique_ptr<S3BlobStore> OpenOrDie(const S3Options& options) {
  auto store = S3BlobStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A port nothing listens on: bound by a server that is then gone.
std::string ClosedEndpoint() {
  std::string url;
  { url = FakeHttpServer().url(); }
  return url;
}

TEST(S3BlobStoreRetryTest, ServerErrorsAreRetriedUntilSuccess) {
  FakeHttpServer server({Answer(503), Answer(503)}, Answer(200));  // the HEAD bucket of Open
  auto store = OpenOrDie(FastOptions(server.url()));
  ASSERT_TRUE(store);
  server.Script({Answer(503, "<Error><Code>SlowDown</Code></Error>"), Answer(500)});
  ASSERT_TRUE(store->Put("docs/1.bin", "payload").ok());
  auto received = server.received();
  ASSERT_EQ(received.size(), 6u);
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(received[i].method, "PUT");
    EXPECT_EQ(received[i].target, "/bucket/docs/1.bin");
    EXPECT_EQ(received[i].body, "payload");
    EXPECT_NE(received[i].head.find("x-amz-content-sha256: " + Sha256Hex("payload")), std::string::npos);
    EXPECT_NE(received[i].head.find("authorization: aws4-hmac-sha256 credential=s3rver/"), std::string::npos);
    EXPECT_NE(received[i].head.find("content-type: application/octet-stream"), std::string::npos);
    EXPECT_EQ(received[i].head.find("expect:"), std::string::npos) << "no 100-continue round trip";
  }
}

TEST(S3BlobStoreRetryTest, GivesUpAfterThreeAttemptsWithUnavailable) {
  FakeHttpServer server({}, Answer(503));
  auto start = Clock::now();
  auto store = S3BlobStore::Open(FastOptions(server.url()));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(server.received().size(), 3u);
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST(S3BlobStoreRetryTest, ClientErrorsAreAnsweredAtOnce) {
  FakeHttpServer server;
  auto store = OpenOrDie(FastOptions(server.url()));
  ASSERT_TRUE(store);
  server.Script({Answer(404, "<Error><Code>NoSuchKey</Code></Error>"), Answer(400), Answer(403), Answer(404)});
  EXPECT_EQ(store->Get("k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Put("k", "v").code(), StatusCode::kInternal);
  Status denied = store->Delete("k");
  EXPECT_EQ(denied.code(), StatusCode::kUnavailable);
  EXPECT_NE(denied.message().find("access denied"), std::string::npos) << denied.message();
  EXPECT_TRUE(store->Delete("k").ok());  // 404: already gone
  EXPECT_EQ(server.received().size(), 5u) << "one HEAD at Open, then one request each";
}

TEST(S3BlobStoreRetryTest, MissingBucketIsCreated) {
  FakeHttpServer server({Answer(404)}, Answer(200));
  ASSERT_TRUE(OpenOrDie(FastOptions(server.url(), "new-bucket")));
  auto received = server.received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].method + " " + received[0].target, "HEAD /new-bucket");
  EXPECT_EQ(received[1].method + " " + received[1].target, "PUT /new-bucket");
}

TEST(S3BlobStoreRetryTest, UnreachableEndpointIsUnavailableQuickly) {
  std::string endpoint = ClosedEndpoint();
  auto start = Clock::now();
  auto store = S3BlobStore::Open(FastOptions(endpoint));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  Config config;
  config.blob_url = endpoint;
  EXPECT_EQ(OpenBlobStore(config).status().code(), StatusCode::kUnavailable);
  EXPECT_LT(SecondsSince(start), 3.0);
}

TEST(S3BlobStoreRetryTest, SilentServerTimesOutInsteadOfHanging) {
  FakeHttpServer server;
  auto store = OpenOrDie(FastOptions(server.url()));
  ASSERT_TRUE(store);
  server.Script({Hang(), Hang(), Hang(), Hang()});
  auto start = Clock::now();
  S3BlobStore quick([&] {
    S3Options options = FastOptions(server.url());
    options.request_timeout_s = 0.3;
    options.ping_timeout_s = 0.3;
    return options;
  }());
  EXPECT_TRUE(quick.Get("k").status().transient());
  EXPECT_TRUE(quick.Ping().transient());
  EXPECT_LT(SecondsSince(start), 3.0);
}

TEST(S3BlobStoreRetryTest, BadOptionsAreInvalidArgument) {
  for (std::string endpoint : {"", "127.0.0.1:9000", "http://", "http://host:9000/path", "s3://bucket"}) {
    EXPECT_EQ(S3BlobStore::Open(FastOptions(endpoint)).status().code(), StatusCode::kInvalidArgument) << endpoint;
  }
  for (std::string bucket : {std::string(), std::string("ab"), std::string("Upper"), std::string("under_score"),
                             std::string("-dash"), std::string(64, 'b')}) {
    EXPECT_EQ(S3BlobStore::Open(FastOptions("http://127.0.0.1:1", bucket)).status().code(),
              StatusCode::kInvalidArgument)
        << bucket;
  }
}

// Against the real s3rver.
class S3ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("REFINERY_TEST_S3_URL");
    if (url == nullptr || *url == '\0') GTEST_SKIP() << "REFINERY_TEST_S3_URL not set";
    url_ = url;
  }
  // The server's settings as the environment gives them (s3rver knows
  // one key pair: S3RVER/S3RVER).
  Config S3Config(const std::string& blob_url) const {
    Config config;
    config.blob_url = blob_url;
    config.s3_access_key = "S3RVER";
    config.s3_secret_key = "S3RVER";
    return config;
  }
  static std::string FreshBucket() { return "refinery-test-" + RandomHex(32); }
  long BucketStatus(const std::string& bucket) {
    HttpRequest head;
    head.method = "HEAD";
    head.url = url_ + "/" + bucket;
    auto response = HttpCall(head);
    return response.ok() ? response->status : -1;
  }
  std::string url_;
};

TEST_F(S3ServerTest, BucketIsCreatedOnOpenAndReopenIsFine) {
  std::string bucket = FreshBucket();
  EXPECT_EQ(BucketStatus(bucket), 404);
  ASSERT_TRUE(OpenOrDie(FastOptions(url_, bucket)));
  EXPECT_EQ(BucketStatus(bucket), 200);
  auto again = OpenOrDie(FastOptions(url_, bucket));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->Ping().ok());
}

TEST_F(S3ServerTest, FiveMegabyteBinaryRoundTripThroughOpenBlobStore) {
  Config config = S3Config(url_);
  config.s3_bucket = FreshBucket();
  auto store = OpenBlobStore(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::mt19937 rng(42);
  std::string big(5 * 1024 * 1024, '\0');
  for (char& c : big) c = static_cast<char>(rng() & 0xFF);
  ASSERT_TRUE((*store)->Put("docs/big.bin", big).ok());
  auto got = (*store)->Get("docs/big.bin");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), big.size());
  EXPECT_TRUE(*got == big);
}

TEST_F(S3ServerTest, BucketInUrlPathOverridesConfig) {
  std::string bucket = FreshBucket();
  Config config = S3Config(url_ + "/" + bucket);
  auto store = OpenBlobStore(config);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(BucketStatus(bucket), 200);
}

// The contract's concurrent-overwrite test is skipped on s3rver (see
// blob_conformance_test.cpp); many threads on distinct keys still exercise
// the client's thread-safety against the real server.
TEST_F(S3ServerTest, ManyThreadsOnDistinctKeys) {
  auto store = OpenOrDie(FastOptions(url_, FreshBucket()));
  ASSERT_TRUE(store);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        std::string value(1000 + t * 100 + i, static_cast<char>('a' + t));
        auto got = store->Put(key, value).ok() ? store->Get(key) : Result<std::string>(Status::Internal("put"));
        if (!got.ok() || *got != value) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(S3ServerTest, DeletedBucketMakesPingUnavailable) {
  std::string bucket = FreshBucket();
  auto store = OpenOrDie(FastOptions(url_, bucket));
  ASSERT_TRUE(store);
  HttpRequest remove;
  remove.method = "DELETE";
  remove.url = url_ + "/" + bucket;
  ASSERT_TRUE(HttpCall(remove).ok());
  ASSERT_EQ(BucketStatus(bucket), 404);
  EXPECT_EQ(store->Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->Get("k").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace refinery

// Request bodies a hostile client sends, against a real server on real
// embedded backends: each is refused with a clear 400 and writes nothing
// (no document, no blob), and the server keeps serving.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "api_test_util.h"

namespace refinery {
namespace {

namespace fs = std::filesystem;

// Files under `dir` (0 when it does not exist).
int CountFiles(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) files += entry.is_regular_file() ? 1 : 0;
  return files;
}

class ApiLimitsTest : public ::testing::Test {
 protected:
  ApiLimitsTest() {
    Config config = testing::TestConfig(dir_);
    config.max_body_bytes = 1 << 20;  // room for the 200 KB body of the crash
    config.max_title_bytes = 100;
    config.max_metadata_bytes = 1000;
    services_ = testing::OpenTestServices(config);
    server_ = std::make_unique<testing::RunningServer>(services_);
  }
  testing::TempDir dir_;
  Services services_;
  std::unique_ptr<testing::RunningServer> server_;
};

// The probe's crash: metadata nesting arrays 100,000 deep (200 KB) killed
// the API with SIGSEGV; now it is a 400 naming the limit.
TEST_F(ApiLimitsTest, DeeplyNestedMetadataIs400NamingTheLimitAndWritesNothing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto reply = server_->Call("POST", "/ingest", R"({"title": "t", "content": "some text", "metadata": )" + deep + "}");
  EXPECT_EQ(reply.status, 400) << reply.raw;
  EXPECT_EQ(reply.body["error"].value("code", ""), "invalid_argument") << reply.raw;
  EXPECT_NE(reply.body["error"].value("message", "").find("64 levels"), std::string::npos) << reply.raw;

  auto health = server_->Call("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(server_->Call("GET", "/stats").body["total_documents"], 0);
  EXPECT_EQ(CountFiles(services_.config.BlobDir()), 0) << "a rejected ingest wrote a blob";
}

TEST_F(ApiLimitsTest, DeepNestingIsNamedBeforeAnyFieldCheckAndTheLimitItselfPasses) {
  // 66 levels in a body whose field is also of the wrong type: the depth is what is reported.
  auto reply = server_->Call("POST", "/search", R"({"query": )" + std::string(65, '[') + std::string(65, ']') + "}");
  EXPECT_EQ(reply.status, 400) << reply.raw;
  EXPECT_NE(reply.body["error"].value("message", "").find("deeper than the limit"), std::string::npos) << reply.raw;
  // Exactly 64 levels (body, metadata, 62 arrays) is a document like any other.
  const std::string at_limit = std::string(62, '[') + std::string(62, ']');
  reply = server_->Call("POST", "/ingest", R"({"title": "t", "content": "text", "metadata": {"a": )" + at_limit + "}}");
  EXPECT_EQ(reply.status, 201) << reply.raw;
}

// The probe left 8 orphan blobs after rejected ingests (a disk-fill
// vector): no rejected ingest may write anything, blob included.
TEST_F(ApiLimitsTest, RejectedIngestsWriteNoDocumentAndNoBlob) {
  const std::string long_title(101, 't');
  const std::string big_metadata = R"({"k": ")" + std::string(1000, 'm') + R"("})";
  const std::vector<std::string> bodies = {
      "not json",
      R"({"content": "no title"})",
      R"({"title": "no content"})",
      R"({"title": "   ", "content": "blank title"})",
      R"({"title": ")" + long_title + R"(", "content": "title over the limit"})",
      R"({"title": "t", "content": "metadata over the limit", "metadata": )" + big_metadata + "}",
      R"({"title": "t", "content": "metadata not an object", "metadata": [1]})",
      R"({"title": "t", "content": 42})",
      R"({"title": "t", "content": "c", "source_url": 7})",
      "[" + std::string(70, '[') + std::string(71, ']'),
  };
  for (const std::string& body : bodies) {
    auto reply = server_->Call("POST", "/ingest", body);
    EXPECT_EQ(reply.status, 400) << body.substr(0, 80) << " -> " << reply.raw;
  }
  auto title = server_->Call("POST", "/ingest", R"({"title": ")" + long_title + R"(", "content": "x"})");
  EXPECT_NE(title.body["error"].value("message", "").find("REFINERY_MAX_TITLE_BYTES"), std::string::npos) << title.raw;
  EXPECT_EQ(server_->Call("GET", "/stats").body["total_documents"], 0);
  EXPECT_EQ(CountFiles(services_.config.BlobDir()), 0) << "a rejected ingest wrote a blob";
}

}  // namespace
}  // namespace refinery

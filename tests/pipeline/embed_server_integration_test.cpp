// The embed stage on an embedding server (the fake, over real HTTP) with
// the real embedded backends: vectors of the server's model are stored, an
// outage gives the job back without using an attempt and the document
// waits in its state, and the job completes once the server is back.
#include <gtest/gtest.h>

#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
#include "support/fake_llm_server.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

class EmbedServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.AddModel(testing::FakeModel::Embedding("nomic-embed-text", 768));
    fake_.Start();
    Config config;
    config.data_dir = dir_.path();
    config.llm_embed.url = fake_.url();
    config.llm_embed.model = "nomic-embed-text";
    config.llm_embed.retries = 0;
    config.llm_embed.timeout_s = 5;
    auto opened = OpenServices(config, OpenMode::kServe);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    services_ = std::make_unique<Services>(std::move(opened).value());
  }

  // Leases one job of `stage` and runs it; false when none was ready.
  bool RunOne(const std::string& stage) {
    auto job = services_->queue->Lease(stage, 30, milliseconds(0));
    if (!job.ok() || !job->has_value()) return false;
    Worker(*services_, *FindStage(stage)).ProcessJob(**job);
    return true;
  }

  Document Get(int64_t id) { return *services_->store->documents().Get(id); }

  testing::FakeLlmServer fake_;
  testing::TempDir dir_;
  std::unique_ptr<Services> services_;
};

TEST_F(EmbedServerTest, AnOutageLeavesTheDocumentWaitingWithNoAttemptUsedThenItCompletes) {
  IngestRequest request;
  request.title = "folding";
  request.content = "Protein folding is the physical process by which a polypeptide chain acquires its structure.";
  auto ingested = IngestDocument(*services_, request);
  ASSERT_TRUE(ingested.ok()) << ingested.status().ToString();
  const int64_t id = ingested->id;
  ASSERT_TRUE(RunOne("chunk"));
  ASSERT_EQ(Get(id).state, "embedding");

  fake_.Stop();
  for (int i = 0; i < 3; ++i) {  // three deliveries during the outage
    ASSERT_TRUE(RunOne("embed")) << "the job was not given back to the queue";
    const Document waiting = Get(id);
    EXPECT_EQ(waiting.state, "embedding");
    EXPECT_EQ(waiting.attempts, 0) << "an outage used up an attempt";
  }

  fake_.Start();
  ASSERT_TRUE(RunOne("embed"));
  EXPECT_EQ(Get(id).state, "evaluating");
  auto chunks = services_->store->chunks().Get(id);
  ASSERT_TRUE(chunks.ok());
  ASSERT_FALSE(chunks->empty());
  EXPECT_EQ(chunks->front().embedding.size(), 768u);  // the server's vectors, not the built-in 1024
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 1);
}

}  // namespace
}  // namespace refinery

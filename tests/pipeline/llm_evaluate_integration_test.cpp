// The evaluate stage on a reasoning server (the fake, over real HTTP) with
// the real embedded backends: a good answer is stored with the model's
// name; an answer unusable after its repair is recorded as the chunk's
// failed evaluation (never a default score) and counted, and the document
// goes on; a retry costs no call (the reasoning cache); an outage gives the
// job back without using an attempt.
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
using testing::ChatCall;
using testing::ChatReply;

class LlmEvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.AddModel(testing::FakeModel::Chat("qwen2.5:7b"));
    // A passage saying "gibberish" gets a label outside the profile's, every time.
    fake_.SetChatScript([](const ChatCall& call) {
      const bool bad = call.prompt.find("gibberish") != std::string::npos;
      return ChatReply{bad ? R"({"trust_score": 0.5, "relevance_score": 0.5, "domain": "astrology", "reasoning": "x"})"
                           : R"({"trust_score": 0.8, "relevance_score": 0.9, "domain": "biomedical",
                                "reasoning": "Specific measured values."})",
                       "stop", "", {}, {}};
    });
    fake_.Start();
    Config config;
    config.data_dir = dir_.path();
    config.llm_reason.url = fake_.url();
    config.llm_reason.model = "qwen2.5:7b";
    config.llm_reason.retries = 0;
    config.llm_reason.timeout_s = 5;
    auto opened = OpenServices(config, OpenMode::kServe);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    services_ = std::make_unique<Services>(std::move(opened).value());
  }

  bool RunOne(const std::string& stage) {
    auto job = services_->queue->Lease(stage, 30, milliseconds(0));
    if (!job.ok() || !job->has_value()) return false;
    Worker(*services_, *FindStage(stage)).ProcessJob(**job);
    return true;
  }

  int64_t Evaluating(const std::string& text) {
    auto in = IngestDocument(*services_, {"t", text, "", "text/plain", "{}"});
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    EXPECT_TRUE(RunOne("chunk"));
    EXPECT_TRUE(RunOne("embed"));
    return in.ok() ? in->id : 0;
  }

  Chunk FirstChunk(int64_t id) { return services_->store->chunks().Get(id)->front(); }

  testing::FakeLlmServer fake_;
  testing::TempDir dir_;
  std::unique_ptr<Services> services_;
};

TEST_F(LlmEvaluateTest, GoodAnswersAreStoredUnusableOnesRecordedAsFailedAndRetriesCostNoCall) {
  EXPECT_EQ(services_->evaluator->Name(), "ollama:qwen2.5:7b");
  const int64_t good = Evaluating("Kinase activity rose 40% in treated mice (p < 0.01).");
  const int64_t bad = Evaluating("gibberish words with no meaning at all");
  ASSERT_TRUE(RunOne("evaluate"));
  ASSERT_TRUE(RunOne("evaluate"));
  const Chunk judged = FirstChunk(good);
  ASSERT_TRUE(judged.evaluation.has_value());
  EXPECT_DOUBLE_EQ(judged.evaluation->trust_score, 0.8);
  EXPECT_EQ(judged.evaluation->domain, "biomedical");
  EXPECT_EQ(judged.evaluation->evaluator, "ollama:qwen2.5:7b");
  const Chunk failed = FirstChunk(bad);
  EXPECT_FALSE(failed.evaluation.has_value()) << "an unusable answer became a score";
  EXPECT_NE(failed.evaluation_failure.find("unusable answer"), std::string::npos) << failed.evaluation_failure;
  EXPECT_NE(failed.evaluation_failure.find("astrology"), std::string::npos) << failed.evaluation_failure;
  for (int64_t id : {good, bad}) EXPECT_EQ(services_->store->documents().Get(id)->state, "extracting");
  auto stats = services_->store->telemetry().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->chunks_evaluation_failed, 1);
  EXPECT_EQ(fake_.RequestCount("/api/chat"), 3);  // one, and one plus its repair

  // A retry of the good document's evaluation: answered from the cache.
  ASSERT_TRUE(services_->store->documents().SetState(good, {"extracting", "evaluating"}).ok());
  ASSERT_TRUE(services_->queue->Enqueue("evaluate", good).ok());
  ASSERT_TRUE(RunOne("evaluate"));
  EXPECT_EQ(fake_.RequestCount("/api/chat"), 3) << "a cached request was paid for again";
  EXPECT_EQ(services_->reason_cache->hits.load(), 1);
  EXPECT_EQ(FirstChunk(good).evaluation->trust_score, 0.8);
}

TEST_F(LlmEvaluateTest, AnOutageGivesTheJobBackWithoutUsingAnAttempt) {
  const int64_t id = Evaluating("Protein folding is the process by which a chain acquires its structure.");
  fake_.Stop();
  ASSERT_TRUE(RunOne("evaluate"));
  const Document waiting = *services_->store->documents().Get(id);
  EXPECT_EQ(waiting.state, "evaluating");
  EXPECT_EQ(waiting.attempts, 0) << "an outage used up an attempt";
  EXPECT_FALSE(FirstChunk(id).evaluation.has_value());
  fake_.Start();
  ASSERT_TRUE(RunOne("evaluate"));
  EXPECT_EQ(services_->store->documents().Get(id)->state, "extracting");
  EXPECT_TRUE(FirstChunk(id).evaluation.has_value());
}

}  // namespace
}  // namespace refinery

// The embedding clients over real HTTP against the protocol-faithful fake
// (tests/support/fake_llm_server.h): batching, the /api/embeddings
// fallback, OpenAI's shape and key, retries on 429/5xx/resets, timeouts,
// a missing model, the breaker, the concurrency cap, batching across
// callers, and the free health probes.
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "llm/embedder.h"
#include "llm/llm_endpoint.h"
#include "support/fake_llm_server.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;
using testing::Fault;
using testing::FakeLlmServer;
using testing::FakeModel;

class RemoteEmbedderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.AddModel(FakeModel::Embedding("nomic-embed-text", 768));
    fake_.Start();
  }

  LlmEndpointConfig Endpoint(const std::string& provider = "ollama") {
    LlmEndpointConfig e;
    e.url = fake_.url();
    e.provider = provider;
    e.model = "nomic-embed-text";
    e.batch_size = 16;
    e.timeout_s = 10;
    e.retries = 2;
    return e;
  }

  std::shared_ptr<LlmEndpoint> Open(const LlmEndpointConfig& e, const std::string& fallback_key = "") {
    return std::make_shared<LlmEndpoint>("llm_embed", e, fallback_key);
  }

  static std::vector<std::string> Texts(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back("abstract number " + std::to_string(i) + " about protein folding");
    return out;
  }

  FakeLlmServer fake_;
};

double Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

TEST_F(RemoteEmbedderTest, OllamaBatchesTextsAndReturnsUnitVectorsInOrder) {
  auto embedder = MakeRemoteEmbedder(Open(Endpoint()));
  std::vector<std::string> texts = Texts(40);
  texts[5] = "  ";  // blank: the zero vector, never sent
  auto vectors = embedder->Embed(texts);
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  ASSERT_EQ(vectors->size(), 40u);
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 3);  // 39 texts, 16 per call
  EXPECT_EQ(fake_.TextsEmbedded(), 39);
  EXPECT_EQ(embedder->Dimension(), 768);
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ((*vectors)[i].size(), 768u);
    EXPECT_NEAR(Norm((*vectors)[i]), i == 5 ? 0.0 : 1.0, 1e-4) << i;
  }
  auto again = embedder->Embed({texts[7]});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->front(), (*vectors)[7]);  // same text, same vector: order kept
  EXPECT_NE((*vectors)[6], (*vectors)[7]);
  EXPECT_EQ(embedder->Name(), "ollama:nomic-embed-text");
}

TEST_F(RemoteEmbedderTest, AnOllamaWithoutApiEmbedIsAskedOneTextAtATimeOnApiEmbeddings) {
  fake_.SetEmbedEndpoint(false);
  auto embedder = MakeRemoteEmbedder(Open(Endpoint()));
  auto first = embedder->Embed(Texts(3));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = embedder->Embed(Texts(2));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 1);  // found missing once, then not asked again
  EXPECT_EQ(fake_.RequestCount("/api/embeddings"), 5);
  EXPECT_EQ((*first)[0], (*second)[0]);
  EXPECT_NEAR(Norm((*first)[2]), 1.0, 1e-4);
}

TEST_F(RemoteEmbedderTest, OpenAiBatchesSendsTheKeyAndAcceptsABaseUrlEndingInV1) {
  fake_.SetApiKey("sk-test");
  LlmEndpointConfig e = Endpoint("openai");
  e.url = fake_.url() + "/v1/";
  {
    auto refused = MakeRemoteEmbedder(Open(e))->Embed(Texts(2));  // no key at all
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("HTTP 401"), std::string::npos) << refused.status().ToString();
  }
  auto embedder = MakeRemoteEmbedder(Open(e, "sk-test"));  // OPENAI_API_KEY as the fallback key
  auto vectors = embedder->Embed(Texts(20));
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/v1/embeddings"), 3);  // the refused one, then 16 + 4
  EXPECT_EQ(vectors->size(), 20u);
  EXPECT_NEAR(Norm(vectors->back()), 1.0, 1e-4);
}

TEST_F(RemoteEmbedderTest, RateLimitedCallWaitsForRetryAfterThenSucceeds) {
  fake_.AddFault("/api/embed", Fault::RateLimited(1));
  auto embedder = MakeRemoteEmbedder(Open(Endpoint()));
  const auto started = std::chrono::steady_clock::now();
  auto vectors = embedder->Embed(Texts(2));
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 2);
  EXPECT_GE(took_s, 0.9) << "Retry-After: 1 was not honoured";
}

TEST_F(RemoteEmbedderTest, ServerErrorsAreRetriedThenReportedAsUnavailableWithTheServersMessage) {
  fake_.AddFault("/api/embed", Fault::Status(500, R"({"error":"llama runner process has terminated"})", Fault::kForever));
  auto embedder = MakeRemoteEmbedder(Open(Endpoint()));
  auto vectors = embedder->Embed(Texts(2));
  ASSERT_FALSE(vectors.ok());
  EXPECT_EQ(vectors.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(vectors.status().message().find("HTTP 500: llama runner process has terminated"), std::string::npos)
      << vectors.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 3);  // 1 + 2 retries
}

TEST_F(RemoteEmbedderTest, AnAnswerSlowerThanTheTimeoutIsATimeoutWithAMessage) {
  fake_.AddFault("/api/embed", Fault::Delay(milliseconds(1500), Fault::kForever));
  LlmEndpointConfig e = Endpoint();
  e.timeout_s = 0.2;
  e.retries = 1;
  auto vectors = MakeRemoteEmbedder(Open(e))->Embed(Texts(1));
  ASSERT_FALSE(vectors.ok());
  EXPECT_EQ(vectors.status().code(), StatusCode::kTimeout) << vectors.status().ToString();
  EXPECT_TRUE(vectors.status().transient());
  EXPECT_NE(vectors.status().message().find("llm_embed"), std::string::npos) << vectors.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 2);
}

TEST_F(RemoteEmbedderTest, AConnectionResetMidAnswerIsRetried) {
  fake_.AddFault("/api/embed", Fault::ResetMidAnswer(1));
  auto vectors = MakeRemoteEmbedder(Open(Endpoint()))->Embed(Texts(4));
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 2);
  EXPECT_EQ(vectors->size(), 4u);
}

TEST_F(RemoteEmbedderTest, AnAnswerOrAnErrorNestedAbsurdlyDeepIsRefusedNotParsed) {
  const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
  fake_.AddFault("/api/embed", Fault::Status(200, deep));
  auto vectors = MakeRemoteEmbedder(Open(Endpoint()))->Embed(Texts(1));
  ASSERT_FALSE(vectors.ok());
  EXPECT_EQ(vectors.status().code(), StatusCode::kInvalidArgument) << vectors.status().ToString();
  EXPECT_NE(vectors.status().message().find("nests deeper than"), std::string::npos) << vectors.status().ToString();
  fake_.AddFault("/api/embed", Fault::Status(400, "{\"error\": " + deep + "}"));
  vectors = MakeRemoteEmbedder(Open(Endpoint()))->Embed(Texts(1));
  ASSERT_FALSE(vectors.ok());
  EXPECT_EQ(vectors.status().code(), StatusCode::kInvalidArgument) << vectors.status().message().substr(0, 300);
}

TEST_F(RemoteEmbedderTest, AMissingModelIsTransientAndNamesTheModelAndHowToPullIt) {
  LlmEndpointConfig e = Endpoint();
  e.model = "mxbai-embed-large";
  auto vectors = MakeRemoteEmbedder(Open(e))->Embed(Texts(1));
  ASSERT_FALSE(vectors.ok());
  EXPECT_TRUE(vectors.status().transient()) << vectors.status().ToString();  // work waits for the model
  EXPECT_NE(vectors.status().message().find("'mxbai-embed-large'"), std::string::npos) << vectors.status().ToString();
  EXPECT_NE(vectors.status().message().find("ollama pull mxbai-embed-large"), std::string::npos);
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 1);  // not retried: waiting is the stage's job
}

TEST_F(RemoteEmbedderTest, TheBreakerOpensAfterFiveFailedCallsAndStopsCallingTheServer) {
  fake_.AddFault("/api/embed", Fault::Status(503, "", Fault::kForever));
  LlmEndpointConfig e = Endpoint();
  e.retries = 0;
  auto endpoint = Open(e);
  auto embedder = MakeRemoteEmbedder(endpoint);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(embedder->Embed(Texts(1)).ok());
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 5);
  auto refused = embedder->Embed(Texts(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().transient());
  EXPECT_NE(refused.status().message().find("circuit open"), std::string::npos) << refused.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 5);  // the open breaker spared the server
  EXPECT_EQ(endpoint->Stats().breaker, "open");
  EXPECT_EQ(endpoint->Stats().errors["http_5xx"], 5);
}

TEST_F(RemoteEmbedderTest, OneProcessNeverHasMoreCallsInFlightThanTheCap) {
  fake_.SetLatency(milliseconds(40));
  LlmEndpointConfig e = Endpoint();
  e.concurrency = 2;
  auto endpoint = Open(e);
  std::vector<std::jthread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      auto embedder = MakeRemoteEmbedder(endpoint);
      for (int i = 0; i < 3; ++i) failures += embedder->Embed(Texts(2)).ok() ? 0 : 1;
    });
  }
  callers.clear();  // joins
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fake_.RequestCount("/api/embed"), 24);
  EXPECT_LE(fake_.MaxInFlight(), 2);
  EXPECT_EQ(fake_.MaxInFlight(), 2);  // and the cap was reached: the test had calls to hold back
}

TEST_F(RemoteEmbedderTest, ConcurrentCallersShareCallsAndEachGetsItsOwnVectors) {
  fake_.SetLatency(milliseconds(50));
  LlmEndpointConfig e = Endpoint();
  e.batch_size = 64;
  auto reference = MakeRemoteEmbedder(Open(e))->Embed(Texts(32));
  ASSERT_TRUE(reference.ok());
  fake_.ResetCounters();
  auto shared = MakeCoalescingEmbedder(MakeRemoteEmbedder(Open(e)), 64, 1);
  std::vector<std::jthread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 16; ++t) {
    callers.emplace_back([&, t] {
      const std::vector<std::string> all = Texts(32);
      auto mine = shared->Embed({all[2 * t], all[2 * t + 1]});
      const bool right = mine.ok() && mine->size() == 2 && (*mine)[0] == (*reference)[2 * t] &&
                         (*mine)[1] == (*reference)[2 * t + 1];
      wrong += right ? 0 : 1;
    });
  }
  callers.clear();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(fake_.TextsEmbedded(), 32);
  EXPECT_LE(fake_.RequestCount("/api/embed"), 8) << "16 callers of 2 texts each barely shared calls";
}

TEST_F(RemoteEmbedderTest, InspectionUsesOnlyListingCallsAndNamesAMissingModel) {
  auto report = InspectEndpoint(*Open(Endpoint()));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->model_present);
  EXPECT_EQ(report->version, "0.5.7");
  EXPECT_EQ(fake_.RequestCount("/api/embed") + fake_.RequestCount("/api/chat"), 0);
  LlmEndpointConfig e = Endpoint();
  e.model = "all-minilm";
  auto missing = InspectEndpoint(*Open(e));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'all-minilm'"), std::string::npos) << missing.status().ToString();
  auto openai = InspectEndpoint(*Open(Endpoint("openai")));
  EXPECT_TRUE(openai.ok()) << openai.status().ToString();
  fake_.Stop();
  auto down = InspectEndpoint(*Open(Endpoint()));
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.status().transient()) << down.status().ToString();
}

}  // namespace
}  // namespace refinery

// An LLM outage through `refinery up` (issue 12): two fake Ollamas, one
// for embeddings and one for reasoning (the evaluate and extract stages),
// as two servers on two GPUs, are both stopped for 20 s while documents
// are being embedded. No document ends in error, no attempt is used up
// (no failed or retried log entry), /health shows llm_embed and
// llm_reason down during the outage and up after, and every document
// completes once the servers are back, evaluated by the model.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "support/fake_llm_server.h"
#include "support/pipeline_checks.h"
#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kDocuments = 300;

std::string ComponentStatus(const RefineryUp& up, const std::string& name) {
  long status = 0;
  const json health = up.Get("/health", &status);
  const json component = health.value("components", json::object()).value(name, json::object());
  return component.is_object() ? component.value("status", "") : "";
}

std::string EmbedStatus(const RefineryUp& up) { return ComponentStatus(up, "llm_embed"); }

// Answers as a good model would, in the research profile's schemas.
ChatReply Reasoned(const ChatCall& call) {
  if (call.prompt.find("From the passage, list") != std::string::npos) {
    return ChatReply{R"({"acronyms": [], "identifiers": [], "keyphrases": []})", "stop", "", {}, {}};
  }
  return ChatReply{R"({"trust_score": 0.6, "relevance_score": 0.7, "domain": "biomedical", "reasoning": "ok"})",
                   "stop", "", {}, {}};
}

TEST(LlmOutage, StoppingTheEmbeddingServerFor20sLosesNothingAndEveryDocumentCompletes) {
  FakeLlmServer fake;
  fake.AddModel(FakeModel::Embedding("nomic-embed-text", 768));
  fake.SetLatency(milliseconds(200));  // with 4 texts a call, one at a time: about 30 s of embedding
  fake.Start();
  FakeLlmServer reason;
  reason.AddModel(FakeModel::Chat("qwen2.5:7b"));
  reason.SetChatScript(Reasoned);
  reason.Start();
  TempDir dir;
  RefineryUp up(dir.path(), {{"OLLAMA_EMBED_URL", fake.url()},  // the Python system's names
                             {"EMBEDDING_MODEL", "nomic-embed-text"},
                             {"OLLAMA_BASE_URL", reason.url()},
                             {"REASONING_MODEL", "qwen2.5:7b"},
                             {"REFINERY_REASON_TIMEOUT_S", "5"},
                             {"REFINERY_EMBED_TIMEOUT_S", "5"},
                             {"REFINERY_EMBED_BATCH_SIZE", "4"},
                             {"REFINERY_EMBED_CONCURRENCY", "1"}});
  ASSERT_TRUE(up.WaitHealthy(seconds(60))) << up.Log();
  ASSERT_EQ(EmbedStatus(up), "up");
  ASSERT_TRUE(WaitUntil([&] { return ComponentStatus(up, "llm_reason") == "up"; }, seconds(15)));

  std::vector<int64_t> ids;
  for (const ScifactDoc& doc : LoadScifact(kDocuments)) {
    long status = 0;
    json reply = up.Post("/ingest", {{"title", doc.title}, {"content", doc.text}}, &status);
    ASSERT_TRUE(status == 201 || status == 200) << reply.dump();
    ids.push_back(reply.at("id").get<int64_t>());
  }
  // In flight: some texts embedded, not all documents past the embed stage.
  ASSERT_TRUE(WaitUntil([&] { return fake.TextsEmbedded() > 0; }, seconds(120))) << up.Log();
  ASSERT_LT(CompleteCount(up), static_cast<int64_t>(kDocuments)) << "the run finished before the outage";
  const int64_t embedded_before = fake.TextsEmbedded();

  fake.Stop();
  reason.Stop();
  const auto stopped = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitUntil([&] { return EmbedStatus(up) == "down"; }, seconds(15))) << up.Get("/health").dump(2);
  EXPECT_TRUE(WaitUntil([&] { return ComponentStatus(up, "llm_reason") == "down"; }, seconds(15)));
  long status = 0;
  json degraded = up.Get("/health", &status);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(degraded["status"], "degraded");
  std::this_thread::sleep_until(stopped + seconds(20));
  json during = up.Get("/stats");
  EXPECT_EQ(during["documents_by_stage"].value("error", 0), 0) << during.dump(2);
  fake.Start();
  reason.Start();

  EXPECT_TRUE(WaitUntil([&] { return EmbedStatus(up) == "up"; }, seconds(15))) << up.Get("/health").dump(2);
  EXPECT_TRUE(WaitUntil([&] { return ComponentStatus(up, "llm_reason") == "up"; }, seconds(15)));
  ASSERT_TRUE(WaitUntil([&] { return CompleteCount(up) == static_cast<int64_t>(kDocuments); }, seconds(300),
                        milliseconds(250)))
      << up.Get("/stats").dump(2) << "\n" << up.Log();
  EXPECT_GT(fake.TextsEmbedded(), embedded_before) << "nothing was embedded after the outage";
  json after = up.Get("/health", &status);
  EXPECT_EQ(status, 200) << after.dump(2);
  int burned = 0;
  for (int64_t id : ids) {
    json doc = up.Get("/documents/" + std::to_string(id) + "/status");
    for (const json& entry : doc.value("processing_log", json::array())) {
      const std::string outcome = entry.value("status", "");
      if (outcome == "failed" || outcome == "retried") ++burned;
    }
  }
  EXPECT_EQ(burned, 0) << "attempts were used up by the outage";
  json chunks = up.Get("/documents/" + std::to_string(ids.front()) + "/chunks");
  ASSERT_FALSE(chunks["chunks"].empty()) << chunks.dump(2);
  EXPECT_EQ(chunks["chunks"][0]["evaluator"], "ollama:qwen2.5:7b") << chunks.dump(2);
  EXPECT_GT(reason.RequestCount("/api/chat"), 0);
}

}  // namespace
}  // namespace refinery::testing

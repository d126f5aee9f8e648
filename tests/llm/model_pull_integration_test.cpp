// Pulling a missing Ollama model (opt-in) over real HTTP: the progress
// stream read line by line as it arrives, the server's errors, hostile
// streams, and the health check that pulls in the background, once, and
// never without the opt-in.
#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "blob/fake_http_server.h"
#include "llm/model_pull.h"
#include "support/fake_llm_server.h"
#include "support/process_util.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeHttpServer;
using testing::FakeLlmServer;
using testing::FakeModel;

LlmEndpointConfig Reasoning(const std::string& url, const std::string& model = "qwen2.5:7b") {
  LlmEndpointConfig e;
  e.url = url;
  e.model = model;
  e.timeout_s = 10;
  e.pull = true;
  return e;
}

struct Seen {
  PullProgress progress;
  std::chrono::steady_clock::time_point at;
};

TEST(ModelPull, ProgressIsReadAsItArrivesAndTheModelIsThereAfter) {
  FakeLlmServer fake;
  fake.AddPullableModel(FakeModel::Chat("qwen2.5:7b"));
  fake.SetStreamDelay(milliseconds(100));  // 7 lines: 600 ms between the first and the last
  fake.Start();
  LlmEndpoint endpoint("llm_reason", Reasoning(fake.url()), "");
  std::vector<Seen> seen;
  Status pulled = PullModel(endpoint, [&](const PullProgress& p) {
    seen.push_back({p, std::chrono::steady_clock::now()});
    return true;
  });
  ASSERT_TRUE(pulled.ok()) << pulled.ToString();
  ASSERT_GE(seen.size(), 4u);
  EXPECT_EQ(seen.front().progress.status, "pulling manifest");
  EXPECT_EQ(seen.back().progress.status, "success");
  int64_t total = 0;
  bool complete = false;
  for (const Seen& s : seen) {
    if (s.progress.total > 0) total = s.progress.total;
    complete = complete || (s.progress.total > 0 && s.progress.completed == s.progress.total);
  }
  EXPECT_GT(total, 1'000'000'000);
  EXPECT_TRUE(complete);
  EXPECT_GE(seen.back().at - seen.front().at, milliseconds(500)) << "the stream was read only once it ended";
  EXPECT_TRUE(fake.HasModel("qwen2.5:7b"));
  EXPECT_NE(seen[2].progress.Describe().find("% of "), std::string::npos) << seen[2].progress.Describe();
}

TEST(ModelPull, AnUnknownModelFailsWithTheServersOwnError) {
  FakeLlmServer fake;
  fake.Start();
  LlmEndpoint endpoint("llm_reason", Reasoning(fake.url(), "no-such-model"), "");
  Status pulled = PullModel(endpoint, nullptr);
  EXPECT_EQ(pulled.code(), StatusCode::kUnavailable) << pulled.ToString();
  EXPECT_NE(pulled.message().find("pull model manifest: file does not exist"), std::string::npos) << pulled.message();
  EXPECT_NE(pulled.message().find("no-such-model"), std::string::npos) << pulled.message();

  LlmEndpointConfig openai = Reasoning(fake.url());
  openai.provider = "openai";
  EXPECT_EQ(PullModel(LlmEndpoint("llm_reason", openai, "k"), nullptr).code(), StatusCode::kInvalidArgument);
}

TEST(ModelPull, HostileStreamsAreErrorsNotCrashes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string(100'000, 'x'), "64 KiB"},
      {std::string(10'000, '[') + "\n", "nested too deeply"},
      {"{\"status\": \"pulling manifest\"}\nnot json\n", "not a JSON progress line"},
      {"[1, 2]\n", "not a JSON progress line"},
      {"{\"status\": \"pulling manifest\"}\n", "before \"success\""},
      {"{\"error\": {\"nested\": true}}\n", "nested"},
  };
  for (const auto& [body, why] : cases) {
    FakeHttpServer server({}, FakeHttpServer::Answer(200, body));
    LlmEndpoint endpoint("llm_reason", Reasoning(server.url()), "");
    Status pulled = PullModel(endpoint, nullptr);
    EXPECT_FALSE(pulled.ok()) << body.substr(0, 60);
    EXPECT_NE(pulled.message().find(why), std::string::npos) << pulled.message();
  }
  FakeHttpServer not_ollama({}, FakeHttpServer::Answer(404, "404 page not found"));
  Status pulled = PullModel(LlmEndpoint("llm_reason", Reasoning(not_ollama.url()), ""), nullptr);
  EXPECT_NE(pulled.message().find("404 page not found"), std::string::npos) << pulled.message();
}

TEST(ModelPull, ManyShortLinesInOneAnswerAndAbsurdSizesAreRead) {
  // 5,001 lines in one piece (read in one pass, not erased line by line)
  // with a total of 1e300 bytes (unknown, not an undefined conversion).
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "{\"status\": \"pulling\", \"total\": 1e300, \"completed\": 12}\n";
  body += "{\"status\": \"success\"}\n";
  FakeHttpServer server({}, FakeHttpServer::Answer(200, body));
  LlmEndpoint endpoint("llm_reason", Reasoning(server.url()), "");
  int calls = 0;
  int64_t largest_total = 0;
  Status pulled = PullModel(endpoint, [&](const PullProgress& p) {
    ++calls;
    largest_total = std::max(largest_total, p.total);
    return true;
  });
  ASSERT_TRUE(pulled.ok()) << pulled.ToString();
  EXPECT_EQ(calls, 5001);
  EXPECT_EQ(largest_total, 0) << "a total past 2^53 must read as unknown";
}

TEST(ModelPull, WithoutTheOptInHealthNamesTheModelAndNothingPulls) {
  FakeLlmServer fake;
  fake.AddPullableModel(FakeModel::Chat("qwen2.5:7b"));
  fake.Start();
  LlmEndpoint endpoint("llm_reason", Reasoning(fake.url()), "");
  Status health = EndpointHealth(endpoint, nullptr);
  EXPECT_EQ(health.code(), StatusCode::kUnavailable);
  EXPECT_NE(health.message().find("model 'qwen2.5:7b' is not available"), std::string::npos) << health.message();
  EXPECT_NE(health.message().find("REFINERY_REASON_PULL=true"), std::string::npos) << health.message();
  EXPECT_EQ(fake.RequestCount("/api/pull"), 0);
}

TEST(ModelPull, TheHealthCheckPullsOnceInTheBackgroundAndReportsProgress) {
  FakeLlmServer fake;
  fake.AddPullableModel(FakeModel::Chat("qwen2.5:7b"));
  fake.SetStreamDelay(milliseconds(300));
  fake.Start();
  LlmEndpoint endpoint("llm_reason", Reasoning(fake.url()), "");
  ModelPuller puller(endpoint);
  Status first = EndpointHealth(endpoint, &puller);
  EXPECT_EQ(first.code(), StatusCode::kUnavailable);
  EXPECT_NE(first.message().find("pulling qwen2.5:7b"), std::string::npos) << first.message();
  ASSERT_TRUE(testing::WaitUntil([&] { return EndpointHealth(endpoint, &puller).message().find("% of ") !=
                                              std::string::npos; },
                                 seconds(30), milliseconds(20)))
      << "no progress was reported: " << EndpointHealth(endpoint, &puller).message();
  ASSERT_TRUE(testing::WaitUntil([&] { return EndpointHealth(endpoint, &puller).ok(); }, seconds(30)));
  EXPECT_EQ(puller.pulls_started(), 1);
  EXPECT_EQ(fake.RequestCount("/api/pull"), 1);
}

TEST(ModelPull, AFailedPullIsReportedAndNotRetriedAtOnce) {
  FakeLlmServer fake;
  fake.Start();
  LlmEndpoint endpoint("llm_reason", Reasoning(fake.url(), "no-such-model"), "");
  ModelPuller puller(endpoint);
  (void)EndpointHealth(endpoint, &puller);
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return EndpointHealth(endpoint, &puller).message().find("next try in") != std::string::npos; },
      seconds(30)));
  const std::string message = EndpointHealth(endpoint, &puller).message();
  EXPECT_NE(message.find("file does not exist"), std::string::npos) << message;
  EXPECT_EQ(puller.pulls_started(), 1);
  EXPECT_EQ(fake.RequestCount("/api/pull"), 1);
}

TEST(ModelPull, ShuttingDownStopsAPullThatHasStalled) {
  FakeLlmServer fake;
  fake.AddPullableModel(FakeModel::Chat("qwen2.5:7b"));
  fake.SetStreamDelay(seconds(120));  // the first line, then nothing
  fake.Start();
  LlmEndpoint endpoint("llm_reason", Reasoning(fake.url()), "");
  auto puller = std::make_unique<ModelPuller>(endpoint);
  puller->Ensure();
  ASSERT_TRUE(testing::WaitUntil([&] { return puller->Ensure().find("pulling manifest") != std::string::npos; },
                                 seconds(30)));
  const auto started = std::chrono::steady_clock::now();
  puller.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(20)) << "the destructor sat out the stall";
  EXPECT_FALSE(fake.HasModel("qwen2.5:7b"));
}

}  // namespace
}  // namespace refinery

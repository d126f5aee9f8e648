// `refinery pull` against the fake Ollama: progress printed line by line,
// a model already there, nothing configured, a server that is gone.
#include <gtest/gtest.h>

#include "support/fake_llm_server.h"
#include "support/process_util.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using testing::FakeLlmServer;
using testing::FakeModel;

TEST(PullCli, PullsTheMissingModelsPrintingProgressThenSaysTheyAreThere) {
  FakeLlmServer fake;
  fake.AddModel(FakeModel::Embedding("nomic-embed-text"));
  fake.AddPullableModel(FakeModel::Chat("qwen2.5:7b"));
  fake.Start();
  testing::TempDir dir;
  const std::map<std::string, std::string> env = {{"OLLAMA_EMBED_URL", fake.url()},
                                                  {"EMBEDDING_MODEL", "nomic-embed-text"},
                                                  {"OLLAMA_BASE_URL", fake.url()},
                                                  {"REASONING_MODEL", "qwen2.5:7b"}};
  testing::CliRun run = testing::RunRefinery(dir.path(), {"pull"}, env);
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("llm_embed: nomic-embed-text is already on"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("llm_reason: pulling manifest"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("% of "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("llm_reason: qwen2.5:7b pulled"), std::string::npos) << run.output;
  EXPECT_TRUE(fake.HasModel("qwen2.5:7b"));
  EXPECT_EQ(fake.RequestCount("/api/pull"), 1);

  run = testing::RunRefinery(dir.path(), {"pull", "reason"}, env);
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("llm_reason: qwen2.5:7b is already on"), std::string::npos) << run.output;
  EXPECT_EQ(fake.RequestCount("/api/pull"), 1);
}

TEST(PullCli, AModelTheServerCannotPullIsOneLineAndExit3) {
  FakeLlmServer fake;
  fake.Start();
  testing::TempDir dir;
  testing::CliRun run =
      testing::RunRefinery(dir.path(), {"pull", "reason"}, {{"OLLAMA_BASE_URL", fake.url()}, {"REASONING_MODEL", "nope"}});
  EXPECT_EQ(run.code, 3) << run.output;
  EXPECT_NE(run.output.find("refinery: pull: llm_reason pull of nope"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("file does not exist"), std::string::npos) << run.output;
}

TEST(PullCli, NothingConfiguredOrNothingListeningAreClearErrors) {
  testing::TempDir dir;
  testing::CliRun run = testing::RunRefinery(dir.path(), {"pull"});
  EXPECT_EQ(run.code, 2) << run.output;
  EXPECT_NE(run.output.find("no Ollama endpoint configured"), std::string::npos) << run.output;

  const std::string gone = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  run = testing::RunRefinery(dir.path(), {"pull", "embed"}, {{"OLLAMA_EMBED_URL", gone}, {"EMBEDDING_MODEL", "m"}});
  EXPECT_EQ(run.code, 3) << run.output;
  EXPECT_NE(run.output.find("refinery: pull: "), std::string::npos) << run.output;

  run = testing::RunRefinery(dir.path(), {"pull", "everything"});
  EXPECT_EQ(run.code, 2) << run.output;
}

}  // namespace
}  // namespace refinery

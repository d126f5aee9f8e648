// The chat clients and AskStructured over real HTTP against the strict fake
// (tests/support/fake_llm_server.h): Ollama's format/think/options, each
// structured-output fallback of OpenAI-compatible servers, fenced, prose,
// truncated, empty and schema-violating answers, the repair round trip,
// 429 with Retry-After, 500s, a reset mid-answer, a slow answer past the
// timeout, a missing model, and the answer cache.
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "llm/chat.h"
#include "llm/llm_endpoint.h"
#include "support/fake_llm_server.h"

namespace refinery {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::ChatCall;
using testing::ChatReply;
using testing::Fault;
using testing::FakeModel;

const json kSchema = json::parse(R"({"type": "object", "required": ["score", "label"], "properties": {
  "score": {"type": "number", "minimum": 0, "maximum": 1}, "label": {"enum": ["good", "bad"]}}})");

class MemoryCache : public AnswerCache {
 public:
  std::optional<std::string> Get(const std::string& key) override {
    auto it = entries.find(key);
    return it == entries.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void Put(const std::string& key, const std::string&, const std::string& answer) override { entries[key] = answer; }
  std::map<std::string, std::string> entries;
};

class RemoteChatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.AddModel(FakeModel::Chat("qwen2.5:7b"));
    fake_.Start();
  }

  std::unique_ptr<ChatModel> Chat(const std::string& provider, double timeout_s = 10) {
    LlmEndpointConfig e;
    e.url = fake_.url();
    e.provider = provider;
    e.model = "qwen2.5:7b";
    e.timeout_s = timeout_s;
    e.retries = 2;
    e.max_tokens = 256;
    endpoint_ = std::make_shared<LlmEndpoint>("llm_reason", e, "");
    return MakeRemoteChat(endpoint_);
  }

  // Answers `replies` in turn (the last one again after that), recording each call.
  void Script(std::vector<std::string> replies, std::string finish = "stop") {
    fake_.SetChatScript([this, replies, finish](const ChatCall& call) {
      std::lock_guard lock(mu_);
      calls_.push_back(call);
      return ChatReply{replies[std::min(calls_.size(), replies.size()) - 1], finish, "", {}, {}};
    });
  }

  static ChatRequest Ask() {
    ChatRequest r;
    r.messages = {{"system", "You judge. Answer in JSON."}, {"user", "Judge: the sky is green."}};
    r.schema = kSchema;
    return r;
  }

  std::vector<ChatCall> Calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

  testing::FakeLlmServer fake_;
  std::shared_ptr<LlmEndpoint> endpoint_;
  std::mutex mu_;
  std::vector<ChatCall> calls_;
};

TEST_F(RemoteChatTest, OllamaSendsTheSchemaAsFormatWithThinkingOffAndTheTokenLimit) {
  Script({R"({"score": 0.2, "label": "bad"})"});
  auto chat = Chat("ollama");
  auto answer = AskStructured(*chat, Ask(), nullptr);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->value, json({{"score", 0.2}, {"label", "bad"}}));
  EXPECT_FALSE(answer->repaired);
  const std::vector<ChatCall> calls = Calls();
  ASSERT_EQ(calls.size(), 1u);
  const json& sent = calls[0].request;
  EXPECT_EQ(sent["format"], kSchema);
  EXPECT_EQ(sent["think"], false);
  EXPECT_EQ(sent["stream"], false);
  EXPECT_EQ(sent["options"]["num_predict"], 256);
  EXPECT_EQ(sent["options"]["temperature"], 0);
  EXPECT_EQ(sent["keep_alive"], "30m");
  EXPECT_EQ(chat->Name(), "ollama:qwen2.5:7b");
}

TEST_F(RemoteChatTest, OpenAiFallsBackFromJsonSchemaToJsonObjectToThePromptForGood) {
  Script({R"({"score": 1, "label": "good"})"});
  auto chat = Chat("openai");
  ASSERT_TRUE(chat->Chat(Ask()).ok());
  EXPECT_EQ(Calls().back().format["type"], "json_schema");
  EXPECT_EQ(Calls().back().format["json_schema"]["schema"], kSchema);

  fake_.SetJsonSchemaSupported(false);
  auto object = chat->Chat(Ask());
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  EXPECT_EQ(object->structure, "json_object");
  EXPECT_EQ(Calls().back().format, json({{"type", "json_object"}}));
  EXPECT_NE(Calls().back().prompt.find("\"minimum\":0"), std::string::npos) << "the schema went into the prompt";

  fake_.SetJsonObjectSupported(false);
  auto plain = chat->Chat(Ask());
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->structure, "prompt");
  EXPECT_TRUE(Calls().back().format.is_null());
  const int before = fake_.RequestCount("/v1/chat/completions");
  ASSERT_TRUE(chat->Chat(Ask()).ok());
  EXPECT_EQ(fake_.RequestCount("/v1/chat/completions"), before + 1) << "a refused format was asked for again";
}

TEST_F(RemoteChatTest, FencedAndProseAnswersAreRepairedWithoutAnotherCall) {
  for (const char* provider : {"ollama", "openai"}) {
    Script({"Here you go:\n```json\n{\"score\": 0.5, \"label\": \"good\"}\n```\nAnything else?"});
    auto answer = AskStructured(*Chat(provider), Ask(), nullptr);
    ASSERT_TRUE(answer.ok()) << provider << ": " << answer.status().ToString();
    EXPECT_EQ(answer->value["score"], 0.5);
    EXPECT_FALSE(answer->repaired);
  }
  EXPECT_EQ(Calls().size(), 2u);
}

TEST_F(RemoteChatTest, ASchemaViolationGetsOneRepairRoundTripQuotingTheProblem) {
  Script({R"({"score": 7, "label": "good"})", R"({"score": 0.7, "label": "good"})"});
  auto answer = AskStructured(*Chat("ollama"), Ask(), nullptr);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE(answer->repaired);
  EXPECT_EQ(answer->value["score"], 0.7);
  const std::vector<ChatCall> calls = Calls();
  ASSERT_EQ(calls.size(), 2u);
  const json& messages = calls[1].request["messages"];
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[2]["role"], "assistant");
  EXPECT_NE(messages[3]["content"].get<std::string>().find("score: 7 is above the maximum 1"), std::string::npos)
      << messages.dump();
}

TEST_F(RemoteChatTest, AnAnswerStillInvalidAfterTheRepairIsUnusableAndNamed) {
  Script({R"({"score": 0.5, "label": "maybe"})"});
  auto answer = AskStructured(*Chat("openai"), Ask(), nullptr);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(answer.status().message().find("unusable answer"), std::string::npos);
  EXPECT_NE(answer.status().message().find("label: \"maybe\" is not one of"), std::string::npos)
      << answer.status().message();
  EXPECT_EQ(Calls().size(), 2u);
}

TEST_F(RemoteChatTest, TruncatedAndEmptyAnswersAreErrorsNotSuccesses) {
  for (const char* provider : {"ollama", "openai"}) {
    Script({R"({"score": 0.5, "lab)"}, "length");
    auto cut = Chat(provider)->Chat(Ask());
    ASSERT_FALSE(cut.ok()) << provider;
    EXPECT_EQ(cut.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(cut.status().message().find("cut off at 256 tokens"), std::string::npos) << cut.status().message();
    Script({"  "});
    auto empty = Chat(provider)->Chat(Ask());
    ASSERT_FALSE(empty.ok()) << provider;
    EXPECT_NE(empty.status().message().find("empty"), std::string::npos) << empty.status().message();
  }
}

TEST_F(RemoteChatTest, AnswersOfTheWrongShapeAreErrorsNotCrashes) {
  const std::pair<const char*, const char*> cases[] = {
      {"ollama", R"({"done": true})"},
      {"ollama", R"({"message": {"role": "assistant"}, "done": true})"},
      {"ollama", R"({"message": {"role": "assistant", "content": ""}, "done": true})"},
      {"openai", R"({"choices": []})"},
      {"openai", R"({"choices": [{}], "usage": {}})"},
      {"openai", R"({"choices": [{"message": {"role": "assistant", "content": null}}]})"},
      {"openai", R"([1, 2])"},
  };
  for (const auto& [provider, body] : cases) {
    const char* path = std::string(provider) == "ollama" ? "/api/chat" : "/v1/chat/completions";
    fake_.AddFault(path, Fault::Status(200, body));
    auto answer = Chat(provider)->Chat(Ask());
    ASSERT_FALSE(answer.ok()) << provider << " " << body;
    EXPECT_EQ(answer.status().code(), StatusCode::kInvalidArgument) << body << ": " << answer.status().ToString();
    EXPECT_FALSE(answer.status().message().empty());
  }
}

TEST_F(RemoteChatTest, RateLimitsServerErrorsAndResetsAreRetried) {
  Script({R"({"score": 0.1, "label": "bad"})"});
  fake_.AddFault("/api/chat", Fault::RateLimited(1));
  fake_.AddFault("/api/chat", Fault::Status(500));
  auto chat = Chat("ollama");
  auto answer = AskStructured(*chat, Ask(), nullptr);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(fake_.RequestCount("/api/chat"), 3);
  fake_.AddFault("/api/chat", Fault::ResetMidAnswer());
  ASSERT_TRUE(chat->Chat(Ask()).ok());
  EXPECT_EQ(fake_.RequestCount("/api/chat"), 5);
}

TEST_F(RemoteChatTest, ASlowAnswerPastTheTimeoutAndAMissingModelAreTransient) {
  Script({R"({"score": 0.1, "label": "bad"})"});
  fake_.AddFault("/api/chat", Fault::Delay(milliseconds(3000), Fault::kForever));
  auto slow = Chat("ollama", 0.5)->Chat(Ask());
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.status().transient()) << slow.status().ToString();
  fake_.ClearFaults();
  fake_.RemoveModel("qwen2.5:7b");
  auto missing = Chat("ollama")->Chat(Ask());
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().transient()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("qwen2.5:7b"), std::string::npos) << missing.status().message();
}

TEST_F(RemoteChatTest, ACachedAnswerCostsNoCallAndOnlyValidAnswersAreCached) {
  Script({R"({"score": 0.4, "label": "good"})"});
  MemoryCache cache;
  auto chat = Chat("ollama");
  ASSERT_TRUE(AskStructured(*chat, Ask(), &cache).ok());
  auto again = AskStructured(*chat, Ask(), &cache);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->cached);
  EXPECT_EQ(again->value["score"], 0.4);
  EXPECT_EQ(fake_.RequestCount("/api/chat"), 1);
  ChatRequest other = Ask();
  other.messages[1].content = "Judge: water is wet.";
  EXPECT_NE(chat->RequestKey(other), chat->RequestKey(Ask()));
  Script({R"({"score": 9})"});
  EXPECT_FALSE(AskStructured(*chat, other, &cache).ok());
  EXPECT_EQ(cache.entries.size(), 1u) << "an unusable answer was cached";
}

}  // namespace
}  // namespace refinery

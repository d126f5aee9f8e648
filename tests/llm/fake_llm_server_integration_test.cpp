// The fake Ollama/OpenAI server behaves as its header says: the APIs'
// answer shapes and error texts, deterministic embeddings, scripts,
// faults, restarts and counters, seen through the real HTTP client.
#include "support/fake_llm_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "support/raw_http.h"

namespace refinery::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FakeLlmServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.AddModel(FakeModel::Embedding("nomic-embed-text"));
    server_.AddModel(FakeModel::Chat("llama3.2"));
    server_.AddModel(FakeModel::Chat("qwen3:8b", /*can_think=*/true));
    server_.Start();
  }

  Result<HttpResponse> Call(const std::string& method, const std::string& path, const std::string& body = "",
                            double timeout_s = 5, std::map<std::string, std::string> headers = {}) {
    HttpRequest request;
    request.method = method;
    request.url = server_.url() + path;
    request.body = body;
    request.timeout_s = timeout_s;
    request.headers = std::move(headers);
    if (method == "POST") request.headers.emplace("Content-Type", "application/json");
    return HttpCall(request);
  }

  // A successful call's status and parsed JSON body (null when the body is not JSON).
  std::pair<long, json> Json(const std::string& method, const std::string& path, const json& body = nullptr,
                             std::map<std::string, std::string> headers = {}) {
    auto response = Call(method, path, body.is_null() ? "" : body.dump(), 5, std::move(headers));
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    if (!response.ok()) return {0, nullptr};
    return {response->status, json::parse(response->body, nullptr, /*allow_exceptions=*/false)};
  }

  static double Norm(const json& vector) {
    double sum = 0;
    for (const json& x : vector) sum += x.get<double>() * x.get<double>();
    return std::sqrt(sum);
  }

  static std::vector<json> NdjsonLines(const std::string& body) {
    std::vector<json> lines;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }

  FakeLlmServer server_;
};

TEST_F(FakeLlmServerTest, OllamaEmbedBatchIsDeterministicAndUnitNorm) {
  json request = {{"model", "nomic-embed-text"}, {"input", {"alpha", "beta", "alpha"}}};
  auto [status, answer] = Json("POST", "/api/embed", request);
  ASSERT_EQ(status, 200) << answer;
  EXPECT_EQ(answer["model"], "nomic-embed-text");
  ASSERT_EQ(answer["embeddings"].size(), 3u);
  for (const json& e : answer["embeddings"]) {
    ASSERT_EQ(e.size(), 768u);
    EXPECT_NEAR(Norm(e), 1.0, 1e-5);
  }
  EXPECT_EQ(answer["embeddings"][0], answer["embeddings"][2]);
  EXPECT_NE(answer["embeddings"][0], answer["embeddings"][1]);
  EXPECT_GT(answer["prompt_eval_count"].get<int>(), 0);
  EXPECT_TRUE(answer.contains("total_duration") && answer.contains("load_duration"));
  // Same text, same vector: on a later call, under the ":latest" spelling, and through OpenAI.
  auto [status2, again] = Json("POST", "/api/embed", {{"model", "nomic-embed-text:latest"}, {"input", "alpha"}});
  ASSERT_EQ(status2, 200);
  EXPECT_EQ(again["embeddings"][0], answer["embeddings"][0]);
  auto [status3, openai] = Json("POST", "/v1/embeddings", {{"model", "nomic-embed-text"}, {"input", "alpha"}});
  ASSERT_EQ(status3, 200);
  EXPECT_EQ(openai["data"][0]["embedding"], answer["embeddings"][0]);
  // An empty batch is a valid, empty answer.
  auto [status4, empty] = Json("POST", "/api/embed", {{"model", "nomic-embed-text"}, {"input", json::array()}});
  EXPECT_EQ(status4, 200);
  EXPECT_EQ(empty["embeddings"], json::array());
  EXPECT_EQ(server_.TextsEmbedded(), 5);
  EXPECT_EQ(server_.RequestCount("/api/embed"), 3);
  EXPECT_EQ(server_.RecentBodies("/api/embed", 1).at(0),
            json({{"model", "nomic-embed-text"}, {"input", json::array()}}).dump());
}

TEST_F(FakeLlmServerTest, OpenAiEmbeddingsAndModelsShapes) {
  auto [status, answer] = Json("POST", "/v1/embeddings", {{"model", "nomic-embed-text"}, {"input", {"a b", "c"}}});
  ASSERT_EQ(status, 200) << answer;
  EXPECT_EQ(answer["object"], "list");
  EXPECT_EQ(answer["model"], "nomic-embed-text");
  ASSERT_EQ(answer["data"].size(), 2u);
  EXPECT_EQ(answer["data"][1]["object"], "embedding");
  EXPECT_EQ(answer["data"][1]["index"], 1);
  EXPECT_EQ(answer["data"][1]["embedding"].size(), 768u);
  EXPECT_EQ(answer["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(answer["usage"]["total_tokens"], 3);
  auto [status64, b64] =
      Json("POST", "/v1/embeddings", {{"model", "nomic-embed-text"}, {"input", "a"}, {"encoding_format", "base64"}});
  ASSERT_EQ(status64, 200);
  EXPECT_EQ(b64["data"][0]["embedding"].get<std::string>().size(), 4096u);  // 768 float32s, base64
  auto [status_models, models] = Json("GET", "/v1/models");
  ASSERT_EQ(status_models, 200);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 3u);
  EXPECT_EQ(models["data"][0]["id"], "nomic-embed-text");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_TRUE(models["data"][0]["created"].is_number_integer());
  EXPECT_TRUE(models["data"][0]["owned_by"].is_string());
}

TEST_F(FakeLlmServerTest, OldOllamaLacksEmbedButServesEmbeddings) {
  server_.SetEmbedEndpoint(false);
  auto embed = Call("POST", "/api/embed", json({{"model", "nomic-embed-text"}, {"input", "x"}}).dump());
  ASSERT_TRUE(embed.ok());
  EXPECT_EQ(embed->status, 404);
  EXPECT_EQ(embed->body, "404 page not found");
  auto [status, answer] = Json("POST", "/api/embeddings", {{"model", "nomic-embed-text"}, {"prompt", "x"}});
  ASSERT_EQ(status, 200) << answer;
  ASSERT_EQ(answer["embedding"].size(), 768u);
  EXPECT_NEAR(Norm(answer["embedding"]), 1.0, 1e-5);
  server_.SetEmbedEndpoint(true);
  auto [status2, batch] = Json("POST", "/api/embed", {{"model", "nomic-embed-text"}, {"input", "x"}});
  ASSERT_EQ(status2, 200);
  for (size_t i = 0; i < 768; ++i) {
    ASSERT_FLOAT_EQ(batch["embeddings"][0][i].get<float>(), answer["embedding"][i].get<float>());
  }
}

TEST_F(FakeLlmServerTest, MissingModelIs404AndNoModelIs400OnBothApis) {
  for (const char* path : {"/api/embed", "/api/chat", "/api/embeddings"}) {
    auto [status, answer] = Json("POST", path, {{"model", "nope"}, {"input", "x"}, {"messages", json::array()}});
    EXPECT_EQ(status, 404) << path;
    EXPECT_EQ(answer, json({{"error", "model \"nope\" not found, try pulling it first"}})) << path;
    auto [status_none, none] = Json("POST", path, {{"input", "x"}});
    EXPECT_EQ(status_none, 400) << path;
    EXPECT_EQ(none["error"], "model is required") << path;
  }
  json chat = {{"model", "gpt-nope"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  json embed = {{"model", "gpt-nope"}, {"input", "x"}};
  for (const char* path : {"/v1/chat/completions", "/v1/embeddings"}) {
    json body = path == std::string("/v1/embeddings") ? embed : chat;
    auto [status, answer] = Json("POST", path, body);
    EXPECT_EQ(status, 404) << path;
    EXPECT_EQ(answer["error"]["code"], "model_not_found") << answer;
    EXPECT_EQ(answer["error"]["type"], "invalid_request_error");
    EXPECT_EQ(answer["error"]["message"], "The model `gpt-nope` does not exist or you do not have access to it.");
    EXPECT_TRUE(answer["error"].contains("param"));
    body.erase("model");
    auto [status_none, none] = Json("POST", path, body);
    EXPECT_EQ(status_none, 400) << path;
    EXPECT_EQ(none["error"]["type"], "invalid_request_error");
  }
  auto [status, answer] = Json("POST", "/api/chat", {{"model", "llama3.2"}, {"messages", "hi"}});
  EXPECT_EQ(status, 400);
  EXPECT_TRUE(answer["error"].is_string());
}

TEST_F(FakeLlmServerTest, ThinkIsRejectedForAModelThatCannotThink) {
  json request = {
      {"model", "llama3.2"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"think", true}, {"stream", false}};
  auto [status, answer] = Json("POST", "/api/chat", request);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(answer, json({{"error", "\"llama3.2\" does not support thinking"}}));
  server_.SetChatScript([](const ChatCall&) { return ChatReply{"{\"ok\":true}", "stop", "Let me see.", {}, {}}; });
  request["model"] = "qwen3:8b";
  auto [status2, thought] = Json("POST", "/api/chat", request);
  ASSERT_EQ(status2, 200) << thought;
  EXPECT_EQ(thought["message"]["thinking"], "Let me see.");
  EXPECT_EQ(thought["message"]["content"], "{\"ok\":true}");
}

TEST_F(FakeLlmServerTest, JsonObjectNeedsTheWordJsonInTheMessages) {
  json request = {{"model", "llama3.2"},
                  {"messages", {{{"role", "user"}, {"content", "List the colours."}}}},
                  {"response_format", {{"type", "json_object"}}}};
  auto [status, answer] = Json("POST", "/v1/chat/completions", request);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(answer["error"]["message"],
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.");
  EXPECT_EQ(answer["error"]["type"], "invalid_request_error");
  EXPECT_EQ(answer["error"]["param"], "messages");
  request["messages"][0]["content"] = "List the colours as JSON.";
  auto [status2, ok] = Json("POST", "/v1/chat/completions", request);
  EXPECT_EQ(status2, 200) << ok;
}

TEST_F(FakeLlmServerTest, JsonSchemaUnsupportedOrIncompleteIs400) {
  json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};
  json request = {
      {"model", "llama3.2"},
      {"messages", {{{"role", "user"}, {"content", "Give a in json."}}}},
      {"response_format",
       {{"type", "json_schema"}, {"json_schema", {{"name", "answer"}, {"schema", schema}, {"strict", true}}}}}};
  auto [status, answer] = Json("POST", "/v1/chat/completions", request);
  EXPECT_EQ(status, 200) << answer;
  json no_name = request;
  no_name["response_format"]["json_schema"].erase("name");
  auto [status_name, missing] = Json("POST", "/v1/chat/completions", no_name);
  EXPECT_EQ(status_name, 400);
  EXPECT_EQ(missing["error"]["param"], "response_format.json_schema.name");
  json no_schema = request;
  no_schema["response_format"]["json_schema"].erase("schema");
  EXPECT_EQ(Json("POST", "/v1/chat/completions", no_schema).first, 400);

  server_.SetJsonSchemaSupported(false);
  auto [status2, refused] = Json("POST", "/v1/chat/completions", request);
  EXPECT_EQ(status2, 400);
  EXPECT_EQ(refused["error"]["message"],
            "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.");
  request["response_format"] = {{"type", "json_object"}};
  EXPECT_EQ(Json("POST", "/v1/chat/completions", request).first, 200);  // the client's fallback works
  server_.SetJsonObjectSupported(false);
  EXPECT_EQ(Json("POST", "/v1/chat/completions", request).first, 400);
  request.erase("response_format");
  EXPECT_EQ(Json("POST", "/v1/chat/completions", request).first, 200);  // and plain prompting is left
}

TEST_F(FakeLlmServerTest, ScriptedRepliesAndFinishReasonLength) {
  std::vector<ChatCall> calls;
  std::mutex mu;
  server_.SetChatScript([&](const ChatCall& call) {
    std::lock_guard lock(mu);
    calls.push_back(call);
    return ChatReply{"{\"title\": \"cut", "length", "", 12, 4};
  });
  json format = {{"type", "object"}};
  json request = {
      {"model", "llama3.2"},
      {"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Title?"}}}},
      {"format", format},
      {"stream", false},
      {"options", {{"temperature", 0}, {"num_predict", 4}}}};
  auto [status, ollama] = Json("POST", "/api/chat", request);
  ASSERT_EQ(status, 200) << ollama;
  EXPECT_EQ(ollama["message"], json({{"role", "assistant"}, {"content", "{\"title\": \"cut"}}));
  EXPECT_EQ(ollama["done"], true);
  EXPECT_EQ(ollama["done_reason"], "length");
  EXPECT_EQ(ollama["prompt_eval_count"], 12);
  EXPECT_EQ(ollama["eval_count"], 4);
  EXPECT_TRUE(ollama["created_at"].is_string() && ollama.contains("total_duration"));

  request.erase("format");
  request.erase("stream");
  request.erase("options");
  request["max_tokens"] = 4;
  auto [status2, openai] = Json("POST", "/v1/chat/completions", request);
  ASSERT_EQ(status2, 200) << openai;
  EXPECT_EQ(openai["object"], "chat.completion");
  EXPECT_TRUE(openai["id"].get<std::string>().starts_with("chatcmpl-"));
  EXPECT_EQ(openai["model"], "llama3.2");
  ASSERT_EQ(openai["choices"].size(), 1u);
  EXPECT_EQ(openai["choices"][0]["index"], 0);
  EXPECT_EQ(openai["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(openai["choices"][0]["message"]["content"], "{\"title\": \"cut");
  EXPECT_EQ(openai["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(openai["usage"], json({{"prompt_tokens", 12}, {"completion_tokens", 4}, {"total_tokens", 16}}));

  std::lock_guard lock(mu);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].api, LlmApi::kOllama);
  EXPECT_EQ(calls[0].model, "llama3.2");
  EXPECT_EQ(calls[0].prompt, "Be brief.\nTitle?");
  EXPECT_EQ(calls[0].format, format);
  EXPECT_EQ(calls[1].api, LlmApi::kOpenAi);
  EXPECT_TRUE(calls[1].format.is_null());
  EXPECT_EQ(calls[1].request["max_tokens"], 4);
}

TEST_F(FakeLlmServerTest, OllamaChatStreamsNdjsonWhenStreamIsAbsent) {
  server_.SetChatScript([](const ChatCall&) { return ChatReply{"one two three", "stop", "", {}, {}}; });
  auto response = Call("POST", "/api/chat",
                       json({{"model", "llama3.2"}, {"messages", {{{"role", "user"}, {"content", "count"}}}}}).dump());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "application/x-ndjson");
  std::vector<json> lines = NdjsonLines(response->body);
  ASSERT_EQ(lines.size(), 4u) << response->body;
  std::string content;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["done"], false);
    EXPECT_EQ(lines[i]["model"], "llama3.2");
    EXPECT_EQ(lines[i]["message"]["role"], "assistant");
    content += lines[i]["message"]["content"].get<std::string>();
  }
  EXPECT_EQ(content, "one two three");
  EXPECT_EQ(lines.back()["done"], true);
  EXPECT_EQ(lines.back()["done_reason"], "stop");
  EXPECT_EQ(lines.back()["eval_count"], 3);
  EXPECT_TRUE(lines.back().contains("prompt_eval_count") && lines.back().contains("total_duration"));

  auto sse = Call(
      "POST", "/v1/chat/completions",
      json({{"model", "llama3.2"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}).dump());
  ASSERT_TRUE(sse.ok());
  EXPECT_EQ(sse->headers["content-type"], "text/event-stream; charset=utf-8");
  EXPECT_TRUE(sse->body.starts_with("data: {")) << sse->body;
  EXPECT_TRUE(sse->body.ends_with("data: [DONE]\n\n")) << sse->body;
}

TEST_F(FakeLlmServerTest, TagsPsVersionAndPull) {
  auto [status, tags] = Json("GET", "/api/tags");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(tags["models"].size(), 3u);
  const json& first = tags["models"][0];
  EXPECT_EQ(first["name"], "nomic-embed-text:latest");
  EXPECT_EQ(first["model"], "nomic-embed-text:latest");
  EXPECT_EQ(first["digest"].get<std::string>().size(), 64u);
  EXPECT_TRUE(first["size"].is_number_integer() && first["modified_at"].is_string());
  EXPECT_EQ(first["details"]["format"], "gguf");
  EXPECT_EQ(Json("GET", "/api/version").second, json({{"version", "0.5.7"}}));

  EXPECT_EQ(Json("GET", "/api/ps").second, json({{"models", json::array()}}));
  Json("POST", "/api/embed", {{"model", "nomic-embed-text"}, {"input", "x"}});
  auto [status_ps, ps] = Json("GET", "/api/ps");
  ASSERT_EQ(ps["models"].size(), 1u) << ps;
  EXPECT_EQ(ps["models"][0]["name"], "nomic-embed-text:latest");
  EXPECT_TRUE(ps["models"][0]["expires_at"].is_string() && ps["models"][0].contains("size_vram"));

  auto unknown = Call("POST", "/api/pull", json({{"model", "all-minilm"}}).dump());
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 200);  // streamed: the error comes as a line
  EXPECT_EQ(NdjsonLines(unknown->body).back(), json({{"error", "pull model manifest: file does not exist"}}));
  auto [status_unstreamed, unstreamed] = Json("POST", "/api/pull", {{"model", "all-minilm"}, {"stream", false}});
  EXPECT_EQ(status_unstreamed, 500);
  EXPECT_EQ(unstreamed["error"], "pull model manifest: file does not exist");

  server_.AddPullableModel(FakeModel::Embedding("all-minilm", 384));
  EXPECT_FALSE(server_.HasModel("all-minilm"));
  auto pulled = Call("POST", "/api/pull", json({{"name", "all-minilm:latest"}}).dump());
  ASSERT_TRUE(pulled.ok());
  std::vector<json> lines = NdjsonLines(pulled->body);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines.front(), json({{"status", "pulling manifest"}}));
  EXPECT_EQ(lines[1]["completed"], 0);
  EXPECT_EQ(lines[3]["completed"], lines[3]["total"]);
  EXPECT_TRUE(lines[1]["digest"].get<std::string>().starts_with("sha256:"));
  EXPECT_EQ(lines.back(), json({{"status", "success"}}));
  EXPECT_TRUE(server_.HasModel("all-minilm"));
  EXPECT_EQ(Json("GET", "/api/tags").second["models"].size(), 4u);
  auto [status_embed, embed] = Json("POST", "/api/embed", {{"model", "all-minilm"}, {"input", "x"}});
  ASSERT_EQ(status_embed, 200);
  EXPECT_EQ(embed["embeddings"][0].size(), 384u);
}

TEST_F(FakeLlmServerTest, RateLimitedWithRetryAfterThenServed) {
  server_.AddFault("/api/embed", Fault::RateLimited(7));
  std::string body = json({{"model", "nomic-embed-text"}, {"input", "x"}}).dump();
  auto limited = Call("POST", "/api/embed", body);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->headers["retry-after"], "7");
  EXPECT_TRUE(json::parse(limited->body)["error"].is_string());
  auto served = Call("POST", "/api/embed", body);
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(server_.RequestCount("/api/embed"), 2);
  EXPECT_EQ(server_.TextsEmbedded(), 1);  // the refused request embedded nothing
}

TEST_F(FakeLlmServerTest, StatusFaultsForAllPathsAndCounted) {
  server_.AddFault(FakeLlmServer::kAllPaths, Fault::Status(500, "", 2));
  server_.AddFault("/v1/models", Fault::Status(503, "{\"error\":\"busy\"}"));
  auto [s1, models] = Json("GET", "/v1/models");  // the path's own fault first
  EXPECT_EQ(s1, 503);
  EXPECT_EQ(models, json({{"error", "busy"}}));
  auto [s2, openai] = Json("GET", "/v1/models");
  EXPECT_EQ(s2, 500);
  EXPECT_EQ(openai["error"]["type"], "server_error");
  auto [s3, ollama] = Json("GET", "/api/tags");
  EXPECT_EQ(s3, 500);
  EXPECT_TRUE(ollama["error"].is_string());
  EXPECT_EQ(Json("GET", "/api/tags").first, 200);
  server_.AddFault(FakeLlmServer::kAllPaths, Fault::Status(500, "", Fault::kForever));
  EXPECT_EQ(Json("GET", "/api/tags").first, 500);
  EXPECT_EQ(Json("GET", "/api/tags").first, 500);
  server_.ClearFaults();
  EXPECT_EQ(Json("GET", "/api/tags").first, 200);
}

TEST_F(FakeLlmServerTest, DelayPastTheClientTimeoutTimesOut) {
  server_.AddFault("/api/embed", Fault::Delay(300ms));
  std::string body = json({{"model", "nomic-embed-text"}, {"input", "x"}}).dump();
  auto start = std::chrono::steady_clock::now();
  auto late = Call("POST", "/api/embed", body, /*timeout_s=*/0.1);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kTimeout) << late.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 290ms);
  auto next = Call("POST", "/api/embed", body, 0.1);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->status, 200);
}

TEST_F(FakeLlmServerTest, ResetMidAnswerIsAnErrorNotAShortBody) {
  server_.AddFault("/api/embed", Fault::ResetMidAnswer());
  std::string body = json({{"model", "nomic-embed-text"}, {"input", "x"}}).dump();
  auto cut = Call("POST", "/api/embed", body);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kUnavailable) << cut.status().ToString();
  auto next = Call("POST", "/api/embed", body);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->status, 200);
}

TEST_F(FakeLlmServerTest, StopRefusesCallsAndStartServesAgainOnTheSamePort) {
  HttpSession session;  // keeps its connection open across calls
  HttpRequest request;
  request.url = server_.url() + "/api/version";
  request.timeout_s = 2;
  ASSERT_TRUE(session.Call(request).ok());
  const int port = server_.port();
  // A call held by a long delay is cut off by Stop(), which does not wait the delay out.
  server_.AddFault("/api/tags", Fault::Delay(5s));
  std::atomic<bool> held_failed{false};
  std::thread held([&] { held_failed = !Call("GET", "/api/tags", "", 10).ok(); });
  while (server_.InFlight() == 0) std::this_thread::sleep_for(1ms);
  auto start = std::chrono::steady_clock::now();
  server_.Stop();
  held.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(held_failed);
  EXPECT_FALSE(server_.running());
  auto down = session.Call(request);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  server_.Start();
  EXPECT_EQ(server_.port(), port);
  auto up = session.Call(request);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->status, 200);
}

TEST_F(FakeLlmServerTest, ApiKeyIsRequiredOnTheOpenAiPaths) {
  server_.SetApiKey("sk-test-1234567890");
  auto [none_status, none] = Json("GET", "/v1/models");
  EXPECT_EQ(none_status, 401);
  EXPECT_EQ(none["error"]["type"], "invalid_request_error");
  auto [wrong_status, wrong] = Json("GET", "/v1/models", nullptr, {{"Authorization", "Bearer sk-wrong-0000000000"}});
  EXPECT_EQ(wrong_status, 401);
  EXPECT_EQ(wrong["error"]["code"], "invalid_api_key");
  EXPECT_EQ(Json("GET", "/v1/models", nullptr, {{"Authorization", "Bearer sk-test-1234567890"}}).first, 200);
  EXPECT_EQ(Json("GET", "/api/tags").first, 200);  // Ollama's own API has no keys
}

TEST_F(FakeLlmServerTest, MaxInFlightSeesParallelRequests) {
  server_.SetLatency(150ms);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { ok += Json("GET", "/api/version").first == 200; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(server_.MaxInFlight(), 4);
  EXPECT_EQ(server_.InFlight(), 0);
  EXPECT_EQ(server_.RequestCount("/api/version"), 4);
  server_.ResetCounters();
  EXPECT_EQ(server_.MaxInFlight(), 0);
  EXPECT_EQ(server_.RequestCount(), 0);
  EXPECT_TRUE(server_.RecentBodies().empty());
}

TEST_F(FakeLlmServerTest, LargeBodyGoesThroughCurlsExpectContinue) {
  // libcurl sends "Expect: 100-continue" with a body over 1 MiB, then waits
  // up to 1 s for the 100 before sending the body anyway. The body is mostly
  // JSON whitespace, cheap to parse even unoptimised under the sanitizers.
  const std::string body = "{\"model\": \"nomic-embed-text\", \"input\": [\"x\"]" + std::string(1100 * 1024, ' ') + "}";
  auto start = std::chrono::steady_clock::now();
  auto response = Call("POST", "/api/embed", body);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 700ms);
  EXPECT_EQ(server_.RecentBodies("/api/embed", 1).at(0), body);
}

TEST_F(FakeLlmServerTest, HttpFramingChunkedContinueKeepAlive404And405) {
  RawConnection conn(server_.port());
  const std::string body = json({{"model", "nomic-embed-text"}, {"input", "x"}}).dump();
  // A chunked request body, in two chunks.
  std::string half = body.substr(0, body.size() / 2), rest = body.substr(body.size() / 2);
  std::ostringstream chunked;
  chunked << "POST /api/embed HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
          << std::hex << half.size() << "\r\n"
          << half << "\r\n"
          << rest.size() << "\r\n"
          << rest << "\r\n0\r\n\r\n";
  ASSERT_TRUE(conn.Send(chunked.str()));
  auto first = conn.ReadResponse(2s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(first->headers["content-length"], std::to_string(first->body.size()));
  // Expect: 100-continue on the same (kept-alive) connection: 100 first, then the answer.
  ASSERT_TRUE(conn.Send("POST /api/embed HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = conn.ReadResponse(2s);
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(conn.Send(body));
  auto second = conn.ReadResponse(2s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(json::parse(second->body)["embeddings"], json::parse(first->body)["embeddings"]);
  ASSERT_TRUE(conn.Send(RawGet("/api/nothing")));
  auto missing = conn.ReadResponse(2s);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "404 page not found");
  ASSERT_TRUE(conn.Send(RawGet("/api/chat")));
  auto wrong_method = conn.ReadResponse(2s);
  ASSERT_TRUE(wrong_method.has_value());
  EXPECT_EQ(wrong_method->status, 405);
  ASSERT_TRUE(conn.Send(RawGet("/v1/nothing")));
  auto openai_missing = conn.ReadResponse(2s);
  ASSERT_TRUE(openai_missing.has_value());
  EXPECT_EQ(openai_missing->status, 404);
  EXPECT_TRUE(json::parse(openai_missing->body)["error"]["message"].is_string());
  // Ambiguous framing is refused and the connection closed.
  ASSERT_TRUE(
      conn.Send("POST /api/embed HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"));
  auto ambiguous = conn.ReadResponse(2s);
  ASSERT_TRUE(ambiguous.has_value());
  EXPECT_EQ(ambiguous->status, 400);
  EXPECT_TRUE(conn.WaitClosed(2s));
}

}  // namespace
}  // namespace refinery::testing

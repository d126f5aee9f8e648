#include "core/config.h"

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace refinery {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsAreTheEmbeddedMode) {
  testing::TempDir dir;
  auto config = LoadConfig(FakeEnv({{"REFINERY_CONFIG", ""}}));
  // An explicit but empty config path names no file: that is an error.
  EXPECT_FALSE(config.ok());
  auto plain = LoadConfig(FakeEnv({}));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->data_dir, "./refinery-data");
  EXPECT_TRUE(plain->database_url.empty());
  EXPECT_TRUE(plain->redis_url.empty());
  EXPECT_TRUE(plain->blob_url.empty());
  EXPECT_EQ(plain->port, 8000);
  EXPECT_EQ(plain->SqlitePath(), "./refinery-data/refinery.db");
}

TEST(Config, RefineryVariablesBeatLegacyNamesWhichBeatToml) {
  testing::TempDir dir;
  std::string toml = dir.path() + "/refinery.toml";
  std::ofstream(toml) << "data_dir = \"/from/toml\"\n[api]\nport = 9001\n[database]\nurl = \"postgresql://toml\"\n"
                      << "[pipeline]\nchunk_target_chars = 800\n";
  auto config = LoadConfig(FakeEnv({{"REFINERY_CONFIG", toml},
                                    {"DATABASE_URL", "postgresql://legacy"},
                                    {"REFINERY_PORT", "9002"},
                                    {"REDIS_HOST", "cache"},
                                    {"REDIS_PORT", "6380"},
                                    {"MINIO_ENDPOINT", "minio:9000"}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->data_dir, "/from/toml");
  EXPECT_EQ(config->port, 9002);
  EXPECT_EQ(config->database_url, "postgresql://legacy");
  EXPECT_EQ(config->redis_url, "redis://cache:6380");
  EXPECT_EQ(config->blob_url, "http://minio:9000");
  EXPECT_EQ(config->chunk_target_chars, 800);
  auto overridden = LoadConfig(FakeEnv({{"REFINERY_CONFIG", toml},
                                        {"DATABASE_URL", "postgresql://legacy"},
                                        {"REFINERY_DATABASE_URL", "postgresql://new"}}));
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->database_url, "postgresql://new");
}

TEST(Config, LlmEndpointsTakeThePythonSystemsNamesAndOurs) {
  auto none = LoadConfig(FakeEnv({}));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->llm_embed.configured());  // the built-in embedder and reasoner
  EXPECT_FALSE(none->llm_reason.configured());
  auto legacy = LoadConfig(FakeEnv({{"OLLAMA_EMBED_URL", "http://llm-embed:11434"},
                                    {"OLLAMA_BASE_URL", "http://llm-reason:11434"},
                                    {"REASONING_MODEL", "llama3.1:8b"},
                                    {"OPENAI_API_KEY", "sk-x"}}));
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  EXPECT_EQ(legacy->llm_embed.url, "http://llm-embed:11434");
  EXPECT_EQ(legacy->llm_embed.provider, "ollama");
  EXPECT_EQ(legacy->llm_embed.model, "nomic-embed-text");  // the Python system's default
  EXPECT_EQ(legacy->llm_reason.url, "http://llm-reason:11434");
  EXPECT_EQ(legacy->llm_reason.model, "llama3.1:8b");
  EXPECT_EQ(legacy->openai_api_key, "sk-x");
  EXPECT_TRUE(legacy->llm_embed.api_key.empty());  // never sent to a server it was not meant for
  auto ours = LoadConfig(FakeEnv({{"OLLAMA_EMBED_URL", "http://llm-embed:11434"},
                                  {"EMBEDDING_MODEL", "nomic-embed-text"},
                                  {"REFINERY_EMBED_URL", "http://vllm:8000/v1"},
                                  {"REFINERY_EMBED_PROVIDER", "openai"},
                                  {"REFINERY_EMBED_MODEL", "bge-m3"},
                                  {"REFINERY_EMBED_TIMEOUT_S", "30"},
                                  {"REFINERY_EMBED_CONCURRENCY", "8"},
                                  {"REFINERY_EMBED_BATCH_SIZE", "128"},
                                  {"REFINERY_EMBED_RETRIES", "0"},
                                  {"REFINERY_EMBED_PULL", "true"}}));
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  EXPECT_EQ(ours->llm_embed.url, "http://vllm:8000/v1");
  EXPECT_EQ(ours->llm_embed.provider, "openai");
  EXPECT_EQ(ours->llm_embed.model, "bge-m3");
  EXPECT_DOUBLE_EQ(ours->llm_embed.timeout_s, 30);
  EXPECT_EQ(ours->llm_embed.concurrency, 8);
  EXPECT_EQ(ours->llm_embed.batch_size, 128);
  EXPECT_EQ(ours->llm_embed.retries, 0);
  EXPECT_TRUE(ours->llm_embed.pull);
  for (const auto& [name, value] : std::map<std::string, std::string>{{"REFINERY_EMBED_PROVIDER", "anthropic"},
                                                                      {"REFINERY_EMBED_URL", "llm-embed:11434"},
                                                                      {"REFINERY_EMBED_CONCURRENCY", "0"}}) {
    std::map<std::string, std::string> env = {{"REFINERY_EMBED_URL", "http://e:1"}};
    env[name] = value;
    auto bad = LoadConfig(FakeEnv(env));
    ASSERT_FALSE(bad.ok()) << name;
    EXPECT_NE(bad.status().message().find(name), std::string::npos) << bad.status().ToString();
  }
  auto no_model = LoadConfig(FakeEnv({{"REFINERY_REASON_URL", "http://r:1"}}));
  ASSERT_FALSE(no_model.ok());
  EXPECT_NE(no_model.status().message().find("REFINERY_REASON_MODEL"), std::string::npos);
}

TEST(Config, ReasoningSettingsAndTheStagesChoiceAreRead) {
  auto defaults = LoadConfig(FakeEnv({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->evaluator, "auto");
  EXPECT_EQ(defaults->extractor, "auto");
  EXPECT_EQ(defaults->llm_reason.max_tokens, 2048);
  auto set = LoadConfig(FakeEnv({{"OLLAMA_BASE_URL", "http://r:1"},
                                 {"REASONING_MODEL", "qwen2.5:7b"},
                                 {"REFINERY_REASON_MAX_TOKENS", "512"},
                                 {"REFINERY_REASON_NUM_CTX", "8192"},
                                 {"REFINERY_REASON_KEEP_ALIVE", "5m"},
                                 {"REFINERY_EVALUATOR", "rules"},
                                 {"REFINERY_EXTRACTOR", "llm"}}));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->llm_reason.max_tokens, 512);
  EXPECT_EQ(set->llm_reason.num_ctx, 8192);
  EXPECT_EQ(set->llm_reason.keep_alive, "5m");
  EXPECT_EQ(set->evaluator, "rules");
  EXPECT_EQ(set->extractor, "llm");
  auto bad = LoadConfig(FakeEnv({{"REFINERY_EVALUATOR", "gpt"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("REFINERY_EVALUATOR"), std::string::npos);
  auto no_server = LoadConfig(FakeEnv({{"REFINERY_EXTRACTOR", "llm"}}));
  ASSERT_FALSE(no_server.ok());
  EXPECT_NE(no_server.status().message().find("REFINERY_EXTRACTOR=llm: no reasoning server"), std::string::npos)
      << no_server.status().message();
}

TEST(Config, HttpServerSettingsAreRead) {
  auto defaults = LoadConfig(FakeEnv({}));
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->http_threads, 16);
  EXPECT_EQ(defaults->http_thread_nice, 10);
  EXPECT_EQ(defaults->http_queue_wait_s, 2);
  EXPECT_EQ(defaults->http_idle_timeout_s, 30);
  EXPECT_EQ(defaults->http_header_timeout_s, 10);
  EXPECT_EQ(defaults->http_body_timeout_s, 30);
  auto set = LoadConfig(FakeEnv({{"REFINERY_HTTP_THREADS", "3"},
                                 {"REFINERY_HTTP_QUEUE_WAIT_S", "0.5"},
                                 {"REFINERY_HTTP_IDLE_TIMEOUT_S", "7"},
                                 {"REFINERY_HTTP_HEADER_TIMEOUT_S", "1.5"},
                                 {"REFINERY_HTTP_BODY_TIMEOUT_S", "9"}}));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->http_threads, 3);
  EXPECT_EQ(set->http_queue_wait_s, 0.5);
  EXPECT_EQ(set->http_idle_timeout_s, 7);
  EXPECT_EQ(set->http_header_timeout_s, 1.5);
  EXPECT_EQ(set->http_body_timeout_s, 9);
  auto bad = LoadConfig(FakeEnv({{"REFINERY_HTTP_QUEUE_WAIT_S", "soon"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("REFINERY_HTTP_QUEUE_WAIT_S"), std::string::npos);
}

TEST(Config, InvalidSettingFailsWithOneLineNamingIt) {
  auto bad_port = LoadConfig(FakeEnv({{"REFINERY_PORT", "eighty"}}));
  ASSERT_FALSE(bad_port.ok());
  EXPECT_EQ(bad_port.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_port.status().message().find("REFINERY_PORT"), std::string::npos);
  EXPECT_NE(bad_port.status().message().find("eighty"), std::string::npos);
  EXPECT_EQ(bad_port.status().message().find('\n'), std::string::npos);

  EXPECT_FALSE(LoadConfig(FakeEnv({{"REFINERY_PORT", "70000"}})).ok());
  EXPECT_FALSE(LoadConfig(FakeEnv({{"REFINERY_VISIBILITY_TIMEOUT_S", "-1"}})).ok());
  EXPECT_FALSE(LoadConfig(FakeEnv({{"REFINERY_LOG_FORMAT", "xml"}})).ok());
  EXPECT_FALSE(LoadConfig(FakeEnv({{"REDIS_PORT", "x"}})).ok());
  auto overlap = LoadConfig(FakeEnv({{"REFINERY_CHUNK_TARGET_CHARS", "100"}, {"REFINERY_CHUNK_OVERLAP_CHARS", "100"}}));
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.status().message().find("REFINERY_CHUNK_OVERLAP_CHARS"), std::string::npos);
}

Result<Config> LoadToml(const testing::TempDir& dir, const std::string& text) {
  const std::string toml = dir.path() + "/refinery.toml";
  std::ofstream(toml, std::ios::trunc) << text;
  return LoadConfig(FakeEnv({{"REFINERY_CONFIG", toml}}));
}

TEST(Config, ServiceTablesAreRead) {
  testing::TempDir dir;
  auto config = LoadToml(dir,
                         "[supervisor]\nstop_grace_s = 3\n"
                         "[services.workers]\nconcurrency = 4\nhealth_timeout_s = 2\n"
                         "[services.worker-chunk]\nreplicas = 3\nrestart = \"on-failure\"\n"
                         "depends_on = []\nbackoff_max_s = 5\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->stop_grace_s, 3);
  const ServiceSettings chunk = config->services.at("worker-chunk").Over(config->services.at("workers"));
  EXPECT_EQ(chunk.replicas, 3);
  EXPECT_EQ(chunk.concurrency, 4);
  EXPECT_EQ(chunk.restart, "on-failure");
  EXPECT_EQ(chunk.health_timeout_s, 2);
  EXPECT_EQ(chunk.backoff_max_s, 5);
  ASSERT_TRUE(chunk.depends_on.has_value());
  EXPECT_TRUE(chunk.depends_on->empty());
  EXPECT_FALSE(chunk.health_retries.has_value());
}

TEST(Config, BadServiceSettingsNameTheKey) {
  testing::TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"[services.api]\nreplica = 2\n", "services.api.replica: unknown setting"},
      {"[services.workers]\nreplicas = 0\n", "services.workers.replicas: expected an integer in 1..64"},
      {"[services.workers]\nreplicas = \"two\"\n", "services.workers.replicas"},
      {"[services.api]\nhealth_timeout_s = -1\n", "services.api.health_timeout_s: expected a number"},
      {"[services.api]\ndepends_on = \"db\"\n", "services.api.depends_on: expected an array"},
      {"[services]\napi = 1\n", "services.api: expected a table"},
      {"[api]\nprot = 8000\n", "api.prot: unknown setting"},
  };
  for (const auto& [text, want] : cases) {
    auto config = LoadToml(dir, text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_NE(config.status().message().find(want), std::string::npos) << config.status().message();
    EXPECT_NE(config.status().message().find("refinery.toml"), std::string::npos) << config.status().message();
  }
}

TEST(Config, MalformedTomlNamesTheFile) {
  testing::TempDir dir;
  std::string toml = dir.path() + "/refinery.toml";
  std::ofstream(toml) << "[api\nport = ";
  auto config = LoadConfig(FakeEnv({{"REFINERY_CONFIG", toml}}));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find(toml), std::string::npos);
  std::ofstream(toml, std::ios::trunc) << "[api]\nport = \"high\"\n";
  auto typed = LoadConfig(FakeEnv({{"REFINERY_CONFIG", toml}}));
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("api.port"), std::string::npos);
}

}  // namespace
}  // namespace refinery

#include "core/config.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <toml++/toml.h>

#include "core/config_internal.h"

namespace refinery {
namespace {

using Setter = Status (*)(Config&, const std::string& name, const std::string& value);

// One configurable setting: where it lives in refinery.toml, its REFINERY_*
// variable, and how a textual value is parsed into the Config.
struct Setting {
  const char* toml_path;  // "api.port"
  const char* env;        // "REFINERY_PORT"
  Setter apply;
};

Status ParseInt(const std::string& name, const std::string& value, int64_t lo, int64_t hi, int64_t& out) {
  int64_t parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size() || parsed < lo || parsed > hi) {
    return Status::InvalidArgument(name + ": expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                                   ", got '" + value + "'");
  }
  out = parsed;
  return Status::Ok();
}

Status ParseSeconds(const std::string& name, const std::string& value, double lo, double& out) {
  char* end = nullptr;
  double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !(parsed >= lo) || parsed > 86400 * 7) {
    return Status::InvalidArgument(name + ": expected a number of seconds >= " + std::to_string(lo) + ", got '" +
                                   value + "'");
  }
  out = parsed;
  return Status::Ok();
}

template <int64_t Lo, int64_t Hi, auto Member>
Status IntSetter(Config& c, const std::string& name, const std::string& value) {
  int64_t v = 0;
  REFINERY_RETURN_IF_ERROR(ParseInt(name, value, Lo, Hi, v));
  c.*Member = static_cast<std::remove_reference_t<decltype(c.*Member)>>(v);
  return Status::Ok();
}

template <auto Member>
Status SecondsSetter(Config& c, const std::string& name, const std::string& value) {
  return ParseSeconds(name, value, 0.01, c.*Member);
}

// "a, b,,c" -> {"a", "b", "c"}: comma-separated, blanks trimmed, empties dropped.
std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    const size_t first = value.find_first_not_of(" \t", start);
    if (first != std::string::npos && first < end) {
      const size_t last = value.find_last_not_of(" \t", end - 1);
      items.push_back(value.substr(first, last - first + 1));
    }
    start = end + 1;
  }
  return items;
}

template <auto Member>
Status ListSetter(Config& c, const std::string&, const std::string& value) {
  c.*Member = SplitList(value);
  return Status::Ok();
}

template <auto Member>
Status BoolSetter(Config& c, const std::string& name, const std::string& value) {
  if (value == "1" || value == "true" || value == "yes" || value == "on") {
    c.*Member = true;
  } else if (value == "0" || value == "false" || value == "no" || value == "off" || value.empty()) {
    c.*Member = false;
  } else {
    return Status::InvalidArgument(name + ": expected 1/0, true/false, yes/no or on/off, got '" + value + "'");
  }
  return Status::Ok();
}

template <auto Member>
Status RateSetter(Config& c, const std::string& name, const std::string& value) {
  char* end = nullptr;
  const double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !(parsed >= 0) || parsed > 1e9) {
    return Status::InvalidArgument(name + ": expected a number >= 0 (requests per second), got '" + value + "'");
  }
  c.*Member = parsed;
  return Status::Ok();
}

template <auto Member>
Status StringSetter(Config& c, const std::string&, const std::string& value) {
  c.*Member = value;
  return Status::Ok();
}

// [llm.embed] / [llm.reason] fields: `Endpoint` picks the endpoint, `Field` its member.
template <auto Endpoint, auto Field>
Status EndpointString(Config& c, const std::string&, const std::string& value) {
  (c.*Endpoint).*Field = value;
  return Status::Ok();
}

template <auto Endpoint, auto Field, int64_t Lo, int64_t Hi>
Status EndpointInt(Config& c, const std::string& name, const std::string& value) {
  int64_t v = 0;
  REFINERY_RETURN_IF_ERROR(ParseInt(name, value, Lo, Hi, v));
  (c.*Endpoint).*Field = static_cast<std::remove_reference_t<decltype((c.*Endpoint).*Field)>>(v);
  return Status::Ok();
}

template <auto Endpoint, auto Field>
Status EndpointSeconds(Config& c, const std::string& name, const std::string& value) {
  return ParseSeconds(name, value, 0.01, (c.*Endpoint).*Field);
}

// Seconds where 0 means "none" (a crawl with politeness off).
template <auto Endpoint, auto Field>
Status EndpointSecondsOrZero(Config& c, const std::string& name, const std::string& value) {
  return ParseSeconds(name, value, 0, (c.*Endpoint).*Field);
}

template <auto Endpoint>
Status EndpointProvider(Config& c, const std::string& name, const std::string& value) {
  if (value != "ollama" && value != "openai") {
    return Status::InvalidArgument(name + ": expected ollama or openai, got '" + value + "'");
  }
  (c.*Endpoint).provider = value;
  return Status::Ok();
}

template <auto Endpoint>
Status EndpointPull(Config& c, const std::string& name, const std::string& value) {
  Config scratch;
  REFINERY_RETURN_IF_ERROR(BoolSetter<&Config::metrics_auth>(scratch, name, value));
  (c.*Endpoint).pull = scratch.metrics_auth;
  return Status::Ok();
}

template <auto Member>
Status StageChoiceSetter(Config& c, const std::string& name, const std::string& value) {
  if (value != "auto" && value != "rules" && value != "llm") {
    return Status::InvalidArgument(name + ": expected auto, rules or llm, got '" + value + "'");
  }
  c.*Member = value;
  return Status::Ok();
}

Status LogLevelSetter(Config& c, const std::string& name, const std::string& value) {
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  for (const auto& level : kLevels) {
    if (value == level) {
      c.log_level = value;
      return Status::Ok();
    }
  }
  return Status::InvalidArgument(name + ": expected one of trace|debug|info|warn|error|off, got '" + value + "'");
}

Status LogFormatSetter(Config& c, const std::string& name, const std::string& value) {
  if (value != "text" && value != "json") {
    return Status::InvalidArgument(name + ": expected text or json, got '" + value + "'");
  }
  c.log_format = value;
  return Status::Ok();
}

constexpr int64_t kMaxInt = 1'000'000'000;

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = {
      {"data_dir", "REFINERY_DATA_DIR", StringSetter<&Config::data_dir>},
      {"database.url", "REFINERY_DATABASE_URL", StringSetter<&Config::database_url>},
      {"queue.redis_url", "REFINERY_REDIS_URL", StringSetter<&Config::redis_url>},
      {"blob.url", "REFINERY_BLOB_URL", StringSetter<&Config::blob_url>},
      {"database.pool_min", "REFINERY_DB_POOL_MIN", IntSetter<0, 1000, &Config::db_pool_min>},
      {"database.pool_max", "REFINERY_DB_POOL_MAX", IntSetter<1, 1000, &Config::db_pool_max>},
      {"database.checkout_timeout_s", "REFINERY_DB_CHECKOUT_TIMEOUT_S", SecondsSetter<&Config::db_checkout_timeout_s>},
      {"database.statement_timeout_s", "REFINERY_DB_STATEMENT_TIMEOUT_S",
       SecondsSetter<&Config::db_statement_timeout_s>},
      {"database.retries", "REFINERY_DB_RETRIES", IntSetter<0, 20, &Config::db_retries>},
      {"database.retry_base_delay_s", "REFINERY_DB_RETRY_BASE_DELAY_S", SecondsSetter<&Config::db_retry_base_delay_s>},
      {"database.max_lifetime_s", "REFINERY_DB_MAX_LIFETIME_S", SecondsSetter<&Config::db_max_lifetime_s>},
      {"blob.access_key", "REFINERY_S3_ACCESS_KEY", StringSetter<&Config::s3_access_key>},
      {"blob.secret_key", "REFINERY_S3_SECRET_KEY", StringSetter<&Config::s3_secret_key>},
      {"blob.bucket", "REFINERY_S3_BUCKET", StringSetter<&Config::s3_bucket>},
      {"blob.region", "REFINERY_S3_REGION", StringSetter<&Config::s3_region>},
      {"api.host", "REFINERY_HOST", StringSetter<&Config::host>},
      {"api.port", "REFINERY_PORT", IntSetter<0, 65535, &Config::port>},
      {"api.threads", "REFINERY_HTTP_THREADS", IntSetter<1, 1024, &Config::http_threads>},
      {"api.thread_nice", "REFINERY_HTTP_THREAD_NICE", IntSetter<0, 19, &Config::http_thread_nice>},
      {"api.queue_wait_s", "REFINERY_HTTP_QUEUE_WAIT_S", SecondsSetter<&Config::http_queue_wait_s>},
      {"api.idle_timeout_s", "REFINERY_HTTP_IDLE_TIMEOUT_S", SecondsSetter<&Config::http_idle_timeout_s>},
      {"api.header_timeout_s", "REFINERY_HTTP_HEADER_TIMEOUT_S", SecondsSetter<&Config::http_header_timeout_s>},
      {"api.body_timeout_s", "REFINERY_HTTP_BODY_TIMEOUT_S", SecondsSetter<&Config::http_body_timeout_s>},
      {"api.max_body_bytes", "REFINERY_MAX_BODY_BYTES", IntSetter<1024, kMaxInt, &Config::max_body_bytes>},
      {"api.max_title_bytes", "REFINERY_MAX_TITLE_BYTES", IntSetter<16, 1 << 20, &Config::max_title_bytes>},
      {"api.max_metadata_bytes", "REFINERY_MAX_METADATA_BYTES",
       IntSetter<16, kMaxInt, &Config::max_metadata_bytes>},
      {"api.keys", "REFINERY_API_KEYS", ListSetter<&Config::api_keys>},
      {"api.read_keys", "REFINERY_READ_API_KEYS", ListSetter<&Config::read_api_keys>},
      {"api.metrics_auth", "REFINERY_METRICS_AUTH", BoolSetter<&Config::metrics_auth>},
      {"api.client_key", "REFINERY_CLIENT_API_KEY", StringSetter<&Config::client_api_key>},
      {"api.cors_origins", "REFINERY_CORS_ORIGINS", ListSetter<&Config::cors_origins>},
      {"api.allowed_hosts", "REFINERY_ALLOWED_HOSTS", ListSetter<&Config::allowed_hosts>},
      {"api.rate_limit", "REFINERY_RATE_LIMIT", RateSetter<&Config::rate_limit>},
      {"api.rate_burst", "REFINERY_RATE_BURST", RateSetter<&Config::rate_burst>},
      {"pipeline.chunk_target_chars", "REFINERY_CHUNK_TARGET_CHARS",
       IntSetter<50, 100000, &Config::chunk_target_chars>},
      {"pipeline.chunk_overlap_chars", "REFINERY_CHUNK_OVERLAP_CHARS",
       IntSetter<0, 50000, &Config::chunk_overlap_chars>},
      {"pipeline.embedding_dim", "REFINERY_EMBEDDING_DIM", IntSetter<8, 8192, &Config::embedding_dim>},
      {"pipeline.max_attempts", "REFINERY_MAX_ATTEMPTS", IntSetter<1, 100, &Config::max_attempts>},
      {"pipeline.visibility_timeout_s", "REFINERY_VISIBILITY_TIMEOUT_S", SecondsSetter<&Config::visibility_timeout_s>},
      {"pipeline.retry_base_delay_s", "REFINERY_RETRY_BASE_DELAY_S", SecondsSetter<&Config::retry_base_delay_s>},
      {"pipeline.retry_max_delay_s", "REFINERY_RETRY_MAX_DELAY_S", SecondsSetter<&Config::retry_max_delay_s>},
      {"pipeline.stage_timeout_s", "REFINERY_STAGE_TIMEOUT_S", SecondsSetter<&Config::stage_timeout_s>},
      {"pipeline.reconcile_interval_s", "REFINERY_RECONCILE_INTERVAL_S", SecondsSetter<&Config::reconcile_interval_s>},
      {"pipeline.worker_concurrency", "REFINERY_WORKER_CONCURRENCY", IntSetter<1, 256, &Config::worker_concurrency>},
#define REFINERY_LLM_SETTINGS(table, env, member)                                                                \
  {"llm." table ".url", "REFINERY_" env "_URL", EndpointString<&Config::member, &LlmEndpointConfig::url>},           \
      {"llm." table ".provider", "REFINERY_" env "_PROVIDER", EndpointProvider<&Config::member>},                   \
      {"llm." table ".model", "REFINERY_" env "_MODEL", EndpointString<&Config::member, &LlmEndpointConfig::model>}, \
      {"llm." table ".api_key", "REFINERY_" env "_API_KEY",                                                        \
       EndpointString<&Config::member, &LlmEndpointConfig::api_key>},                                             \
      {"llm." table ".timeout_s", "REFINERY_" env "_TIMEOUT_S",                                                    \
       EndpointSeconds<&Config::member, &LlmEndpointConfig::timeout_s>},                                          \
      {"llm." table ".connect_timeout_s", "REFINERY_" env "_CONNECT_TIMEOUT_S",                                    \
       EndpointSeconds<&Config::member, &LlmEndpointConfig::connect_timeout_s>},                                  \
      {"llm." table ".concurrency", "REFINERY_" env "_CONCURRENCY",                                                \
       EndpointInt<&Config::member, &LlmEndpointConfig::concurrency, 1, 256>},                                    \
      {"llm." table ".batch_size", "REFINERY_" env "_BATCH_SIZE",                                                  \
       EndpointInt<&Config::member, &LlmEndpointConfig::batch_size, 1, 2048>},                                    \
      {"llm." table ".linger_ms", "REFINERY_" env "_LINGER_MS",                                                    \
       EndpointInt<&Config::member, &LlmEndpointConfig::linger_ms, 0, 1000>},                                     \
      {"llm." table ".max_tokens", "REFINERY_" env "_MAX_TOKENS",                                                  \
       EndpointInt<&Config::member, &LlmEndpointConfig::max_tokens, 16, 131072>},                                 \
      {"llm." table ".num_ctx", "REFINERY_" env "_NUM_CTX",                                                        \
       EndpointInt<&Config::member, &LlmEndpointConfig::num_ctx, 0, 1048576>},                                    \
      {"llm." table ".keep_alive", "REFINERY_" env "_KEEP_ALIVE",                                                  \
       EndpointString<&Config::member, &LlmEndpointConfig::keep_alive>},                                          \
      {"llm." table ".retries", "REFINERY_" env "_RETRIES", EndpointInt<&Config::member, &LlmEndpointConfig::retries, 0, 20>}, \
      {"llm." table ".pull", "REFINERY_" env "_PULL", EndpointPull<&Config::member>}
      REFINERY_LLM_SETTINGS("embed", "EMBED", llm_embed),
      REFINERY_LLM_SETTINGS("reason", "REASON", llm_reason),
#undef REFINERY_LLM_SETTINGS
      {"crawl.connect_timeout_s", "REFINERY_CRAWL_CONNECT_TIMEOUT_S",
       EndpointSeconds<&Config::crawl, &CrawlConfig::connect_timeout_s>},
      {"crawl.timeout_s", "REFINERY_CRAWL_TIMEOUT_S", EndpointSeconds<&Config::crawl, &CrawlConfig::timeout_s>},
      {"crawl.low_speed_bytes", "REFINERY_CRAWL_LOW_SPEED_BYTES",
       EndpointInt<&Config::crawl, &CrawlConfig::low_speed_bytes_per_s, 1, kMaxInt>},
      {"crawl.low_speed_time_s", "REFINERY_CRAWL_LOW_SPEED_TIME_S",
       EndpointSeconds<&Config::crawl, &CrawlConfig::low_speed_time_s>},
      {"crawl.max_bytes", "REFINERY_CRAWL_MAX_BYTES", EndpointInt<&Config::crawl, &CrawlConfig::max_bytes, 1024, kMaxInt>},
      {"crawl.max_redirects", "REFINERY_CRAWL_MAX_REDIRECTS",
       EndpointInt<&Config::crawl, &CrawlConfig::max_redirects, 0, 20>},
      {"crawl.user_agent", "REFINERY_CRAWL_USER_AGENT", EndpointString<&Config::crawl, &CrawlConfig::user_agent>},
      {"crawl.allow", "REFINERY_CRAWL_ALLOW", EndpointString<&Config::crawl, &CrawlConfig::allow>},
      {"crawl.host_interval_s", "REFINERY_CRAWL_HOST_INTERVAL_S",
       EndpointSecondsOrZero<&Config::crawl, &CrawlConfig::host_interval_s>},
      {"crawl.host_concurrency", "REFINERY_CRAWL_HOST_CONCURRENCY",
       EndpointInt<&Config::crawl, &CrawlConfig::host_concurrency, 1, 64>},
      {"crawl.max_pages", "REFINERY_CRAWL_MAX_PAGES", EndpointInt<&Config::crawl, &CrawlConfig::max_pages, 1, 100000>},
      {"crawl.robots_ttl_s", "REFINERY_CRAWL_ROBOTS_TTL_S",
       EndpointSecondsOrZero<&Config::crawl, &CrawlConfig::robots_ttl_s>},
      {"knowledge.profile", "REFINERY_PROFILE", StringSetter<&Config::profile>},
      {"knowledge.evaluator", "REFINERY_EVALUATOR", StageChoiceSetter<&Config::evaluator>},
      {"knowledge.extractor", "REFINERY_EXTRACTOR", StageChoiceSetter<&Config::extractor>},
      {"knowledge.profiles_dir", "REFINERY_PROFILES_DIR", StringSetter<&Config::profiles_dir>},
      {"pipeline.test_stage_delay_ms", "REFINERY_TEST_STAGE_DELAY_MS",
       IntSetter<0, 600000, &Config::test_stage_delay_ms>},
      {"supervisor.stop_grace_s", "REFINERY_STOP_GRACE_S", SecondsSetter<&Config::stop_grace_s>},
      {"supervisor.log_max_bytes", "REFINERY_LOG_MAX_BYTES", IntSetter<4096, kMaxInt, &Config::log_max_bytes>},
      {"supervisor.log_keep", "REFINERY_LOG_KEEP", IntSetter<0, 100, &Config::log_keep>},
      {"log.level", "REFINERY_LOG_LEVEL", LogLevelSetter},
      {"log.format", "REFINERY_LOG_FORMAT", LogFormatSetter},
  };
  return kSettings;
}

// A TOML scalar as the text an environment variable would hold.
std::optional<std::string> TomlScalarText(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<int64_t>());
  if (node.is_floating_point()) return std::to_string(*node.value<double>());
  if (auto b = node.value<bool>()) return *b ? "true" : "false";
  return std::nullopt;
}

// A typo in refinery.toml must not silently fall back to a default.
Status CheckKnownKeys(const toml::table& table, const std::string& prefix, const std::string& path) {
  for (const auto& [key, node] : table) {
    const std::string full = prefix + std::string(key.str());
    if (full == "services") continue;  // ApplyServicesToml checks its own keys
    if (const toml::table* sub = node.as_table()) {
      REFINERY_RETURN_IF_ERROR(CheckKnownKeys(*sub, full + ".", path));
      continue;
    }
    bool known = false;
    for (const auto& setting : Settings()) known |= full == setting.toml_path;
    if (!known) return Status::InvalidArgument(path + ": " + full + ": unknown setting (see README, Configuration)");
  }
  return Status::Ok();
}

Status ApplyToml(Config& config, const std::string& path, bool required) {
  if (!std::filesystem::exists(path)) {
    if (required) return Status::InvalidArgument("REFINERY_CONFIG: file not found: " + path);
    return Status::Ok();
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ": " + std::string(e.description()));
  }
  for (const auto& setting : Settings()) {
    auto node = table.at_path(setting.toml_path);
    if (!node) continue;
    auto text = TomlScalarText(*node.node());
    std::string name = path + ": " + setting.toml_path;
    if (!text) return Status::InvalidArgument(name + ": expected a scalar value");
    REFINERY_RETURN_IF_ERROR(setting.apply(config, name, *text));
  }
  REFINERY_RETURN_IF_ERROR(CheckKnownKeys(table, "", path));
  if (auto services = table["services"]) {
    const toml::table* services_table = services.as_table();
    if (services_table == nullptr) return Status::InvalidArgument(path + ": services: expected a table");
    REFINERY_RETURN_IF_ERROR(ApplyServicesToml(config, *services_table, path));
  }
  return Status::Ok();
}

// The Python system's variable names, mapped onto ours.
Status ApplyLegacyEnv(Config& config, const EnvLookup& env) {
  if (auto v = env("DATABASE_URL")) config.database_url = *v;
  if (auto v = env("REDIS_URL")) config.redis_url = *v;
  auto redis_host = env("REDIS_HOST");
  auto redis_port = env("REDIS_PORT");
  if (redis_host || redis_port) {
    int64_t port = 6379;
    if (redis_port) REFINERY_RETURN_IF_ERROR(ParseInt("REDIS_PORT", *redis_port, 1, 65535, port));
    config.redis_url = "redis://" + redis_host.value_or("localhost") + ":" + std::to_string(port);
  }
  if (auto endpoint = env("MINIO_ENDPOINT")) {
    bool secure = env("MINIO_SECURE").value_or("false") == "true";
    config.blob_url = (secure ? "https://" : "http://") + *endpoint;
  }
  if (auto v = env("MINIO_ACCESS_KEY")) config.s3_access_key = *v;
  if (auto v = env("MINIO_SECRET_KEY")) config.s3_secret_key = *v;
  if (auto v = env("MINIO_BUCKET")) config.s3_bucket = *v;
  if (auto v = env("API_KEYS")) config.api_keys = SplitList(*v);
  if (auto v = env("CORS_ORIGINS")) config.cors_origins = SplitList(*v);
  // Two Ollama servers, as the Python system ran them (llm-embed, llm-reason).
  if (auto v = env("OLLAMA_EMBED_URL")) config.llm_embed.url = *v;
  if (auto v = env("EMBEDDING_MODEL")) config.llm_embed.model = *v;
  if (auto v = env("OLLAMA_BASE_URL")) config.llm_reason.url = *v;
  if (auto v = env("REASONING_MODEL")) config.llm_reason.model = *v;
  if (auto v = env("OPENAI_API_KEY")) config.openai_api_key = *v;
  return Status::Ok();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> LoadConfig(const EnvLookup& env) {
  Config config;
  auto explicit_path = env("REFINERY_CONFIG");
  REFINERY_RETURN_IF_ERROR(ApplyToml(config, explicit_path.value_or("refinery.toml"), explicit_path.has_value()));
  REFINERY_RETURN_IF_ERROR(ApplyLegacyEnv(config, env));
  for (const auto& setting : Settings()) {
    if (auto value = env(setting.env)) {
      REFINERY_RETURN_IF_ERROR(setting.apply(config, setting.env, *value));
    }
  }
  // The Python system's embedding model when none is named.
  if (config.llm_embed.configured() && config.llm_embed.model.empty()) config.llm_embed.model = "nomic-embed-text";
  REFINERY_RETURN_IF_ERROR(ValidateConfig(config));
  return config;
}

static Status ValidateEndpoint(const LlmEndpointConfig& e, const std::string& env) {
  if (!e.configured()) return Status::Ok();
  if (e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(env + "_URL: expected an http:// or https:// URL, got '" + e.url + "'");
  }
  if (e.model.empty()) return Status::InvalidArgument(env + "_MODEL: required when " + env + "_URL is set");
  return Status::Ok();
}

Status ValidateConfig(const Config& config) {
  if (config.data_dir.empty()) return Status::InvalidArgument("REFINERY_DATA_DIR: must not be empty");
  if (config.host.empty()) return Status::InvalidArgument("REFINERY_HOST: must not be empty");
  if (config.chunk_overlap_chars >= config.chunk_target_chars) {
    return Status::InvalidArgument("REFINERY_CHUNK_OVERLAP_CHARS: must be smaller than REFINERY_CHUNK_TARGET_CHARS (" +
                                   std::to_string(config.chunk_target_chars) + ")");
  }
  if (config.db_pool_min > config.db_pool_max) {
    return Status::InvalidArgument("REFINERY_DB_POOL_MIN: must be <= REFINERY_DB_POOL_MAX (" +
                                   std::to_string(config.db_pool_max) + ")");
  }
  if (config.retry_max_delay_s < config.retry_base_delay_s) {
    return Status::InvalidArgument("REFINERY_RETRY_MAX_DELAY_S: must be >= REFINERY_RETRY_BASE_DELAY_S");
  }
  REFINERY_RETURN_IF_ERROR(ValidateEndpoint(config.llm_embed, "REFINERY_EMBED"));
  REFINERY_RETURN_IF_ERROR(ValidateEndpoint(config.llm_reason, "REFINERY_REASON"));
  for (const auto& [choice, name] : {std::pair{&config.evaluator, "REFINERY_EVALUATOR"},
                                     std::pair{&config.extractor, "REFINERY_EXTRACTOR"}}) {
    if (*choice == "llm" && !config.llm_reason.configured()) {
      return Status::InvalidArgument(std::string(name) +
                                     "=llm: no reasoning server is configured (REFINERY_REASON_URL or OLLAMA_BASE_URL)");
    }
  }
  if (!config.read_api_keys.empty() && config.api_keys.empty()) {
    return Status::InvalidArgument(
        "REFINERY_READ_API_KEYS: set REFINERY_API_KEYS too (with read keys alone no key could write)");
  }
  return Status::Ok();
}

}  // namespace refinery

#include "pipeline/services.h"

#include <filesystem>
#include <system_error>

#include "core/log.h"
#include "knowledge/resolver.h"
#include "pipeline/caching_embedder.h"

namespace refinery {
namespace {

// Read-only commands work on what `up` or `migrate` made, and say so
// instead of creating an empty data directory or migrating a database
// another version of Refinery is serving.
Status CheckSchemaCurrent(Store& store) {
  auto version = store.SchemaVersion();
  if (!version.ok()) return version.status();
  if (*version == kSchemaVersion) return Status::Ok();
  if (*version == 0) {
    return Status::InvalidArgument("the database holds no Refinery data yet: run `refinery migrate` (or `up`)");
  }
  if (*version < kSchemaVersion) {
    return Status::InvalidArgument("the database schema is at version " + std::to_string(*version) +
                                   ", this refinery needs " + std::to_string(kSchemaVersion) +
                                   ": run `refinery migrate`");
  }
  return Status::InvalidArgument("the database schema is at version " + std::to_string(*version) +
                                 ", newer than this refinery (" + std::to_string(kSchemaVersion) +
                                 "): use the newer binary");
}

// An existing data directory others may read is used as it is (the user
// may share it on purpose), with a warning.
void WarnIfShared(const std::string& dir) {
  std::error_code ec;
  using std::filesystem::perms;
  const perms mode = std::filesystem::status(dir, ec).permissions();
  if (ec || (mode & (perms::group_all | perms::others_all)) == perms::none) return;
  spdlog::warn("data directory {} is accessible to other users (mode {:o}); Refinery creates its files 0600 "
               "but the folder lets others list or reach them: chmod 700 it unless that is intended",
               dir, static_cast<unsigned>(mode));
}

// The evaluator and extractor the configuration asks for: the LLM ones over
// the reasoning server (by default when one is configured), or the rules.
Status OpenReasoning(const Config& config, Services& services) {
  if (config.llm_reason.configured()) {
    services.reason_endpoint = std::make_shared<LlmEndpoint>("llm_reason", config.llm_reason, config.openai_api_key);
    services.chat = MakeRemoteChat(services.reason_endpoint);
    services.reason_cache = std::make_shared<LlmCacheCounters>();
    services.answer_cache = MakeStoreAnswerCache(services.store->reasoning_cache(), services.reason_cache);
  }
  auto wants_llm = [&](const std::string& choice) { return choice == "llm" || (choice == "auto" && services.chat); };
  if (!wants_llm(config.evaluator)) {
    services.evaluator = NewRuleEvaluator(services.profile);
  } else {
    auto evaluator = NewLlmEvaluator(services.profile, services.chat, services.answer_cache.get());
    if (!evaluator.ok()) return evaluator.status();
    services.evaluator = std::move(evaluator).value();
  }
  if (!wants_llm(config.extractor)) {
    services.extractor = NewRuleExtractor(services.profile);
  } else {
    auto extractor = NewLlmExtractor(services.profile, services.chat, services.answer_cache.get());
    if (!extractor.ok()) return extractor.status();
    services.extractor = std::move(extractor).value();
  }
  return Status::Ok();
}

}  // namespace

Result<Services> OpenServices(const Config& config, OpenMode mode) {
  const bool serve = mode == OpenMode::kServe;
  Services services;
  auto policy = crawl::AddressPolicy::Parse(config.crawl.allow);
  if (!policy.ok()) return policy.status();
  services.fetcher = std::make_shared<const crawl::Fetcher>(config.crawl, std::move(policy).value());
  // First: a malformed profile stops the process before it creates or opens anything.
  auto profile = LoadProfile(config.profile, config.profiles_dir);
  if (!profile.ok()) return profile.status();
  services.profile = std::make_shared<const Profile>(std::move(profile).value());
  services.resolver = NewEntityResolver(services.profile);
  std::error_code ec;
  if (serve) {
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
      return Status::InvalidArgument("REFINERY_DATA_DIR: cannot create '" + config.data_dir + "': " + ec.message());
    }
    WarnIfShared(config.data_dir);
  } else if (!std::filesystem::is_directory(config.data_dir, ec)) {
    return Status::InvalidArgument("no data directory '" + config.data_dir +
                                   "' (REFINERY_DATA_DIR): run `refinery up` or `refinery migrate` first");
  }
  services.config = config;
  auto store = OpenStore(config, serve);
  if (!store.ok()) return store.status();
  services.store = std::move(store).value();
  REFINERY_RETURN_IF_ERROR(serve ? services.store->Migrate() : CheckSchemaCurrent(*services.store));
  auto queue = OpenQueue(config, serve);
  if (!queue.ok()) return queue.status();
  services.queue = std::move(queue).value();
  auto blobs = OpenBlobStore(config);
  if (!blobs.ok()) return blobs.status();
  services.blobs = std::move(blobs).value();
  if (config.llm_embed.configured()) {
    services.embed_endpoint = std::make_shared<LlmEndpoint>("llm_embed", config.llm_embed, config.openai_api_key);
  }
  auto embedder = OpenEmbedder(config, services.embed_endpoint);
  if (!embedder.ok()) return embedder.status();
  services.embedder = std::move(embedder).value();
  REFINERY_RETURN_IF_ERROR(OpenReasoning(config, services));
  if (services.embed_endpoint) {  // the built-in embedder costs less than a lookup
    services.embed_cache = std::make_shared<LlmCacheCounters>();
    services.embedder =
        MakeCachingEmbedder(std::move(services.embedder), services.store->embedding_cache(), services.embed_cache);
  }
  return services;
}

}  // namespace refinery

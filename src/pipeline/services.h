// Every backend a process uses, opened once from the configuration.
#pragma once

#include <memory>

#include "blob/blob.h"
#include "core/config.h"
#include "core/status.h"
#include "crawl/fetcher.h"
#include "knowledge/evaluator.h"
#include "knowledge/extractor.h"
#include "knowledge/profile.h"
#include "llm/embedder.h"
#include "llm/llm_endpoint.h"
#include "pipeline/caching_embedder.h"
#include "queue/queue.h"
#include "store/store.h"

namespace refinery {

struct Services {
  Config config;
  std::unique_ptr<Store> store;
  std::unique_ptr<Queue> queue;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<Embedder> embedder;
  // The embedding server (config.llm_embed), for health and metrics; null
  // with the built-in embedder. Reachable or not at start: work waits for it.
  std::shared_ptr<LlmEndpoint> embed_endpoint;
  // What the embedding cache saw in this process; null with the built-in
  // embedder (never cached: computing is cheaper than a lookup).
  std::shared_ptr<LlmCacheCounters> embed_cache;
  // The reasoning server (config.llm_reason), its chat client and the
  // cache of its checked answers; all null without one.
  std::shared_ptr<LlmEndpoint> reason_endpoint;
  std::shared_ptr<ChatModel> chat;
  std::shared_ptr<LlmCacheCounters> reason_cache;
  std::unique_ptr<AnswerCache> answer_cache;  // over store->reasoning_cache(): declared after store
  std::shared_ptr<const Profile> profile;  // REFINERY_PROFILE, loaded and checked at start
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<Extractor> extractor;
  // The crawl stage's fetcher, with the address policy of config.crawl.allow.
  std::shared_ptr<const crawl::Fetcher> fetcher;
  EntityResolver resolver;  // recomputes an entity from its mentions (knowledge/resolver.h)
};

enum class OpenMode {
  // Creates what is missing (data directory, files, queue schema) and
  // brings the store's schema up to date: the API, workers, `up`, `migrate`
  // and `ingest`.
  kServe,
  // Opens what exists and changes nothing: `stats`, `search` and the
  // doctor never migrate a database. A data directory, queue or schema that
  // is missing or older than this binary is an InvalidArgument naming
  // `refinery migrate`.
  kReadOnly,
};

Result<Services> OpenServices(const Config& config, OpenMode mode);

}  // namespace refinery

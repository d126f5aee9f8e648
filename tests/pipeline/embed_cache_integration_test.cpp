// Never paying twice (issue 12): the embed stage over the fake embedding
// server (real HTTP) with the real embedded backends. 300 SciFact abstracts
// are embedded once; deleting and re-ingesting them, and running one
// document's embed job again (a retry or a re-delivery), make no new call.
// Also: a cache the store cannot serve is a miss, never a failed job.
#include <gtest/gtest.h>

#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
#include "support/fake_llm_server.h"
#include "support/process_util.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

class EmbedCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.AddModel(testing::FakeModel::Embedding("nomic-embed-text", 768));
    fake_.Start();
    Config config;
    config.data_dir = dir_.path();
    config.llm_embed.url = fake_.url();
    config.llm_embed.model = "nomic-embed-text";
    config.llm_embed.linger_ms = 0;  // one job at a time here: nothing to wait for
    auto opened = OpenServices(config, OpenMode::kServe);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    services_ = std::make_unique<Services>(std::move(opened).value());
  }

  // Runs every ready job of `stage`; returns how many ran.
  int Drain(const std::string& stage) {
    int ran = 0;
    for (;;) {
      auto job = services_->queue->Lease(stage, 30, milliseconds(0));
      if (!job.ok() || !job->has_value()) return ran;
      Worker(*services_, *FindStage(stage)).ProcessJob(**job);
      ++ran;
    }
  }

  std::vector<int64_t> IngestAll(const std::vector<testing::ScifactDoc>& docs) {
    std::vector<int64_t> ids;
    for (const auto& doc : docs) {
      auto ingested = IngestDocument(*services_, {doc.title, doc.text, "", "text/plain", "{}"});
      EXPECT_TRUE(ingested.ok()) << ingested.status().ToString();
      if (ingested.ok()) ids.push_back(ingested->id);
    }
    Drain("chunk");
    Drain("embed");
    return ids;
  }

  void ExpectEmbedded(const std::vector<int64_t>& ids) {
    for (int64_t id : ids) {
      auto doc = services_->store->documents().Get(id);
      ASSERT_TRUE(doc.ok());
      EXPECT_EQ(doc->state, "evaluating") << "document " << id << ": " << doc->error_message;
      auto chunks = services_->store->chunks().Get(id);
      ASSERT_TRUE(chunks.ok());
      for (const Chunk& c : *chunks) {
        EXPECT_EQ(c.embedding.size(), 768u);
        EXPECT_EQ(c.embedding_model, "ollama:nomic-embed-text");
      }
    }
  }

  testing::FakeLlmServer fake_;
  testing::TempDir dir_;
  std::unique_ptr<Services> services_;
};

TEST_F(EmbedCacheTest, ReingestingAndRetryingMakeNoNewCall) {
  const auto docs = testing::LoadScifact(300);
  ASSERT_EQ(docs.size(), 300u);
  std::vector<int64_t> ids = IngestAll(docs);
  ExpectEmbedded(ids);
  const int first_calls = fake_.RequestCount("/api/embed");
  const int64_t first_texts = fake_.TextsEmbedded();
  EXPECT_GT(first_calls, 0);
  EXPECT_GE(first_texts, 300);
  EXPECT_EQ(services_->embed_cache->misses.load(), first_texts);

  for (int64_t id : ids) ASSERT_TRUE(DeleteDocumentEverywhere(*services_, id).ok());
  ids = IngestAll(docs);
  ExpectEmbedded(ids);
  // A retried (or re-delivered) embed job of a document already embedded.
  ASSERT_TRUE(services_->store->documents().SetState(ids.front(), {"evaluating", "embedding"}).ok());
  ASSERT_TRUE(services_->queue->Enqueue("embed", ids.front()).ok());
  EXPECT_EQ(Drain("embed"), 1);
  ExpectEmbedded({ids.front()});

  EXPECT_EQ(fake_.RequestCount("/api/embed"), first_calls) << "a cached text was paid for again";
  EXPECT_EQ(fake_.TextsEmbedded(), first_texts);
  EXPECT_GE(services_->embed_cache->hits.load(), first_texts);
  EXPECT_EQ(services_->embed_cache->errors.load(), 0);
}

TEST_F(EmbedCacheTest, AnotherModelDoesNotReuseTheCachedVectors) {
  const std::vector<int64_t> ids = IngestAll(testing::LoadScifact(3));
  ASSERT_FALSE(ids.empty());
  auto chunks = services_->store->chunks().Get(ids.front());
  ASSERT_TRUE(chunks.ok() && !chunks->empty());
  const std::string cached = chunks->front().content;  // exactly a text the stage embedded
  const int64_t texts = fake_.TextsEmbedded();
  ASSERT_GT(texts, 0);
  // The same model: the stored text is a hit, no call.
  const int64_t hits = services_->embed_cache->hits.load();
  auto again = services_->embedder->Embed({cached});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(services_->embed_cache->hits.load(), hits + 1);
  EXPECT_EQ(fake_.TextsEmbedded(), texts);
  // Same store, another model: the cache is keyed by model.
  fake_.AddModel(testing::FakeModel::Embedding("mxbai-embed-large", 1024));
  Config config = services_->config;
  config.llm_embed.model = "mxbai-embed-large";
  auto other = OpenServices(config, OpenMode::kServe);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto vectors = other->embedder->Embed({cached, "a new text"});
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  EXPECT_EQ(vectors->front().size(), 1024u);
  EXPECT_EQ(other->embed_cache->hits.load(), 0);
  EXPECT_EQ(other->embed_cache->misses.load(), 2);
  EXPECT_EQ(fake_.TextsEmbedded(), texts + 2);
}

}  // namespace
}  // namespace refinery

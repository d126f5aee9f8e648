// Changing the embedding model never mixes vector spaces (issue 12): search
// uses only the configured model's vectors, and `refinery reembed`
// (ReembedDocuments) sends the other documents back through the queue.
// Real SQLite store and queue, in-process workers.
#include <gtest/gtest.h>

#include "pipeline/documents.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
#include "search/search.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

class ReembedTest : public ::testing::Test {
 protected:
  Services Open(int dimension) {
    Config config;
    config.data_dir = dir_.path();
    config.embedding_dim = dimension;
    auto opened = OpenServices(config, OpenMode::kServe);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return std::move(opened).value();
  }

  // Runs every ready job of every stage until none is left.
  static void DrainAll(Services& services) {
    for (bool ran = true; ran;) {
      ran = false;
      for (const StageDef& stage : StageChain()) {
        for (;;) {
          auto job = services.queue->Lease(stage.name, 30, milliseconds(0));
          if (!job.ok() || !job->has_value()) break;
          Worker(services, stage).ProcessJob(**job);
          ran = true;
        }
      }
    }
  }

  static size_t VectorHits(Services& services, const std::string& query) {
    Searcher searcher(*services.store, *services.embedder);
    SearchQuery q;
    q.query = query;
    q.mode = SearchMode::kVector;
    auto results = searcher.Search(q);
    EXPECT_TRUE(results.ok()) << results.status().ToString();
    return results.ok() ? results->size() : 0;
  }

  testing::TempDir dir_;
};

TEST_F(ReembedTest, SearchIgnoresAnotherModelsVectorsUntilReembedReplacesThem) {
  std::vector<int64_t> ids;
  {
    Services before = Open(384);
    for (int i = 0; i < 5; ++i) {
      auto in = IngestDocument(before, {"doc " + std::to_string(i),
                                        "Insulin resistance and glucose uptake in muscle, study " + std::to_string(i),
                                        "", "text/plain", "{}"});
      ASSERT_TRUE(in.ok()) << in.status().ToString();
      ids.push_back(in->id);
    }
    DrainAll(before);
    EXPECT_EQ(VectorHits(before, "insulin resistance"), 5u);
  }
  Services after = Open(256);  // another model: builtin-hash-256
  EXPECT_EQ(VectorHits(after, "insulin resistance"), 0u) << "vectors of two models were compared";

  auto counted = ReembedDocuments(after, /*dry_run=*/true);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(counted->queued, 5);
  EXPECT_EQ(after.store->documents().Get(ids[0])->state, "complete") << "a dry run moved a document";

  auto queued = ReembedDocuments(after, /*dry_run=*/false);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  EXPECT_EQ(queued->queued, 5);
  EXPECT_EQ(queued->skipped, 0);
  EXPECT_EQ(after.store->documents().Get(ids[0])->state, "embedding");
  DrainAll(after);
  for (int64_t id : ids) {
    EXPECT_EQ(after.store->documents().Get(id)->state, "complete");
    auto chunks = after.store->chunks().Get(id);
    ASSERT_TRUE(chunks.ok());
    for (const Chunk& c : *chunks) {
      EXPECT_EQ(c.embedding_model, "builtin-hash-256");
      EXPECT_EQ(c.embedding.size(), 256u);
    }
  }
  EXPECT_EQ(VectorHits(after, "insulin resistance"), 5u);
  EXPECT_EQ(ReembedDocuments(after, false)->queued, 0) << "nothing is left to re-embed";
}

}  // namespace
}  // namespace refinery

// Store conformance: chunk evaluations (the evaluate stage's writes) and
// the chunks_evaluated counter. Every backend in StoreBackends() must pass.
#include "store_backends.h"

namespace refinery {
namespace {

ChunkEvaluation Judged(double trust, double relevance, const std::string& domain = "biomedical") {
  return {trust, relevance, domain, "trust " + std::to_string(trust) + ": base", "rules:research"};
}

class Evaluations : public StoreConformance {
 protected:
  // A document with `count` chunks, waiting in "evaluating".
  int64_t Evaluating(const std::string& hash, int count) {
    const int64_t id = Insert(hash);
    EXPECT_STORE_OK(store().chunks().Replace(id, MakeChunks(count, hash), {"chunking", "evaluating"}));
    return id;
  }
  std::vector<Chunk> Chunks(int64_t id) {
    auto chunks = store().chunks().Get(id);
    EXPECT_STORE_OK(chunks);
    return chunks.ok() ? *chunks : std::vector<Chunk>{};
  }
  int64_t Evaluated() {
    auto stats = store().telemetry().Stats();
    EXPECT_STORE_OK(stats);
    return stats.ok() ? stats->chunks_evaluated : -1;
  }
};

TEST_P(Evaluations, SetEvaluationsStoresEveryFieldAndMovesTheDocumentOn) {
  const int64_t id = Evaluating("ev", 2);
  std::vector<Chunk> chunks = Chunks(id);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_FALSE(chunks[0].evaluation.has_value());
  EXPECT_EQ(Evaluated(), 0);
  ChunkEvaluations evaluations = {{chunks[0].id, Judged(0.625, 0.875)}, {chunks[1].id, Judged(0.125, 0.25, "general")}};
  ASSERT_STORE_OK(store().chunks().SetEvaluations(id, evaluations, {"evaluating", "complete"}));
  chunks = Chunks(id);
  ASSERT_TRUE(chunks[0].evaluation.has_value());
  EXPECT_DOUBLE_EQ(chunks[0].evaluation->trust_score, 0.625);
  EXPECT_DOUBLE_EQ(chunks[0].evaluation->relevance_score, 0.875);
  EXPECT_EQ(chunks[0].evaluation->domain, "biomedical");
  EXPECT_EQ(chunks[0].evaluation->reasoning, Judged(0.625, 0.875).reasoning);
  EXPECT_EQ(chunks[0].evaluation->evaluator, "rules:research");
  ASSERT_TRUE(chunks[1].evaluation.has_value());
  EXPECT_EQ(chunks[1].evaluation->domain, "general");
  EXPECT_EQ(store().documents().Get(id)->state, "complete");
  EXPECT_EQ(Evaluated(), 2);
}

TEST_P(Evaluations, EvaluatingAgainReplacesAndCountsEachChunkOnce) {
  const int64_t id = Evaluating("again", 3);
  std::vector<Chunk> chunks = Chunks(id);
  ChunkEvaluations first = {{chunks[0].id, Judged(0.5, 0.5)}, {chunks[1].id, Judged(0.5, 0.5)}};
  ASSERT_STORE_OK(store().chunks().SetEvaluations(id, first, {"evaluating", "evaluating"}));
  EXPECT_EQ(Evaluated(), 2);
  ChunkEvaluations all;
  for (const Chunk& c : chunks) all.emplace_back(c.id, Judged(0.75, 0.25));
  ASSERT_STORE_OK(store().chunks().SetEvaluations(id, all, {"evaluating", "complete"}));
  EXPECT_EQ(Evaluated(), 3);  // re-delivery: the same chunks are not counted twice
  for (const Chunk& c : Chunks(id)) EXPECT_DOUBLE_EQ(c.evaluation->trust_score, 0.75);
}

TEST_P(Evaluations, ReplacingChunksOrDeletingTheDocumentTakesItsEvaluationsOffTheCount) {
  const int64_t kept = Evaluating("kept", 1);
  const int64_t id = Evaluating("gone", 2);
  for (int64_t doc : {kept, id}) {
    ChunkEvaluations all;
    for (const Chunk& c : Chunks(doc)) all.emplace_back(c.id, Judged(0.5, 0.5));
    ASSERT_STORE_OK(store().chunks().SetEvaluations(doc, all, {"evaluating", "complete"}));
  }
  EXPECT_EQ(Evaluated(), 3);
  ASSERT_STORE_OK(store().documents().SetState(id, {"complete", "chunking"}));
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(4, "new"), {"chunking", "evaluating"}));
  EXPECT_EQ(Evaluated(), 1);
  for (const Chunk& c : Chunks(id)) EXPECT_FALSE(c.evaluation.has_value());
  ASSERT_STORE_OK(store().documents().Delete(kept));
  EXPECT_EQ(Evaluated(), 0);
}

TEST_P(Evaluations, BadEvaluationsAndWrongStatesWriteNothing) {
  const int64_t id = Evaluating("bad", 1);
  const int64_t other = Evaluating("other", 1);
  const int64_t chunk = Chunks(id)[0].id;
  for (const ChunkEvaluation& bad : {Judged(1.5, 0.5), Judged(0.5, -0.1), Judged(0.5, 0.5, ""),
                                     ChunkEvaluation{0.5, 0.5, "general", "", ""},
                                     ChunkEvaluation{0.5, 0.5, "general", std::string(5000, 'x'), "rules"}}) {
    EXPECT_STORE_CODE(store().chunks().SetEvaluations(id, {{chunk, bad}}, {"evaluating", "complete"}),
                      kInvalidArgument);
  }
  // A chunk of another document: NotFound, and the good one is not written either.
  ChunkEvaluations mixed = {{chunk, Judged(0.5, 0.5)}, {Chunks(other)[0].id, Judged(0.5, 0.5)}};
  EXPECT_STORE_CODE(store().chunks().SetEvaluations(id, mixed, {"evaluating", "complete"}), kNotFound);
  EXPECT_STORE_CODE(store().chunks().SetEvaluations(id, {{chunk, Judged(0.5, 0.5)}}, {"embedding", "complete"}),
                    kConflict);
  EXPECT_FALSE(Chunks(id)[0].evaluation.has_value());
  EXPECT_EQ(store().documents().Get(id)->state, "evaluating");
  EXPECT_EQ(Evaluated(), 0);
  EXPECT_STORE_CODE(store().chunks().SetEvaluations(999999, {}, {"evaluating", "complete"}), kNotFound);
}

TEST_P(Evaluations, SearchHitsCarryTheChunksEvaluation) {
  const int64_t id = Evaluating("hits", 1);
  const int64_t chunk = Chunks(id)[0].id;
  ASSERT_STORE_OK(store().chunks().SetEvaluations(id, {{chunk, Judged(0.25, 0.75)}}, {"evaluating", "complete"}));
  auto hits = store().chunks().Hits({chunk});
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 1u);
  ASSERT_TRUE((*hits)[0].chunk.evaluation.has_value());
  EXPECT_DOUBLE_EQ((*hits)[0].chunk.evaluation->relevance_score, 0.75);
  EXPECT_EQ((*hits)[0].title, "title hits");
}

INSTANTIATE_TEST_SUITE_P(Backends, Evaluations, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

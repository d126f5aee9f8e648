// Store conformance: the reasoning cache (checked answers by request hash)
// and failed evaluations and extractions (a reason kept instead of a score
// or facts, counted in Stats). Every backend in StoreBackends() must pass.
#include "core/hash.h"
#include "store_backends.h"

namespace refinery {
namespace {

class ReasoningConformance : public StoreConformance {
 protected:
  ReasoningCache& cache() { return store().reasoning_cache(); }
};

TEST_P(ReasoningConformance, PutThenGetRoundTripsAndTheFirstAnswerStays) {
  const std::string key = Sha256Hex("request 1");
  auto missing = cache().Get(key);
  ASSERT_STORE_OK(missing);
  EXPECT_FALSE(missing->has_value());
  const std::string answer = R"({"trust_score": 0.5, "reasoning": "naïve \"quoted\" text"})";
  ASSERT_STORE_OK(cache().Put(key, "ollama:qwen2.5:7b", answer));
  ASSERT_STORE_OK(cache().Put(key, "ollama:qwen2.5:7b", "{}"));
  auto got = cache().Get(key);
  ASSERT_STORE_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, answer);
}

TEST_P(ReasoningConformance, BadArgumentsAreRejected) {
  const std::string key = Sha256Hex("k");
  EXPECT_STORE_CODE(cache().Get("XYZ"), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Put("", "m", "{}"), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Put(key, "", "{}"), kInvalidArgument);
  EXPECT_STORE_CODE(cache().Put(key, "m", std::string(ReasoningCache::kMaxAnswerBytes + 1, 'x')), kInvalidArgument);
  EXPECT_FALSE(cache().Get(key)->has_value());
}

TEST_P(ReasoningConformance, AFailedEvaluationKeepsItsReasonAndIsCountedNotScored) {
  const int64_t id = Insert("failing");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, "f"), {"chunking", "evaluating"}));
  auto chunks = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  const ChunkEvaluation good{0.75, 0.5, "general", "fine", "ollama:m"};
  ASSERT_STORE_OK(store().chunks().SetEvaluations(id, {{(*chunks)[0].id, good}}, {"evaluating", "extracting"},
                                                  {{(*chunks)[1].id, {"ollama:m", "unusable answer: label"}}}));
  chunks = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  ASSERT_TRUE((*chunks)[0].evaluation.has_value());
  EXPECT_TRUE((*chunks)[0].evaluation_failure.empty());
  EXPECT_FALSE((*chunks)[1].evaluation.has_value()) << "a failed evaluation got a score";
  EXPECT_EQ((*chunks)[1].evaluation_failure, "unusable answer: label");
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->chunks_evaluated, 1);
  EXPECT_EQ(stats->chunks_evaluation_failed, 1);
  EXPECT_EQ(store().documents().Get(id)->state, "extracting");

  // Evaluated again (a retry), the failure is replaced by the score.
  ASSERT_STORE_OK(store().chunks().SetEvaluations(id, {{(*chunks)[1].id, good}}, {"extracting", "extracting"}));
  chunks = store().chunks().Get(id);
  EXPECT_TRUE((*chunks)[1].evaluation.has_value());
  EXPECT_TRUE((*chunks)[1].evaluation_failure.empty());
  EXPECT_EQ(store().telemetry().Stats()->chunks_evaluation_failed, 0);
  EXPECT_EQ(store().telemetry().Stats()->chunks_evaluated, 2);
  EXPECT_STORE_CODE(store().chunks().SetEvaluations(id, {}, {"extracting", "extracting"}, {{(*chunks)[0].id, {"", "x"}}}),
                    kInvalidArgument);
}

TEST_P(ReasoningConformance, AFailedExtractionKeepsItsReasonUntilTheNextExtractRun) {
  const int64_t id = Insert("extract-doc");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, "x"), {"chunking", "extracting"}));
  const int64_t other = Insert("another");
  ASSERT_STORE_OK(store().chunks().Replace(other, MakeChunks(1, "o"), {"chunking", "extracting"}));
  auto chunks = store().chunks().Get(id);
  auto others = store().chunks().Get(other);
  ASSERT_STORE_OK(chunks);
  ASSERT_STORE_OK(others);
  Mention m;
  m.chunk_id = (*chunks)[0].id;
  m.entity = {"dtc", "P0420"};
  m.trust = 0.5;
  // The other document's chunk id is not this document's: ignored.
  ASSERT_STORE_OK(store().knowledge().ReplaceMentions(
      id, {m}, {"extracting", "resolving"},
      {{(*chunks)[1].id, "unusable answer: severity"}, {(*others)[0].id, "not this document's"}}));
  chunks = store().chunks().Get(id);
  EXPECT_TRUE((*chunks)[0].extraction_failure.empty());
  EXPECT_EQ((*chunks)[1].extraction_failure, "unusable answer: severity");
  EXPECT_TRUE(store().chunks().Get(other)->at(0).extraction_failure.empty());
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->chunks_extraction_failed, 1);
  EXPECT_EQ(stats->chunks_evaluation_failed, 0);
  EXPECT_EQ(store().knowledge().Mentions(id)->size(), 1u);

  // A refused transition writes nothing; the next extract run clears the record.
  EXPECT_STORE_CODE(store().knowledge().ReplaceMentions(id, {}, {"extracting", "resolving"}, {{(*chunks)[0].id, "x"}}),
                    kConflict);
  EXPECT_TRUE(store().chunks().Get(id)->at(0).extraction_failure.empty());
  ASSERT_STORE_OK(store().knowledge().ReplaceMentions(id, {m}, {"resolving", "resolving"}));
  EXPECT_TRUE(store().chunks().Get(id)->at(1).extraction_failure.empty());
  EXPECT_EQ(store().telemetry().Stats()->chunks_extraction_failed, 0);
}

// The counts are counters the store keeps (/stats stays O(stages)): they
// follow failures recorded, cleared, re-chunked away and deleted.
TEST_P(ReasoningConformance, FailedChunkCountsFollowEveryWayAFailureComesAndGoes) {
  auto stats = [&] {
    auto s = store().telemetry().Stats();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::make_pair(s->chunks_evaluation_failed, s->chunks_extraction_failed) : std::make_pair(-1L, -1L);
  };
  const int64_t a = Insert("counted-a");
  const int64_t b = Insert("counted-b");
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(3, "a"), {"chunking", "evaluating"}));
  ASSERT_STORE_OK(store().chunks().Replace(b, MakeChunks(2, "b"), {"chunking", "evaluating"}));
  auto ca = store().chunks().Get(a);
  auto cb = store().chunks().Get(b);
  ASSERT_STORE_OK(ca);
  ASSERT_STORE_OK(cb);
  ASSERT_STORE_OK(store().chunks().SetEvaluations(
      a, {}, {"evaluating", "extracting"}, {{(*ca)[0].id, {"m", "x"}}, {(*ca)[1].id, {"m", "y"}}}));
  ASSERT_STORE_OK(store().chunks().SetEvaluations(b, {}, {"evaluating", "extracting"}, {{(*cb)[0].id, {"m", "z"}}}));
  EXPECT_EQ(stats(), std::make_pair(3L, 0L));
  // The same failure recorded again is not counted twice.
  ASSERT_STORE_OK(store().chunks().SetEvaluations(b, {}, {"extracting", "extracting"}, {{(*cb)[0].id, {"m", "z2"}}}));
  EXPECT_EQ(stats(), std::make_pair(3L, 0L));
  ASSERT_STORE_OK(store().knowledge().ReplaceMentions(a, {}, {"extracting", "resolving"},
                                                      {{(*ca)[0].id, "e"}, {(*ca)[2].id, "f"}}));
  ASSERT_STORE_OK(store().knowledge().ReplaceMentions(b, {}, {"extracting", "resolving"}, {{(*cb)[1].id, "g"}}));
  EXPECT_EQ(stats(), std::make_pair(3L, 3L));
  // Deleting a document takes its chunks' failures with it.
  ASSERT_STORE_OK(store().documents().Delete(b));
  EXPECT_EQ(stats(), std::make_pair(2L, 2L));
  // Re-chunking replaces the failed chunks.
  ASSERT_STORE_OK(store().documents().SetState(a, {"resolving", "chunking"}));
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(1, "a2"), {"chunking", "evaluating"}));
  EXPECT_EQ(stats(), std::make_pair(0L, 0L));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReasoningConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

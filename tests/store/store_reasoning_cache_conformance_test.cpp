// Store conformance: the reasoning cache (checked answers by request hash)
// and failed evaluations (a reason kept instead of a score, counted in
// Stats). Every backend in StoreBackends() must pass.
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

INSTANTIATE_TEST_SUITE_P(Backends, ReasoningConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

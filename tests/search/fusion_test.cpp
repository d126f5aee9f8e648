#include "search/fusion.h"

#include <gtest/gtest.h>

namespace refinery {
namespace {

std::vector<int64_t> Ids(const std::vector<FusedRank>& fused) {
  std::vector<int64_t> ids;
  for (const auto& f : fused) ids.push_back(f.id);
  return ids;
}

TEST(ReciprocalRankFusion, SumsReciprocalRanks) {
  auto fused = ReciprocalRankFusion({{{1, 2, 3}}, {{3, 1}}}, 60);
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(Ids(fused), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61 + 1.0 / 62);
  EXPECT_DOUBLE_EQ(fused[1].score, 1.0 / 63 + 1.0 / 61);
  EXPECT_DOUBLE_EQ(fused[2].score, 1.0 / 62);
}

TEST(ReciprocalRankFusion, AgreementBeatsOneListsTopHit) {
  // 7 is first in one list only; 9 is second in both.
  auto fused = ReciprocalRankFusion({{{7, 9}}, {{8, 9}}});
  EXPECT_EQ(fused.front().id, 9);
}

TEST(ReciprocalRankFusion, EqualScoresRankByIdAndEmptyListsAreFine) {
  EXPECT_EQ(Ids(ReciprocalRankFusion({{{5}}, {{4}}})), (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(ReciprocalRankFusion({}).empty());
  EXPECT_TRUE(ReciprocalRankFusion({{{}}, {{}}}).empty());
  EXPECT_EQ(Ids(ReciprocalRankFusion({{{}}, {{2, 1}}})), (std::vector<int64_t>{2, 1}));
}

TEST(ReciprocalRankFusion, RepeatedIdCountsAtItsFirstRankOnly) {
  auto fused = ReciprocalRankFusion({{{1, 1, 2}}}, 0);
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0);
  EXPECT_DOUBLE_EQ(fused[1].score, 0.5);
}

TEST(ReciprocalRankFusion, WeightsScaleEachRankingsVotes) {
  // Alone, 7 (first of the weak list) and 8 (first of the strong one) tie.
  auto fused = ReciprocalRankFusion({{{7, 9}, 1.0}, {{8, 9}, 3.0}}, 10);
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(Ids(fused), (std::vector<int64_t>{9, 8, 7}));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 12 + 3.0 / 12);
  EXPECT_DOUBLE_EQ(fused[1].score, 3.0 / 11);
  EXPECT_DOUBLE_EQ(fused[2].score, 1.0 / 11);
}

}  // namespace
}  // namespace refinery

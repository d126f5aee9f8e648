// The bucket arithmetic both stores share (store/stage_counters.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "store/backend_common.h"

namespace refinery {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(StageCounters, BucketsAreSortedAndSpanMillisecondsToMinutes) {
  const auto& bounds = StageDurationBuckets();
  ASSERT_FALSE(bounds.empty());
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
  EXPECT_LE(bounds.front(), 0.005);
  EXPECT_GE(bounds.back(), 300);
}

TEST(StageCounters, BucketForIsTheSmallestBoundAtOrAboveTheDuration) {
  EXPECT_EQ(backend_common::BucketFor(0), 0.005);
  EXPECT_EQ(backend_common::BucketFor(0.005), 0.005);  // "<= le"
  EXPECT_EQ(backend_common::BucketFor(0.0051), 0.01);
  EXPECT_EQ(backend_common::BucketFor(7), 10);
  EXPECT_EQ(backend_common::BucketFor(300), 300);
  EXPECT_EQ(backend_common::BucketFor(300.5), kInf);
}

TEST(StageCounters, FolderSumsRepeatedRowsAndPlacesOffGridBoundsNeverTooLow) {
  backend_common::Folder folder;
  folder.Add("embed", "completed", 0.01, 2, 0.012);
  folder.Add("chunk", "failed", kInf, 1, 900);
  folder.Add("embed", "completed", 0.01, 3, 0.02);    // another shard of the same row
  folder.Add("embed", "completed", 0.007, 1, 0.006);  // written under older bounds
  auto counters = folder.Take();
  ASSERT_EQ(counters.size(), 2u);
  EXPECT_EQ(counters[0].stage, "chunk");  // ordered by stage, then status
  EXPECT_EQ(counters[0].buckets.back(), 1);
  const StageCounter& embed = counters[1];
  EXPECT_EQ(embed.count, 6);
  EXPECT_DOUBLE_EQ(embed.duration_sum_s, 0.038);
  const auto& bounds = StageDurationBuckets();
  const auto at = static_cast<size_t>(std::find(bounds.begin(), bounds.end(), 0.01) - bounds.begin());
  EXPECT_EQ(embed.buckets[at], 6);
  EXPECT_TRUE(folder.Take().empty());
}

}  // namespace
}  // namespace refinery

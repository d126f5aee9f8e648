// The one failure-streak rule (core/failure_streak.h): pure, no clock.
#include "core/failure_streak.h"

#include <gtest/gtest.h>

namespace refinery {
namespace {

using Before = FailureStreak::BeforeFirstSuccess;

TEST(FailureStreakTest, ThresholdFailuresInARowTripOnce) {
  FailureStreak streak(3, Before::kCountsAsUsual);
  EXPECT_FALSE(streak.Record(false));
  EXPECT_FALSE(streak.Record(false));
  EXPECT_EQ(streak.failures(), 2);
  EXPECT_EQ(streak.left(), 1);
  EXPECT_FALSE(streak.tripped());
  EXPECT_TRUE(streak.Record(false));
  EXPECT_TRUE(streak.tripped());
  EXPECT_EQ(streak.left(), 0);
  EXPECT_FALSE(streak.Record(false));  // reported once per streak
  EXPECT_FALSE(streak.Record(false));
  EXPECT_TRUE(streak.tripped());
}

TEST(FailureStreakTest, ASuccessResetsTheStreak) {
  FailureStreak streak(2, Before::kCountsAsUsual);
  EXPECT_FALSE(streak.Record(false));
  EXPECT_FALSE(streak.Record(true));
  EXPECT_EQ(streak.failures(), 0);
  EXPECT_FALSE(streak.Record(false));
  EXPECT_TRUE(streak.Record(false));
  EXPECT_FALSE(streak.Record(true));  // a success ends a tripped streak too
  EXPECT_FALSE(streak.tripped());
  EXPECT_FALSE(streak.Record(false));
  EXPECT_TRUE(streak.Record(false));  // and the next streak trips again
}

TEST(FailureStreakTest, BeforeTheFirstSuccessTheFirstFailureCanTrip) {
  FailureStreak streak(3, Before::kTripsAtOnce);
  EXPECT_EQ(streak.needed(), 1);
  EXPECT_TRUE(streak.Record(false));
  EXPECT_FALSE(streak.Record(false));
  EXPECT_FALSE(streak.Record(true));
  EXPECT_TRUE(streak.ever_succeeded());
  EXPECT_EQ(streak.needed(), 3);  // once up, the usual threshold
  EXPECT_FALSE(streak.Record(false));
  EXPECT_FALSE(streak.Record(false));
  EXPECT_TRUE(streak.Record(false));
}

TEST(FailureStreakTest, CountsAsUsualBeforeTheFirstSuccess) {
  FailureStreak streak(2, Before::kCountsAsUsual);
  EXPECT_EQ(streak.needed(), 2);
  EXPECT_FALSE(streak.Record(false));
  EXPECT_TRUE(streak.Record(false));
}

TEST(FailureStreakTest, ResetForgetsTheFirstSuccess) {
  FailureStreak streak(3, Before::kTripsAtOnce);
  streak.Record(true);
  streak.Record(false);
  streak.Reset();
  EXPECT_FALSE(streak.ever_succeeded());
  EXPECT_EQ(streak.failures(), 0);
  EXPECT_TRUE(streak.Record(false));  // a first failure again
}

TEST(FailureStreakTest, AThresholdBelowOneCountsAsOne) {
  FailureStreak streak(0, Before::kCountsAsUsual);
  EXPECT_EQ(streak.needed(), 1);
  EXPECT_TRUE(streak.Record(false));
}

}  // namespace
}  // namespace refinery

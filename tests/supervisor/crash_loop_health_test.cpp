// Pure logic of crash-loop detection, health state and log rotation.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "supervisor/supervisor.h"
#include "support/test_support.h"

namespace refinery {
namespace {

TEST(CrashLoop, FailingAfterThresholdQuickExitsInARow) {
  CrashLoop loop(/*start_period_s=*/5, /*threshold=*/3);
  EXPECT_FALSE(loop.RecordExit(0.1));
  EXPECT_FALSE(loop.RecordExit(1));
  EXPECT_TRUE(loop.RecordExit(4.9));
  EXPECT_TRUE(loop.failing());
}

TEST(CrashLoop, ALongRunBreaksTheSequence) {
  CrashLoop loop(5, 3);
  loop.RecordExit(0.1);
  loop.RecordExit(0.1);
  EXPECT_FALSE(loop.RecordExit(60));  // ran past the start period: not a quick exit
  EXPECT_FALSE(loop.RecordExit(0.1));
  EXPECT_FALSE(loop.RecordExit(0.1));
  EXPECT_TRUE(loop.RecordExit(0.1));
}

TEST(CrashLoop, FailingIsStickyUntilReset) {
  CrashLoop loop(5, 2);
  loop.RecordExit(0);
  ASSERT_TRUE(loop.RecordExit(0));
  EXPECT_TRUE(loop.RecordExit(30));  // one longer run is not yet "stable"
  loop.Reset();                      // the caller saw it stay up past stable_after_s
  EXPECT_FALSE(loop.failing());
  EXPECT_FALSE(loop.RecordExit(0));
}

TEST(HealthTracker, FailuresInTheStartPeriodDoNotCount) {
  HealthTracker tracker(/*retries=*/2);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(tracker.Record(false, 1.0, /*start_period_s=*/5));
  EXPECT_EQ(tracker.health(), Health::kStarting);
  EXPECT_FALSE(tracker.Record(false, 6, 5));
  EXPECT_TRUE(tracker.Record(false, 7, 5));
  EXPECT_EQ(tracker.health(), Health::kUnhealthy);
  EXPECT_FALSE(tracker.Record(false, 8, 5));  // reported once
}

TEST(HealthTracker, AfterASuccessStartPeriodFailuresCount) {
  HealthTracker tracker(2);
  EXPECT_FALSE(tracker.Record(true, 0.5, 5));
  EXPECT_EQ(tracker.health(), Health::kHealthy);
  EXPECT_FALSE(tracker.Record(false, 1, 5));
  EXPECT_TRUE(tracker.Record(false, 1.5, 5));
}

TEST(HealthTracker, ASuccessResetsTheCount) {
  HealthTracker tracker(3);
  tracker.Record(true, 10, 5);
  tracker.Record(false, 11, 5);
  tracker.Record(false, 12, 5);
  EXPECT_FALSE(tracker.Record(true, 13, 5));
  EXPECT_FALSE(tracker.Record(false, 14, 5));
  EXPECT_FALSE(tracker.Record(false, 15, 5));
  EXPECT_TRUE(tracker.Record(false, 16, 5));
  tracker.Reset();
  EXPECT_EQ(tracker.health(), Health::kStarting);
}

TEST(HealthTracker, RetriesOneKillsOnFirstCountedFailure) {
  HealthTracker tracker(1);
  EXPECT_TRUE(tracker.Record(false, 10, 5));
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::app) << text; }

TEST(RotateLog, CopiesTruncatesAndKeepsN) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/svc.log";
  Write(log, "small\n");
  ASSERT_TRUE(RotateLogIfLarge(log, 100, 2).ok());
  EXPECT_EQ(Slurp(log), "small\n");  // under the limit: untouched
  for (char generation : std::string("abc")) {
    Write(log, std::string(200, generation) + "\n");
    ASSERT_TRUE(RotateLogIfLarge(log, 100, 2).ok());
    EXPECT_EQ(Slurp(log), "");
  }
  EXPECT_EQ(Slurp(log + ".1"), std::string(200, 'c') + "\n");
  EXPECT_EQ(Slurp(log + ".2"), std::string(200, 'b') + "\n");
  EXPECT_FALSE(std::ifstream(log + ".3").good());  // keep 2: the oldest was dropped
  EXPECT_TRUE(RotateLogIfLarge(dir.path() + "/missing.log", 100, 2).ok());
}

}  // namespace
}  // namespace refinery

// The one backoff rule and the one random source (core/backoff.h, core/random.h).
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/backoff.h"
#include "core/random.h"

namespace refinery {
namespace {

TEST(BackoffDelayTest, DoublesCapsAndJitters) {
  const Backoff backoff{.base_s = 1.0, .max_s = 60.0};
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 1, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 2, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 3, 0.5), 4.0);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 6, 0.5), 32.0);
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 7, 0.5), 60.0);     // 64 capped
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 5000, 0.5), 60.0);  // no overflow
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 0, 0.5), 1.0);      // attempts below 1 count as the first
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 3, 0.0), 3.0);      // -25%
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 3, 1.0), 5.0);      // +25%
  EXPECT_DOUBLE_EQ(BackoffDelay(backoff, 7, 1.0), 75.0);     // jitter applies after the cap
  for (double jitter = 0; jitter <= 1.0; jitter += 0.125) {
    double delay = BackoffDelay(backoff, 4, jitter);
    EXPECT_GE(delay, 6.0);
    EXPECT_LE(delay, 10.0);
  }
}

TEST(BackoffDelayTest, PlainIsTheMiddleOfTheBand) {
  const Backoff backoff{.base_s = 0.5, .max_s = 30.0};
  EXPECT_DOUBLE_EQ(PlainBackoff(backoff, 1), 0.5);
  EXPECT_DOUBLE_EQ(PlainBackoff(backoff, 4), 4.0);
  EXPECT_DOUBLE_EQ(PlainBackoff(backoff, 7), 30.0);
  EXPECT_DOUBLE_EQ(PlainBackoff({.base_s = 5.0, .max_s = 2.0}, 1), 2.0);  // initial above max: capped
}

TEST(BackoffDelayTest, JitteredStaysInTheBand) {
  const Backoff backoff{.base_s = 0.5, .max_s = 10.0};
  for (int i = 0; i < 200; ++i) {
    const double delay = JitteredBackoff(backoff, 3);
    EXPECT_GE(delay, 1.5);
    EXPECT_LE(delay, 2.5);
  }
}

TEST(RandomTest, HexHasTheLengthAskedAndRepeatsNot) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string hex = RandomHex(128);
    ASSERT_EQ(hex.size(), 32u);
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
    seen.insert(hex);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(RandomHex(64).size(), 16u);
}

// A forked child must not repeat its parent's draws (lease tokens, names).
TEST(RandomTest, AForkedChildDrawsOtherValuesThanItsParent) {
  (void)RandomHex(64);  // the parent's generator is seeded and in use
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string hex = RandomHex(64);
    const bool written = write(fds[1], hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  const std::string parent = RandomHex(64);
  char buffer[16];
  ASSERT_EQ(read(fds[0], buffer, sizeof buffer), 16);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_NE(std::string(buffer, 16), parent);
}

}  // namespace
}  // namespace refinery

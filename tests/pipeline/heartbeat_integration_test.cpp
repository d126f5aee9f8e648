// WorkerHeartbeat's file: format, the in-flight count written at once, and
// an mtime that job traffic does not refresh.
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "pipeline/heartbeat.h"
#include "support/process_util.h"
#include "support/test_support.h"
#include "support/worker_killer.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;
using testing::ReadHeartbeatFile;

timespec Mtime(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mtim;
}

bool SameTime(const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

class HeartbeatTest : public ::testing::Test {
 protected:
  // Waits for the first beat.
  void WaitForFile() {
    ASSERT_TRUE(testing::WaitUntil([&] { return ReadHeartbeatFile(path_).has_value(); }, milliseconds(5000)));
  }
  testing::TempDir dir_;
  const std::string path_ = dir_.path() + "/worker.heartbeat";
};

TEST_F(HeartbeatTest, FileNamesThePidAndTheBeatWhoseTimeIsItsMtime) {
  WorkerHeartbeat heartbeat(path_, 1, 30);
  WaitForFile();
  auto file = ReadHeartbeatFile(path_);
  EXPECT_EQ(file->pid, ::getpid());
  EXPECT_EQ(file->in_flight, 0);
  const timespec mtime = Mtime(path_);
  EXPECT_NEAR(file->beat, static_cast<double>(mtime.tv_sec) + static_cast<double>(mtime.tv_nsec) * 1e-9, 0.002);
}

TEST_F(HeartbeatTest, CountsJobsAtOnceWithoutWaitingForABeat) {
  WorkerHeartbeat heartbeat(path_, 2, 30);
  WaitForFile();
  heartbeat.JobTaken();
  EXPECT_EQ(ReadHeartbeatFile(path_)->in_flight, 1);
  heartbeat.JobTaken();
  EXPECT_EQ(ReadHeartbeatFile(path_)->in_flight, 2);
  heartbeat.JobSettling();
  EXPECT_EQ(ReadHeartbeatFile(path_)->in_flight, 1);
  heartbeat.JobSettling();
  EXPECT_EQ(ReadHeartbeatFile(path_)->in_flight, 0);
}

TEST_F(HeartbeatTest, JobTrafficKeepsTheMtimeOfAStalledWorkersLastBeat) {
  WorkerHeartbeat heartbeat(path_, 1, 1.0);
  // The consumer ticks until the first beat, then stalls.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        heartbeat.Tick(0);
        return ReadHeartbeatFile(path_).has_value();
      },
      milliseconds(5000)));
  std::this_thread::sleep_for(milliseconds(2000));  // past the stall limit and the beat after it
  const timespec last_beat = Mtime(path_);
  std::this_thread::sleep_for(milliseconds(700));
  ASSERT_TRUE(SameTime(Mtime(path_), last_beat)) << "still beating: the consumer should count as stalled";
  heartbeat.JobTaken();
  EXPECT_EQ(ReadHeartbeatFile(path_)->in_flight, 1);
  EXPECT_TRUE(SameTime(Mtime(path_), last_beat));
}

}  // namespace
}  // namespace refinery

// The API's handler threads run at api.thread_nice; everything else in the
// process (the event-loop threads, the health checkers) keeps the process's
// niceness, so a saturated API still parses, answers its probes and lets
// its health checks run (docs/benchmarks.md).
#include <dirent.h>
#include <sys/resource.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "api_test_util.h"

namespace refinery {
namespace {

// Niceness of every thread of this process, counted by value.
std::map<int, int> ThreadsByNiceness() {
  std::map<int, int> counts;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return counts;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream stat(std::string("/proc/self/task/") + entry->d_name + "/stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the parenthesised name: state is field 3, nice field 19.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && rest >> field; ++i) {
      if (i == 19) ++counts[std::stoi(field)];
    }
  }
  closedir(dir);
  return counts;
}

TEST(ServerThreadsTest, RequestThreadsRunAtThreadNiceAndHealthCheckersDoNot) {
  const int base = getpriority(PRIO_PROCESS, 0);
  if (base >= 7) GTEST_SKIP() << "this process already runs at niceness " << base;
  testing::TempDir dir;
  Config config = testing::TestConfig(dir);
  config.http_thread_nice = 7;
  Services services = testing::OpenTestServices(config);
  testing::RunningServer server(services);
  ASSERT_EQ(server.Call("GET", "/health").status, 200);
  ASSERT_EQ(server.Call("GET", "/stats").status, 200);  // served by a handler thread

  std::map<int, int> by_nice = ThreadsByNiceness();
  EXPECT_GE(by_nice[7], 1) << "the thread that served the request";
  // This test's thread, the server's event loop and the three health checkers.
  EXPECT_GE(by_nice[base], 5);
}

TEST(ServerThreadsTest, ThreadNiceDefaultsToTen) { EXPECT_EQ(Config{}.http_thread_nice, 10); }

}  // namespace
}  // namespace refinery

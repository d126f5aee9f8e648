// The `refinery` binary as a user runs it, against what the hostile probe
// found: files created world-readable, service names that reach outside
// the log folder or into the control protocol, and `stats` exiting 0 with
// its queue unreachable.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery {
namespace {

namespace fs = std::filesystem;

using Outcome = testing::CliRun;

Outcome Refinery(const testing::TempDir& dir, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env = {}) {
  return testing::RunRefinery(dir.path(), args, env);
}

unsigned ModeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(CliHardening, EverythingRefineryCreatesIsTheUsersAlone) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string text = dir.path() + "/note.txt";
  std::ofstream(text) << "A private note that no other user of the machine may read.\n";
  Outcome ingest = Refinery(dir, {"--data-dir", data, "ingest", text});
  ASSERT_EQ(ingest.code, 0) << ingest.output;
  EXPECT_EQ(ModeOf(data), 0700u);
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    const unsigned mode = ModeOf(entry.path());
    if (entry.is_directory()) {
      EXPECT_EQ(mode, 0700u) << entry.path();
    } else {
      EXPECT_EQ(mode & 077u, 0u) << entry.path() << " is open to others (mode " << std::oct << mode << ")";
      ++files;
    }
  }
  EXPECT_GE(files, 3) << "the database, the queue and a blob at least";
}

TEST(CliHardening, AnExistingSharedDataDirectoryIsUsedWithAWarning) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/shared";
  fs::create_directories(data);
  fs::permissions(data, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  Outcome migrate = Refinery(dir, {"--data-dir", data, "migrate"});
  EXPECT_EQ(migrate.code, 0) << migrate.output;
  EXPECT_NE(migrate.output.find("accessible to other users"), std::string::npos) << migrate.output;
  EXPECT_EQ(ModeOf(data), 0755u) << "the user's choice is kept";
}

TEST(CliHardening, ServiceNamesThatAreNoServiceNamesAreRefused) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  fs::create_directories(data + "/logs");
  std::ofstream(dir.path() + "/secret.log") << "outside the log folder\n";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"logs", "../../secret"},
           {"logs", "../secret"},
           {"logs", "/etc/passwd"},
           {"stop", "api\nstop worker-chunk"},
           {"restart", "api worker-embed"},
       }) {
    std::vector<std::string> argv = {"--data-dir", data};
    argv.insert(argv.end(), args.begin(), args.end());
    Outcome run = Refinery(dir, argv);
    EXPECT_EQ(run.code, 2) << args[0] << " " << args[1] << ": " << run.output;
    EXPECT_NE(run.output.find("not a service name"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("outside the log folder"), std::string::npos) << run.output;
  }
}

TEST(CliHardening, StatsWithTheQueueUnreachableFailsNamingIt) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(Refinery(dir, {"--data-dir", data, "migrate"}).code, 0);
  Outcome stats = Refinery(dir, {"--data-dir", data, "stats"}, {{"REFINERY_REDIS_URL", "redis://127.0.0.1:1"}});
  EXPECT_NE(stats.code, 0) << stats.output;
  EXPECT_NE(stats.output.find("redis"), std::string::npos) << stats.output;
}

}  // namespace
}  // namespace refinery

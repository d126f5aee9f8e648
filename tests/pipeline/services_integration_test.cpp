// OpenServices' two modes against real SQLite files: serving creates and
// migrates; read-only (stats, search, doctor) changes nothing and says what
// to run when there is nothing, or only an older schema, to read.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/sqlite.h"
#include "pipeline/services.h"
#include "store/sqlite_schema.h"
#include "support/raw_sqlite.h"
#include "support/test_support.h"

namespace refinery {
namespace {

Config InDir(const std::string& dir) {
  Config config;
  config.data_dir = dir;
  return config;
}

void ExpectNamesMigrate(const Status& status) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find("refinery migrate"), std::string::npos) << status.ToString();
}

TEST(OpenServicesTest, ReadOnlyOnAMissingDataDirectoryCreatesNothing) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/never-served";
  auto services = OpenServices(InDir(data), OpenMode::kReadOnly);
  ExpectNamesMigrate(services.status());
  EXPECT_FALSE(std::filesystem::exists(data));
}

TEST(OpenServicesTest, ReadOnlyOnAnEmptyDataDirectoryCreatesNoDatabase) {
  testing::TempDir dir;
  auto services = OpenServices(InDir(dir.path()), OpenMode::kReadOnly);
  ExpectNamesMigrate(services.status());
  EXPECT_FALSE(std::filesystem::exists(InDir(dir.path()).SqlitePath()));
  EXPECT_FALSE(std::filesystem::exists(InDir(dir.path()).QueuePath()));
}

TEST(OpenServicesTest, ReadOnlyNeverMigratesAnOlderSchema) {
  testing::TempDir dir;
  const Config config = InDir(dir.path());
  {
    auto conn = sqlite::Connection::Open(config.SqlitePath(), {});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(sqlite::MigrateSchemaTo(**conn, 5).ok());
  }
  auto services = OpenServices(config, OpenMode::kReadOnly);
  ExpectNamesMigrate(services.status());
  EXPECT_EQ(
      testing::RawSqlite(config.SqlitePath(), /*read_only=*/true).Int("SELECT MAX(version) FROM schema_migrations"), 5);
}

TEST(OpenServicesTest, ServeCreatesAndMigratesThenReadOnlyOpens) {
  testing::TempDir dir;
  const Config config = InDir(dir.path() + "/data");
  {
    auto served = OpenServices(config, OpenMode::kServe);
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    EXPECT_EQ(*served->store->SchemaVersion(), kSchemaVersion);
  }
  auto services = OpenServices(config, OpenMode::kReadOnly);
  ASSERT_TRUE(services.ok()) << services.status().ToString();
  EXPECT_TRUE(services->store->telemetry().Stats().ok());
  EXPECT_TRUE(services->queue->Depth("chunk").ok());
}

}  // namespace
}  // namespace refinery

// The doctor's database, queue and pipeline sections in-process (so they
// also run under the sanitizers) against real backends: SQLite, and
// PostgreSQL's pg_stat_activity + Redis Streams when the test servers run.
#include <gtest/gtest.h>

#include "cli/doctor.h"
#include "support/production_env.h"
#include "support/test_support.h"

namespace refinery::cli {
namespace {

using testing::ProductionBackends;
using testing::TempDir;

Config ConfigWith(const std::string& data_dir, const std::map<std::string, std::string>& env) {
  auto config = LoadConfig([&](const std::string& name) -> std::optional<std::string> {
    if (name == "REFINERY_DATA_DIR") return data_dir;
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : Config{};
}

DoctorContext Open(const Config& config) {
  DoctorContext ctx;
  ctx.config = config;
  auto services = OpenServices(config, OpenMode::kServe);
  if (services.ok()) {
    ctx.services.emplace(std::move(services).value());
  } else {
    ctx.open_error = services.status().ToString();
  }
  return ctx;
}

DoctorSection RunCheck(void (*check)(DoctorContext&, DoctorSection&), DoctorContext& ctx) {
  DoctorSection section;
  check(ctx, section);
  return section;
}

std::string Text(const DoctorSection& section) {
  std::string text;
  for (const auto& line : section.lines) text += std::string(MarkLabel(line.mark)) + " " + line.text + "\n";
  return text;
}

// Two chunk jobs queued and one leased: the queue section counts them.
void QueueTwoAndLeaseOne(Services& services) {
  ASSERT_TRUE(services.queue->Enqueue("chunk", 1).ok());
  ASSERT_TRUE(services.queue->Enqueue("chunk", 2).ok());
  auto leased = services.queue->Lease("chunk", 60, std::chrono::milliseconds(1000));
  ASSERT_TRUE(leased.ok() && leased->has_value()) << leased.status().ToString();
}

void ExpectQueueCounts(const DoctorSection& queue) {
  EXPECT_EQ(queue.Worst(), Mark::kOk) << Text(queue);
  EXPECT_EQ(queue.details["depths"]["chunk"]["ready"], 1) << queue.details.dump();
  EXPECT_EQ(queue.details["depths"]["chunk"]["in_flight"], 1) << queue.details.dump();
  EXPECT_EQ(queue.details["depths"]["embed"]["ready"], 0) << queue.details.dump();
}

TEST(DoctorIntegration, EmbeddedSectionsReportTheSqliteFilesAndQueue) {
  TempDir dir;
  DoctorContext ctx = Open(ConfigWith(dir.path(), {}));
  ASSERT_TRUE(ctx.services) << ctx.open_error;
  QueueTwoAndLeaseOne(*ctx.services);
  DoctorSection db = RunCheck(CheckDatabase, ctx);
  EXPECT_EQ(db.Worst(), Mark::kOk) << Text(db);
  EXPECT_EQ(db.details["backend"], "sqlite");
  EXPECT_EQ(db.details["journal_mode"], "wal");
  EXPECT_GT(db.details["size_bytes"].get<int64_t>(), 0);
  DoctorSection queue = RunCheck(CheckQueue, ctx);
  ExpectQueueCounts(queue);
  DoctorSection pipeline = RunCheck(CheckPipeline, ctx);
  EXPECT_EQ(pipeline.details["total_documents"], 0) << Text(pipeline);
}

TEST(DoctorIntegration, PostgresSectionCountsConnectionsByState) {
  auto backends = ProductionBackends::Create();
  if (!backends) GTEST_SKIP() << "test servers not configured (scripts/test-services.sh)";
  TempDir dir;
  DoctorContext ctx = Open(ConfigWith(dir.path(), backends->Env()));
  ASSERT_TRUE(ctx.services) << ctx.open_error;
  QueueTwoAndLeaseOne(*ctx.services);
  DoctorSection db = RunCheck(CheckDatabase, ctx);
  EXPECT_EQ(db.Worst(), Mark::kOk) << Text(db);
  EXPECT_EQ(db.details["backend"], "postgresql");
  // At least the doctor's own connection and the store's pooled ones.
  const int64_t total = db.details["connections"].get<int64_t>();
  EXPECT_GE(total, 2) << db.details.dump();
  int64_t by_state = 0;
  for (const auto& [state, count] : db.details["connections_by_state"].items()) by_state += count.get<int64_t>();
  EXPECT_EQ(by_state, total) << db.details.dump();
  EXPECT_GE(db.details["connections_by_state"].value("active", 0), 1) << db.details.dump();  // the doctor's query
  EXPECT_GT(db.details["max_connections"].get<int64_t>(), 0);
  DoctorSection queue = RunCheck(CheckQueue, ctx);
  EXPECT_NE(Text(queue).find("backend: Redis Streams"), std::string::npos) << Text(queue);
  ExpectQueueCounts(queue);
}

TEST(DoctorIntegration, UnreachableDatabaseFailsNamingIt) {
  TempDir dir;
  Config config = ConfigWith(dir.path(), {{"DATABASE_URL", "postgresql://doctor@127.0.0.1:1/nowhere"}});
  config.db_retries = 0;
  DoctorContext ctx = Open(config);
  EXPECT_FALSE(ctx.services);
  DoctorSection db = RunCheck(CheckDatabase, ctx);
  EXPECT_EQ(db.Worst(), Mark::kFail);
  EXPECT_NE(Text(db).find("cannot connect to postgresql://doctor@127.0.0.1:1/nowhere"), std::string::npos) << Text(db);
  DoctorSection pipeline = RunCheck(CheckPipeline, ctx);
  EXPECT_EQ(pipeline.Worst(), Mark::kFail) << Text(pipeline);
}

}  // namespace
}  // namespace refinery::cli

// Issue 3, process level: a real `refinery api` (and workers) on PostgreSQL
// keeps answering while its backends are terminated, while the server is
// stopped for 5 s, and while more clients than pool connections wait; and
// workers finish every document after an outage. Queue and blobs stay
// embedded so PostgreSQL is the only thing under test.
// The deadline assertions of the outage live in postgres_outage_timing_test.
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/http_client.h"
#include "pipeline/stage_chain.h"
#include "support/api_load.h"
#include "support/process_util.h"
#include "support/production_env.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class PostgresResilience : public ::testing::Test {
 protected:
  void SetUp() override {
    backends_ = ProductionBackends::Create();
    if (!backends_) GTEST_SKIP() << "test servers not configured (scripts/test-services.sh)";
    env_ = {{"DATABASE_URL", backends_->database_url()}};
  }
  // An outage test that failed half-way must not leave the cluster down for
  // the tests after it.
  void TearDown() override {
    if (backends_ && !PgAcceptsConnections(backends_->database_url())) PgCtl("start");
  }

  std::unique_ptr<ProductionBackends> backends_;
  std::map<std::string, std::string> env_;
  TempDir dir_;
};

// Stats from the API, or null when it does not answer 200 with JSON.
nlohmann::json GetJson(const ApiProcess& api, const std::string& path) {
  auto response = HttpGet(api.url(path), 10);
  if (!response.ok() || response->status != 200) return nullptr;
  return nlohmann::json::parse(response->body, nullptr, false);
}

size_t CountInvalid(const std::vector<Sample>& samples) {
  size_t n = 0;
  for (const Sample& s : samples) n += s.valid ? 0 : 1;
  return n;
}

TEST_F(PostgresResilience, TerminatingEveryBackendEachSecondFailsNoRequest) {
  ApiProcess api(dir_.path(), env_);
  ASSERT_TRUE(api.WaitHealthy(seconds(30))) << api.Log();
  auto ids = SeedDocuments(api, 200);
  std::vector<int64_t> terminated;
  LoadSpec spec{api.url(""), 64, 10, DatabaseReadMix(ids)};
  auto samples = RunLoad(spec, [&](Clock::time_point start) {
    // Once at 3 s, then every second until the 20 s run ends.
    for (int at = 3; at < 20; ++at) {
      std::this_thread::sleep_until(start + seconds(at));
      terminated.push_back(TerminateBackends(backends_->database_url()));
    }
    std::this_thread::sleep_until(start + seconds(20));
  });
  std::cout << "[terminate] " << Summary(samples) << "\n[terminate] backends terminated per round:";
  for (int64_t n : terminated) std::cout << " " << n;
  std::cout << std::endl;
  ASSERT_FALSE(terminated.empty());
  EXPECT_GT(terminated.front(), 0) << "the first round found no backend to terminate";
  for (int64_t n : terminated) EXPECT_GE(n, 0) << "pg_terminate_backend round failed";
  size_t ok = 0;
  for (const Sample& s : samples) ok += (s.status == 200 && s.valid) ? 1 : 0;
  EXPECT_EQ(ok, samples.size()) << Failures(samples) << api.Log();
  EXPECT_GT(samples.size(), 1000u);
  auto stats = GetJson(api, "/stats");
  ASSERT_TRUE(stats.is_object());
  EXPECT_GT(stats["pool"]["closed_dead"].get<int64_t>() + stats["pool"]["retries"].get<int64_t>(), 0)
      << "the pool never noticed a terminated backend: " << stats["pool"].dump();
  std::cout << "[terminate] pool " << stats["pool"].dump() << std::endl;
}

TEST_F(PostgresResilience, StoppedForFiveSecondsAnswers200Or503AndRecovers) {
  ApiProcess api(dir_.path(), env_);
  ASSERT_TRUE(api.WaitHealthy(seconds(30))) << api.Log();
  auto ids = SeedDocuments(api, 50);
  OutageTimeline timeline;
  LoadSpec spec{api.url(""), 16, 10, DatabaseReadMix(ids)};
  auto samples = RunLoad(
      spec, [&](Clock::time_point start) { timeline = RunPgOutage(backends_->database_url(), 2, 5, 4, start); });
  std::cout << "[outage] " << Summary(samples) << "; stopped at " << timeline.stopped_s << " s, accepting at "
            << timeline.restarted_s << " s" << std::endl;
  ASSERT_TRUE(timeline.stop_ok && timeline.start_ok) << "pg_ctl failed";
  // Every answer is a 200 or the JSON 503; a transport error or 500 fails.
  EXPECT_EQ(CountInvalid(samples), 0u) << Failures(samples) << api.Log();
  size_t unavailable = 0, late_not_ok = 0;
  for (const Sample& s : samples) {
    unavailable += s.status == 503 ? 1 : 0;
    // Well after recovery (3 s; the 1 s deadline is the timing test's).
    if (s.start_s > timeline.restarted_s + 3 && s.status != 200) ++late_not_ok;
  }
  EXPECT_GT(unavailable, 0u) << "no request saw the outage";
  EXPECT_EQ(late_not_ok, 0u) << Failures(samples);
  EXPECT_TRUE(api.running()) << api.Log();
  auto health = GetJson(api, "/health");
  ASSERT_TRUE(health.is_object()) << api.Log();
  EXPECT_EQ(health["status"], "running");
}

// 32 concurrent /stats loops for 8 s against a pool of at most 2.
TEST_F(PostgresResilience, MoreClientsThanPoolConnectionsQueueOr503AndLeakNothing) {
  env_["REFINERY_DB_POOL_MIN"] = "1";
  env_["REFINERY_DB_POOL_MAX"] = "2";
  ApiProcess api(dir_.path(), env_);
  ASSERT_TRUE(api.WaitHealthy(seconds(30))) << api.Log();
  SeedDocuments(api, 20);
  // A 5 s client timeout: a hung request shows up as a transport error.
  LoadSpec spec{api.url(""), 32, 5, [](std::mt19937&) { return std::string("/stats"); }};
  auto samples = RunLoad(spec, [](Clock::time_point start) { std::this_thread::sleep_until(start + seconds(8)); });
  std::cout << "[pool] " << Summary(samples) << std::endl;
  EXPECT_EQ(CountInvalid(samples), 0u) << Failures(samples) << api.Log();
  double max_latency = LatencyPercentile(samples, 100);
  EXPECT_LT(max_latency, 3.0) << "a request waited too long for a connection";
  size_t served = 0;
  for (const Sample& s : samples) served += s.status == 200 ? 1 : 0;
  EXPECT_GT(served, samples.size() / 2) << "queued requests should mostly be served, not refused";
  // Idle again: no lease leaked. /stats reads the figures after its own
  // lease is back.
  auto stats = GetJson(api, "/stats");
  ASSERT_TRUE(stats.is_object() && stats.contains("pool")) << api.Log();
  std::cout << "[pool] " << stats["pool"].dump() << std::endl;
  EXPECT_EQ(stats["pool"]["in_use"], 0);
  EXPECT_LE(stats["pool"]["size"].get<int64_t>(), 2);
  EXPECT_EQ(stats["pool"]["idle"], stats["pool"]["size"]);
}

// Whether every one of `count` documents is complete (null stats: not yet).
bool AllComplete(const ApiProcess& api, int count) {
  auto stats = GetJson(api, "/stats");
  return stats.is_object() && stats["documents_by_stage"].value("complete", 0) == count;
}

TEST_F(PostgresResilience, WorkersFinishEveryDocumentAfterAnOutage) {
  env_["REFINERY_TEST_STAGE_DELAY_MS"] = "100";  // keeps work in flight across the outage
  env_["REFINERY_STAGE_TIMEOUT_S"] = "5";
  env_["REFINERY_RECONCILE_INTERVAL_S"] = "1";
  ApiProcess api(dir_.path(), env_);
  ASSERT_TRUE(api.WaitHealthy(seconds(30))) << api.Log();  // the api migrates first
  std::vector<std::unique_ptr<RefineryProcess>> workers;  // one per stage of the chain
  for (const StageDef& stage : StageChain()) {
    workers.push_back(
        std::make_unique<RefineryProcess>(dir_.path(), std::vector<std::string>{"worker", stage.name}, env_,
                                          stage.name + ".log"));
  }
  const int count = 50;
  SeedDocuments(api, count);
  std::this_thread::sleep_for(seconds(1));  // both stages busy
  ASSERT_FALSE(AllComplete(api, count)) << "finished before the outage; raise the stage delay";
  ASSERT_TRUE(PgCtl("stop"));
  std::this_thread::sleep_for(seconds(5));
  ASSERT_TRUE(PgCtl("start"));
  ASSERT_TRUE(WaitUntil([&] { return PgAcceptsConnections(backends_->database_url()); }, seconds(30)));
  bool done = WaitUntil([&] { return AllComplete(api, count); }, seconds(120), milliseconds(250));
  std::string logs;
  for (const auto& worker : workers) logs += worker->Log() + "\n";
  EXPECT_TRUE(done) << GetJson(api, "/stats").dump(2) << "\n" << logs;
  // They paused and resumed by themselves: none of them died (nobody would
  // have restarted it here).
  for (const auto& worker : workers) EXPECT_TRUE(worker->running()) << worker->Log();
  EXPECT_TRUE(api.running()) << api.Log();
  auto stats = GetJson(api, "/stats");
  ASSERT_TRUE(stats.is_object());
  EXPECT_EQ(stats["documents_by_stage"].value("error", 0), 0) << stats.dump(2);
  int64_t dead = 0;
  for (const auto& [stage, depth] : stats["queue_depths"].items()) dead += depth.value("dead", 0);
  EXPECT_EQ(dead, 0) << "an outage dead-lettered work: " << stats.dump(2);
}

}  // namespace
}  // namespace refinery::testing

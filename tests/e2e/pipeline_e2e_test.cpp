// End to end on the embedded default: `refinery up` as a real process tree,
// 300 SciFact abstracts through the HTTP API, counts checked against the
// database file, and kill -9 of workers holding leased jobs.
#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/pipeline_checks.h"
#include "support/process_util.h"
#include "support/production_env.h"
#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kDocuments = 300;

// Posts every document; returns API id -> SciFact document.
std::map<int64_t, ScifactDoc> IngestAll(const RefineryUp& up, const std::vector<ScifactDoc>& docs) {
  std::map<int64_t, ScifactDoc> by_id;
  for (const auto& doc : docs) {
    long status = 0;
    auto reply = up.Post("/ingest", {{"title", doc.title}, {"content", doc.text}}, &status);
    EXPECT_TRUE(status == 201 || status == 200) << reply.dump();
    by_id[reply.at("id").get<int64_t>()] = doc;
  }
  return by_id;
}

void WaitAllComplete(const RefineryUp& up, size_t expected) {
  bool done =
      WaitUntil([&] { return CompleteCount(up) == static_cast<int64_t>(expected); }, seconds(240), milliseconds(250));
  ASSERT_TRUE(done) << up.Get("/stats").dump(2) << "\n" << up.Log();
}

// The first sentence that ends at least 60 bytes in (so "Summary." alone is no query).
std::string FirstSentence(const std::string& text) {
  auto end = text.find(". ", 60);
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

// The same tests on the embedded default and on PostgreSQL + Redis + S3.
class PipelineEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "production") {
      backends_ = ProductionBackends::Create();
      if (!backends_) GTEST_SKIP() << "REFINERY_TEST_* servers not configured (scripts/test-services.sh)";
    }
  }

  std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) const {
    if (backends_) extra.merge(backends_->Env());
    return extra;
  }

  // Counts from the database itself, independent of the API.
  int64_t CountRows(const std::string& table, const std::string& where = "") const {
    std::string sql = "SELECT count(*) FROM " + std::string(backends_ ? "refinery." : "") + table + where;
    return backends_ ? backends_->QueryInt(sql) : CountSqlite(dir_.path() + "/refinery.db", sql);
  }

  TempDir dir_;
  std::unique_ptr<ProductionBackends> backends_;
};

INSTANTIATE_TEST_SUITE_P(Backends, PipelineEndToEnd, ::testing::Values("embedded", "production"),
                         [](const auto& info) { return info.param; });

TEST_P(PipelineEndToEnd, IngestsScifactAndFindsEachDocumentByItsFirstSentence) {
  RefineryUp up(dir_.path(), Env());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  auto by_id = IngestAll(up, LoadScifact(kDocuments));
  ASSERT_EQ(by_id.size(), kDocuments);
  WaitAllComplete(up, kDocuments);

  auto stats = up.Get("/stats");
  EXPECT_EQ(stats.at("total_documents").get<int64_t>(), CountRows("documents"));
  EXPECT_EQ(stats.at("total_documents").get<int64_t>(), static_cast<int64_t>(kDocuments));
  EXPECT_EQ(stats.at("total_chunks").get<int64_t>(), CountRows("chunks"));
  EXPECT_EQ(stats.at("chunks_with_embeddings").get<int64_t>(), CountRows("chunks", " WHERE embedding IS NOT NULL"));
  EXPECT_EQ(stats.at("total_chunks").get<int64_t>(), stats.at("chunks_with_embeddings").get<int64_t>());
  EXPECT_EQ(stats.at("documents_by_stage").at("complete").get<int64_t>(),
            CountRows("documents", " WHERE state = 'complete'"));
  for (const auto& [stage, depth] : stats.at("queue_depths").items()) {
    EXPECT_EQ(depth.at("ready").get<int64_t>() + depth.at("in_flight").get<int64_t>(), 0) << stage;
  }

  int checked = 0;
  for (const auto& [id, doc] : by_id) {
    if (checked++ == 20) break;
    auto reply = up.Post("/search", {{"query", FirstSentence(doc.text)}, {"limit", 5}});
    ASSERT_FALSE(reply.at("results").empty()) << doc.title;
    EXPECT_EQ(reply.at("results")[0].at("document_id").get<int64_t>(), id) << FirstSentence(doc.text);
  }
}

// Kills the worker of a stage that has a job in flight and waits for the
// supervisor to replace it; returns what went wrong, or "" on success.
std::string KillWorkerHoldingWork(const RefineryUp& up, std::set<pid_t>& killed) {
  std::string stage;
  nlohmann::json stats;
  bool found = WaitUntil(
      [&] {
        stats = up.Get("/stats");
        for (const auto& [name, depth] : stats.at("queue_depths").items()) {
          if (depth.at("in_flight").get<int64_t>() > 0) {
            stage = name;
            return true;
          }
        }
        return false;
      },
      seconds(60), milliseconds(10));
  if (!found) return "no job in flight within 60 s; last stats: " + stats.dump();
  auto pids = ChildPids(up.pid(), "worker " + stage);
  if (pids.empty()) return "no worker process for stage " + stage;
  kill(pids.front(), SIGKILL);
  killed.insert(pids.front());
  bool replaced = WaitUntil(
      [&] {
        auto now = ChildPids(up.pid(), "worker " + stage);
        return !now.empty() && !killed.count(now.front());
      },
      seconds(30));
  if (!replaced) return "worker " + stage + " was not restarted within 30 s";
  // Let the dead worker's leases (2 s visibility) expire, so the next
  // in-flight count can only come from a live worker.
  std::this_thread::sleep_for(milliseconds(2500));
  return "";
}

TEST_P(PipelineEndToEnd, SurvivesWorkersKilledWhileHoldingJobs) {
  RefineryUp up(dir_.path(), Env({{"REFINERY_TEST_STAGE_DELAY_MS", "100"},
                                  {"REFINERY_VISIBILITY_TIMEOUT_S", "2"},
                                  {"REFINERY_STAGE_TIMEOUT_S", "10"},
                                  {"REFINERY_RECONCILE_INTERVAL_S", "1"}}));
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  auto docs = LoadScifact(kDocuments);
  std::map<int64_t, ScifactDoc> by_id;
  std::jthread ingest([&] { by_id = IngestAll(up, docs); });
  std::set<pid_t> killed;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(KillWorkerHoldingWork(up, killed), "") << "kill " << i << "\n" << up.Log();
  ingest.join();
  EXPECT_EQ(killed.size(), 3u);
  WaitAllComplete(up, kDocuments);
  ExpectChunksExact(up, by_id);
  // Exactly the fresh chunking's count per document, so none twice overall either.
  EXPECT_EQ(CountRows("chunks"), FreshChunkCount(by_id));
}

}  // namespace
}  // namespace refinery::testing

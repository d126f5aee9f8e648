// Chaos soak (issue 4): SciFact abstracts go in through the API of a real
// `refinery up` while every 2 s a random worker that holds leased jobs is
// kill -9ed, and the API once mid-ingest. Afterwards every document is
// complete, its chunks are exactly a fresh chunking of its text, and every
// queue is empty. REFINERY_SOAK_DOCS (default 300) and REFINERY_SOAK_SEED
// change the run; scripts/soak.sh runs this test with 1,000 documents.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/config.h"
#include "support/pipeline_checks.h"
#include "support/process_util.h"
#include "support/production_env.h"
#include "support/refinery_process.h"
#include "support/test_support.h"
#include "support/worker_killer.h"

namespace refinery::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kKillPeriod{2000};
constexpr milliseconds kMinWorkerAge{1000};  // a replacement gets this long to make progress
constexpr int kMinWorkerKillsThatHitWork = 5;

size_t SoakDocuments() {
  const char* docs = std::getenv("REFINERY_SOAK_DOCS");
  return docs != nullptr ? std::stoul(docs) : 300;
}

uint32_t SoakSeed() {
  const char* seed = std::getenv("REFINERY_SOAK_SEED");
  return seed != nullptr ? static_cast<uint32_t>(std::stoul(seed)) : std::random_device{}();
}

struct IngestResult {
  std::map<int64_t, ScifactDoc> by_id;  // API id -> document
  int failed_attempts = 0;              // posts that met a dead or restarting API
};

// Posts every document, retrying one whose post failed in transport or with
// 503 while the API is down or restarting. A retried post that did land
// returns the same document: ingest is idempotent by content hash.
IngestResult IngestRetrying(const RefineryUp& up, const std::vector<ScifactDoc>& docs, std::atomic<size_t>& posted) {
  IngestResult result;
  for (const auto& doc : docs) {
    const auto give_up = Clock::now() + seconds(60);
    while (true) {
      long status = 0;
      nlohmann::json reply;
      try {
        reply = up.Post("/ingest", {{"title", doc.title}, {"content", doc.text}}, &status);
      } catch (const std::runtime_error&) {  // connection refused or reset
        status = 0;
      } catch (const nlohmann::json::exception&) {  // a reply cut off mid-body
        status = 0;
      }
      if (status == 200 || status == 201) {
        result.by_id[reply.at("id").get<int64_t>()] = doc;
        break;
      }
      if (status != 0 && status != 503) {
        ADD_FAILURE() << "POST /ingest answered " << status << ": " << reply.dump();
        return result;
      }
      ++result.failed_attempts;
      if (Clock::now() > give_up) {
        ADD_FAILURE() << "the API did not come back within 60 s";
        return result;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    ++posted;
  }
  return result;
}

// "service restarts, ..." per `refinery status --json`, for the summary.
std::string Restarts(const RefineryUp& up) {
  auto status = nlohmann::json::parse(up.Cli({"status", "--json"}), nullptr, false);
  std::string out;
  if (!status.is_object()) return "unknown";
  for (const auto& service : status["services"]) {
    out += (out.empty() ? "" : ", ") + service.value("name", "?") + " " + std::to_string(service.value("restarts", 0));
  }
  return out;
}

bool QueuesEmpty(const nlohmann::json& stats) {
  for (const auto& [stage, depth] : stats.at("queue_depths").items()) {
    for (const char* field : {"ready", "in_flight", "delayed", "dead"}) {
      if (depth.at(field).get<int64_t>() != 0) return false;
    }
  }
  return true;
}

// The same soak on the embedded default and on PostgreSQL + Redis + S3.
class ChaosSoak : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "production") {
      backends_ = ProductionBackends::Create();
      if (!backends_) GTEST_SKIP() << "REFINERY_TEST_* servers not configured (scripts/test-services.sh)";
    }
  }

  // Slow stages and short leases widen the windows a kill can hit and make
  // lost work return fast; the reconciler repairs a wake-up lost to a kill
  // within seconds. max_attempts stays at its default: see MayKill.
  std::map<std::string, std::string> Env() const {
    std::map<std::string, std::string> env = {{"REFINERY_TEST_STAGE_DELAY_MS", "100"},
                                              {"REFINERY_VISIBILITY_TIMEOUT_S", "2"},
                                              {"REFINERY_STAGE_TIMEOUT_S", "5"},
                                              {"REFINERY_RECONCILE_INTERVAL_S", "1"}};
    if (backends_) env.merge(backends_->Env());
    return env;
  }

  int64_t CountRows(const std::string& table, const std::string& where = "") const {
    std::string sql = "SELECT count(*) FROM " + std::string(backends_ ? "refinery." : "") + table + where;
    return backends_ ? backends_->QueryInt(sql) : CountSqlite(dir_.path() + "/refinery.db", sql);
  }

  TempDir dir_;
  std::unique_ptr<ProductionBackends> backends_;
};

// Each kill uses up an attempt of every job it hits (the store counts an
// attempt when a worker takes a job, so a worker that dies still used
// one): a document hit max_attempts times is a poison document and ends in
// `error`, as it must (poison_document_e2e_test). Random infrastructure
// kills spread over documents; this killer does not by itself -- at the
// end it finds the last job every round -- so it holds fire while any
// unfinished document has used max_attempts - 2 or more (one more may be
// leased between this check and the kill).
bool MayKill(const RefineryUp& up) {
  const int limit = Config().max_attempts - 2;
  try {
    for (int64_t offset = 0;; offset += 1000) {
      const nlohmann::json page = up.Get("/documents?limit=1000&offset=" + std::to_string(offset));
      const nlohmann::json& documents = page.at("documents");
      for (const nlohmann::json& doc : documents) {
        const std::string state = doc.value("stage", "");
        if (state != "complete" && state != "error" && doc.value("attempts", 0) > limit) return false;
      }
      if (documents.size() < 1000) return true;
    }
  } catch (const std::exception&) {  // the API is being restarted: skip this round
    return false;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ChaosSoak, ::testing::Values("embedded", "production"),
                         [](const auto& info) { return info.param; });

TEST_P(ChaosSoak, EveryDocumentCompletesExactlyWhileWorkersAndTheApiAreKilled) {
  const size_t n = SoakDocuments();
  const uint32_t seed = SoakSeed();
  RecordProperty("seed", std::to_string(seed));
  RefineryUp up(dir_.path(), Env());
  ASSERT_TRUE(up.WaitHealthy(seconds(30))) << up.Log();
  const auto docs = LoadScifact(n);
  ASSERT_EQ(docs.size(), n);

  const auto started = Clock::now();
  WorkerKiller killer(up.pid(), dir_.path() + "/run", kKillPeriod, kMinWorkerAge, seed, [&up] { return MayKill(up); });
  std::atomic<size_t> posted{0};
  IngestResult ingested;
  {
    std::jthread ingest([&] { ingested = IngestRetrying(up, docs, posted); });
    ASSERT_TRUE(WaitUntil([&] { return posted.load() >= n / 2; }, seconds(120), milliseconds(1)));
    auto api = ChildPids(up.pid(), " api ");
    ASSERT_EQ(api.size(), 1u);
    ASSERT_EQ(::kill(api.front(), SIGKILL), 0);
  }
  ASSERT_EQ(ingested.by_id.size(), n);
  EXPECT_GE(ingested.failed_attempts, 1) << "the API kill interrupted no ingest";

  // Hang detection only: a healthy run needs a fraction of this.
  const auto limit = seconds(120) + milliseconds(300) * n;
  ASSERT_TRUE(WaitUntil([&] { return CompleteCount(up) == static_cast<int64_t>(n); }, limit, milliseconds(100)))
      << up.Get("/stats").dump(2) << "\n"
      << up.Log();
  const double complete_s = std::chrono::duration<double>(Clock::now() - started).count();
  killer.Stop();
  // Wake-ups that outlived their work (a dead worker's leases, reconciler
  // duplicates) are acked as stale once delivered.
  EXPECT_TRUE(WaitUntil([&] { return QueuesEmpty(up.Get("/stats")); }, seconds(60), milliseconds(250)))
      << up.Get("/stats").dump(2);

  const int differing = ExpectChunksExact(up, ingested.by_id);
  const int64_t expected_chunks = FreshChunkCount(ingested.by_id);
  const int64_t stored_chunks = CountRows("chunks");
  EXPECT_EQ(stored_chunks, expected_chunks);
  EXPECT_EQ(CountRows("documents", " WHERE state = 'complete'"), static_cast<int64_t>(n));
  EXPECT_GE(killer.hits(), kMinWorkerKillsThatHitWork) << "too few kills hit a worker holding work";

  std::cout << "soak: backend " << GetParam() << ", seed " << seed << "\n"
            << "soak: documents " << n << ", all complete after " << complete_s << " s\n"
            << "soak: worker kills " << killer.kills().size() << ", that hit work " << killer.hits()
            << "; API kills 1, ingest attempts that failed " << ingested.failed_attempts << "\n"
            << "soak: chunks stored " << stored_chunks << ", fresh chunking " << expected_chunks
            << ", documents whose chunks differ " << differing << "\n"
            << "soak: queues " << up.Get("/stats").at("queue_depths").dump() << "\n"
            << "soak: supervisor restarts: " << Restarts(up) << "\n";
}

}  // namespace
}  // namespace refinery::testing

// One job at a time through the worker, ingest, retry and the reconciler,
// against the real embedded backends (SQLite store and queue, blob
// directory) in a temp dir. Single-threaded and clock-free: retries are due
// at once (zero backoff) and the reconciler is handed the time it should
// see. The threaded run loop is in worker_integration_test.cpp.
#include <atomic>
#include <utility>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "pipeline/documents.h"
#include "pipeline/reconciler.h"
#include "pipeline/services.h"
#include "pipeline/stage_chain.h"
#include "pipeline/worker.h"
#include "support/test_support.h"
#include "text/chunker.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

IngestRequest Request(const std::string& title, const std::string& content) {
  IngestRequest request;
  request.title = title;
  request.content = content;
  return request;
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config;
    config.data_dir = dir_.path();
    config.retry_base_delay_s = 0;  // a failed attempt's retry is due at once
    config.retry_max_delay_s = 0;
    config.max_attempts = 3;
    auto opened = OpenServices(config, OpenMode::kServe);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    services_ = std::make_unique<Services>(std::move(opened).value());
  }

  int64_t Ingest(const std::string& text) {
    auto outcome = IngestDocument(*services_, Request("title", text));
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    return outcome->id;
  }

  // Leases and processes every ready job of `stage_name` until none is left.
  int Drain(const std::string& stage_name) {
    Worker worker(*services_, *FindStage(stage_name));
    int processed = 0;
    while (true) {
      auto job = services_->queue->Lease(stage_name, 30, milliseconds(0));
      if (!job.ok() || !job->has_value()) return processed;
      worker.ProcessJob(**job);
      ++processed;
    }
  }

  std::string Stage(int64_t id) { return services_->store->documents().Get(id)->state; }

  testing::TempDir dir_;
  std::unique_ptr<Services> services_;
};

TEST_F(WorkerTest, DocumentWalksTheChainToComplete) {
  std::string text = "Queues lease jobs. Workers acknowledge after commit.\n\nA second paragraph follows.";
  int64_t id = Ingest(text);
  EXPECT_EQ(Stage(id), "chunking");
  EXPECT_EQ(Drain("chunk"), 1);
  EXPECT_EQ(Stage(id), "embedding");
  auto chunks = services_->store->chunks().Get(id);
  ASSERT_TRUE(chunks.ok());
  auto expected = ChunkText(text, {services_->config.chunk_target_chars, services_->config.chunk_overlap_chars});
  ASSERT_EQ(chunks->size(), expected.size());
  EXPECT_EQ(Drain("embed"), 1);
  EXPECT_EQ(Stage(id), "evaluating");
  EXPECT_EQ(Drain("evaluate"), 1);
  EXPECT_EQ(Stage(id), "extracting");
  EXPECT_EQ(Drain("extract"), 1);
  EXPECT_EQ(Stage(id), "resolving");
  EXPECT_EQ(Drain("resolve"), 1);
  EXPECT_EQ(Stage(id), "complete");
  auto embedded = services_->store->chunks().Get(id);
  ASSERT_TRUE(embedded.ok());
  for (const auto& chunk : *embedded) {
    EXPECT_EQ(static_cast<int>(chunk.embedding.size()), services_->config.embedding_dim);
  }
  auto log = services_->store->telemetry().GetLog(id);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), StageChain().size());
  for (size_t i = 0; i < log->size(); ++i) EXPECT_EQ((*log)[i].stage, StageChain()[i].name);
  for (const LogEntry& entry : *log) EXPECT_EQ(entry.status, "completed");
  auto evaluated = services_->store->chunks().Get(id);
  ASSERT_TRUE(evaluated.ok());
  for (const Chunk& chunk : *evaluated) {
    ASSERT_TRUE(chunk.evaluation.has_value());
    EXPECT_EQ(chunk.evaluation->evaluator, "rules:research");
  }
}

TEST_F(WorkerTest, IdenticalContentReturnsTheExistingDocument) {
  int64_t first = Ingest("Same words, same hash.");
  auto again = IngestDocument(*services_, Request("another title", "Same words, same hash."));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, first);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(services_->queue->Depth("chunk")->ready, 1);
}

TEST_F(WorkerTest, RejectsEmptyAndInvalidUtf8Content) {
  EXPECT_EQ(IngestDocument(*services_, Request("t", "  \n ")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IngestDocument(*services_, Request("t", "bad \xC3")).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(WorkerTest, DuplicateWakeUpIsAcknowledgedWithoutRework) {
  int64_t id = Ingest("One short document.");
  Drain("chunk");
  auto before = services_->store->chunks().Get(id);
  ASSERT_TRUE(services_->queue->Enqueue("chunk", id).ok());  // a stale duplicate
  EXPECT_EQ(Drain("chunk"), 1);
  auto after = services_->store->chunks().Get(id);
  ASSERT_EQ(before->size(), after->size());
  EXPECT_EQ((*before)[0].id, (*after)[0].id);  // not rewritten
  EXPECT_EQ(services_->queue->Depth("chunk")->ready, 0);
}

TEST_F(WorkerTest, MissingBlobRetriesThenErrorsAndRetryResumes) {
  std::string text = "This blob will vanish before chunking.";
  int64_t id = Ingest(text);
  auto doc = services_->store->documents().Get(id);
  ASSERT_TRUE(services_->blobs->Delete(doc->blob_key).ok());
  EXPECT_EQ(Drain("chunk"), 3);  // each retry is due at once: three attempts, then given up
  auto failed = services_->store->documents().Get(id);
  EXPECT_EQ(failed->state, "error");
  EXPECT_EQ(failed->error_stage, "chunk");
  EXPECT_NE(failed->error_message.find("not_found"), std::string::npos) << failed->error_message;
  EXPECT_NE(failed->error_message.find("gave up after 3 attempts"), std::string::npos) << failed->error_message;
  EXPECT_EQ(services_->store->telemetry().Stats()->errors_by_stage["chunk"], 1);
  EXPECT_FALSE(*services_->queue->HasLiveJob("chunk", id));  // acknowledged, not dead in the queue
  auto log = services_->store->telemetry().GetLog(id);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);  // retried, retried, failed: each with its state change
  EXPECT_EQ((*log)[0].status, "retried");
  EXPECT_EQ((*log)[2].status, "failed");

  ASSERT_TRUE(services_->blobs->Put(doc->blob_key, text).ok());
  ASSERT_TRUE(RetryDocument(*services_, id).ok());
  EXPECT_EQ(Stage(id), "chunking");
  Drain("chunk");
  Drain("embed");
  Drain("evaluate");
  Drain("extract");
  Drain("resolve");
  EXPECT_EQ(Stage(id), "complete");
  EXPECT_EQ(RetryDocument(*services_, id).code(), StatusCode::kConflict);
}

// A worker that dies holding the job records nothing, but its attempt was
// counted when it took the job: after max_attempts such deaths the next
// delivery gives up, and the reconciler never revives the document.
TEST_F(WorkerTest, AttemptsThatDiedUseUpTheDocumentThenItEndsInErrorForGood) {
  int64_t id = Ingest("A poison document: its worker dies every time.");
  const StageDef& chunk = *FindStage("chunk");
  for (int death = 1; death <= services_->config.max_attempts; ++death) {
    // What a worker does first when it takes the job; then it "dies" (the
    // queue redelivers the job once the lease expires: queue conformance).
    auto attempt =
        services_->store->documents().StartAttempt(id, chunk.name, chunk.state, services_->config.max_attempts);
    ASSERT_TRUE(attempt.ok()) << attempt.status().ToString();
    EXPECT_FALSE(attempt->gave_up);
    EXPECT_EQ(attempt->document.attempts, death);
  }
  auto job = services_->queue->Lease("chunk", 30, milliseconds(0));
  ASSERT_TRUE(job.ok() && job->has_value());
  Worker(*services_, chunk).ProcessJob(**job);
  auto doc = services_->store->documents().Get(id);
  EXPECT_EQ(doc->state, "error");
  EXPECT_EQ(doc->error_stage, "chunk");
  EXPECT_EQ(doc->error_message, "gave up after 3 attempts (the worker died or timed out each time)");
  EXPECT_FALSE(*services_->queue->HasLiveJob("chunk", id));
  EXPECT_EQ(services_->store->telemetry().Stats()->errors_by_stage["chunk"], 1);
  EXPECT_EQ(services_->store->telemetry().GetLog(id)->back().status, "failed");
  // Long after any stage timeout: still nothing to revive.
  EXPECT_EQ(*ReconcileStage(*services_, chunk, NowSeconds() + 1e6), 0);
  EXPECT_EQ(Stage(id), "error");
}

// Fails every read as an outage would.
class UnavailableBlobs final : public BlobStore {
 public:
  Status Put(const std::string&, const std::string&) override { return Status::Unavailable("blobs down"); }
  Result<std::string> Get(const std::string&) override { return Status::Unavailable("blobs down"); }
  Status Delete(const std::string&) override { return Status::Unavailable("blobs down"); }
  Result<bool> Exists(const std::string&) override { return Status::Unavailable("blobs down"); }
  Status Ping() override { return Status::Unavailable("blobs down"); }
};

TEST_F(WorkerTest, AnOutageGivesTheJobBackWithoutUsingUpAnAttempt) {
  int64_t id = Ingest("Chunked once the blob store is back.");
  std::unique_ptr<BlobStore> real = std::exchange(services_->blobs, std::make_unique<UnavailableBlobs>());
  for (int i = 0; i < 2 * services_->config.max_attempts; ++i) {
    auto job = services_->queue->Lease("chunk", 30, milliseconds(0));
    ASSERT_TRUE(job.ok() && job->has_value());
    Worker(*services_, *FindStage("chunk")).ProcessJob(**job);
    EXPECT_EQ(services_->store->documents().Get(id)->attempts, 0);
    EXPECT_EQ(services_->queue->Depth("chunk")->ready, 1);  // back at once, not delayed
  }
  services_->blobs = std::move(real);
  Drain("chunk");
  EXPECT_EQ(Stage(id), "embedding");
}

TEST_F(WorkerTest, ReconcilerRequeuesDocumentsWhoseJobsWereLost) {
  int64_t a = Ingest("First document for the reconciler.");
  int64_t b = Ingest("Second document for the reconciler.");
  ASSERT_TRUE(services_->queue->Purge().ok());                                   // as if Redis restarted empty
  EXPECT_EQ(*ReconcileStage(*services_, *FindStage("chunk"), NowSeconds()), 0);  // not stalled yet
  const double later = NowSeconds() + services_->config.stage_timeout_s + 1;     // as the reconciler will see it
  auto requeued = ReconcileStage(*services_, *FindStage("chunk"), later);
  ASSERT_TRUE(requeued.ok());
  EXPECT_EQ(*requeued, 2);
  EXPECT_EQ(*ReconcileStage(*services_, *FindStage("chunk"), later), 0);  // live jobs now: nothing twice
  Drain("chunk");
  Drain("embed");
  Drain("evaluate");
  Drain("extract");
  Drain("resolve");
  EXPECT_EQ(Stage(a), "complete");
  EXPECT_EQ(Stage(b), "complete");
}

TEST_F(WorkerTest, DeleteRemovesDocumentChunksAndBlob) {
  int64_t id = Ingest("Delete me with everything I own.");
  Drain("chunk");
  auto doc = services_->store->documents().Get(id);
  ASSERT_TRUE(DeleteDocumentEverywhere(*services_, id).ok());
  EXPECT_EQ(services_->store->documents().Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*services_->blobs->Exists(doc->blob_key));
  EXPECT_EQ(DeleteDocumentEverywhere(*services_, id).code(), StatusCode::kNotFound);
  EXPECT_EQ(Drain("embed"), 1);  // the orphaned wake-up is simply acknowledged
}

}  // namespace
}  // namespace refinery

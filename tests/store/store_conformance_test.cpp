// Store conformance, part 1: schema, documents, stages, failures, the log.
// Every backend in StoreBackends() must pass. Chunks: store_chunks_conformance_test.cpp.
#include <latch>
#include <set>
#include <thread>

#include "core/clock.h"
#include "store_backends.h"

namespace refinery {
namespace {

TEST_P(StoreConformance, MigrateIsIdempotentAndReportsVersion) {
  auto version = store().SchemaVersion();
  ASSERT_STORE_OK(version);
  EXPECT_GE(*version, 1);
  ASSERT_STORE_OK(store().Migrate());
  auto again = store().SchemaVersion();
  ASSERT_STORE_OK(again);
  EXPECT_EQ(*again, *version);
  EXPECT_STORE_OK(store().Ping());
}

TEST_P(StoreConformance, InsertAndGetRoundTripEveryField) {
  NewDocument doc = NewDoc("hash-a", "chunking");
  doc.mime_type = "text/html";
  doc.blob_key = "blobs/ab/cd";
  doc.metadata_json = R"({"lang":"en","tags":["x"]})";
  const double before = NowSeconds();
  auto inserted = store().documents().Insert(doc);
  ASSERT_STORE_OK(inserted);
  EXPECT_TRUE(inserted->created);
  EXPECT_GT(inserted->id, 0);

  auto got = store().documents().Get(inserted->id);
  ASSERT_STORE_OK(got);
  EXPECT_EQ(got->id, inserted->id);
  EXPECT_EQ(got->title, doc.title);
  EXPECT_EQ(got->source_url, doc.source_url);
  EXPECT_EQ(got->content_hash, "hash-a");
  EXPECT_EQ(got->mime_type, "text/html");
  EXPECT_EQ(got->blob_key, "blobs/ab/cd");
  EXPECT_EQ(got->state, "chunking");
  EXPECT_EQ(got->metadata_json, doc.metadata_json);
  EXPECT_EQ(got->attempts, 0);
  EXPECT_EQ(got->chunk_count, 0);
  EXPECT_TRUE(got->error_message.empty());
  EXPECT_GE(got->created_at, before - 1);
  EXPECT_LE(got->created_at, NowSeconds() + 1);
  EXPECT_DOUBLE_EQ(got->updated_at, got->created_at);
  EXPECT_DOUBLE_EQ(got->state_changed_at, got->created_at);
}

TEST_P(StoreConformance, InsertSameHashReturnsTheExistingDocument) {
  auto first = store().documents().Insert(NewDoc("same"));
  ASSERT_STORE_OK(first);
  NewDocument other = NewDoc("same", "embedding");
  other.title = "another title";
  auto second = store().documents().Insert(other);
  ASSERT_STORE_OK(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->id, first->id);
  auto got = store().documents().Get(first->id);
  ASSERT_STORE_OK(got);
  EXPECT_EQ(got->title, "title same");  // the existing row is left untouched
  EXPECT_EQ(got->state, "chunking");
}

TEST_P(StoreConformance, ConcurrentInsertsOfOneHashCreateOneDocument) {
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<Result<InsertOutcome>> outcomes(kThreads, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      outcomes[i] = store().documents().Insert(NewDoc("contended"));
    });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  std::set<int64_t> ids;
  for (const auto& outcome : outcomes) {
    ASSERT_STORE_OK(outcome);
    created += outcome->created ? 1 : 0;
    ids.insert(outcome->id);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
  auto page = store().documents().List("", 100, 0);
  ASSERT_STORE_OK(page);
  EXPECT_EQ(page->total, 1);
}

// NotFound, Conflict and InvalidArgument: store_contract_conformance_test.cpp.

TEST_P(StoreConformance, ListIsNewestFirstWithFilterPagingAndTotal) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Insert("doc" + std::to_string(i), i % 2 ? "embedding" : "chunking"));
  }

  auto all = store().documents().List("", 10, 0);
  ASSERT_STORE_OK(all);
  EXPECT_EQ(all->total, 5);
  ASSERT_EQ(all->documents.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(all->documents[i].id, ids[4 - i]);

  auto page = store().documents().List("", 2, 1);
  ASSERT_STORE_OK(page);
  EXPECT_EQ(page->total, 5);
  ASSERT_EQ(page->documents.size(), 2u);
  EXPECT_EQ(page->documents[0].id, ids[3]);
  EXPECT_EQ(page->documents[1].id, ids[2]);

  auto chunking = store().documents().List("chunking", 1, 0);
  ASSERT_STORE_OK(chunking);
  EXPECT_EQ(chunking->total, 3);
  ASSERT_EQ(chunking->documents.size(), 1u);
  EXPECT_EQ(chunking->documents[0].id, ids[4]);

  auto past_end = store().documents().List("embedding", 10, 5);
  ASSERT_STORE_OK(past_end);
  EXPECT_EQ(past_end->total, 2);
  EXPECT_TRUE(past_end->documents.empty());
  EXPECT_STORE_CODE(store().documents().List("", -1, 0), kInvalidArgument);
}

TEST_P(StoreConformance, SetStageMovesAndResetsAttemptsAndError) {
  const int64_t id = Insert("s");
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "chunk", "chunking", 5));
  ASSERT_STORE_OK(store().documents().RecordFailure(id, {"chunk", "chunking", "transient", false, 0}));
  auto before = store().documents().Get(id);
  ASSERT_STORE_OK(before);
  ASSERT_EQ(before->attempts, 1);

  ASSERT_STORE_OK(store().documents().SetState(id, {"chunking", "embedding"}));
  auto after = store().documents().Get(id);
  ASSERT_STORE_OK(after);
  EXPECT_EQ(after->state, "embedding");
  EXPECT_EQ(after->attempts, 0);
  EXPECT_TRUE(after->error_message.empty());
  EXPECT_GE(after->state_changed_at, before->state_changed_at);
  EXPECT_GE(after->updated_at, before->updated_at);
}

TEST_P(StoreConformance, SetStageFromWrongStageIsConflictAndChangesNothing) {
  const int64_t id = Insert("c");
  auto before = store().documents().Get(id);
  ASSERT_STORE_OK(before);
  EXPECT_STORE_CODE(store().documents().SetState(id, {"embedding", "complete"}), kConflict);
  auto after = store().documents().Get(id);
  ASSERT_STORE_OK(after);
  EXPECT_EQ(after->state, "chunking");
  EXPECT_DOUBLE_EQ(after->updated_at, before->updated_at);
}

TEST_P(StoreConformance, RecordFailureKeepsTheLastErrorAndTerminalMovesToError) {
  const int64_t id = Insert("f", "embedding");
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "embed", "embedding", 5));
  ASSERT_STORE_OK(store().documents().RecordFailure(id, {"embed", "embedding", "timeout 1", false, 0}));
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "embed", "embedding", 5));
  ASSERT_STORE_OK(store().documents().RecordFailure(id, {"embed", "embedding", "timeout 2", false, 0}));
  auto retrying = store().documents().Get(id);
  ASSERT_STORE_OK(retrying);
  EXPECT_EQ(retrying->state, "embedding");
  EXPECT_EQ(retrying->attempts, 2);
  EXPECT_EQ(retrying->error_message, "timeout 2");

  ASSERT_STORE_OK(store().documents().StartAttempt(id, "embed", "embedding", 5));
  ASSERT_STORE_OK(store().documents().RecordFailure(id, {"embed", "embedding", "gave up", true, 0}));
  auto failed = store().documents().Get(id);
  ASSERT_STORE_OK(failed);
  EXPECT_EQ(failed->state, "error");
  EXPECT_EQ(failed->error_stage, "embed");
  EXPECT_EQ(failed->error_message, "gave up");
  EXPECT_EQ(failed->attempts, 3);
  EXPECT_GE(failed->state_changed_at, retrying->state_changed_at);
  auto log = store().telemetry().GetLog(id);
  ASSERT_STORE_OK(log);
  ASSERT_EQ(log->size(), 3u);  // each failure with its own entry, in its transaction
  EXPECT_EQ((*log)[0].status, kLogRetried);
  EXPECT_EQ((*log)[2].status, kLogFailed);
  EXPECT_EQ((*log)[2].message, "gave up");

  // An operator retry moves it out of error and starts afresh.
  ASSERT_STORE_OK(store().documents().SetState(id, {"error", "embedding"}));
  auto retried = store().documents().Get(id);
  ASSERT_STORE_OK(retried);
  EXPECT_EQ(retried->state, "embedding");
  EXPECT_EQ(retried->attempts, 0);
  EXPECT_TRUE(retried->error_message.empty());
}

TEST_P(StoreConformance, LogIsReturnedOldestFirst) {
  const int64_t id = Insert("log");
  const int64_t other = Insert("other");
  const char* statuses[] = {"started", "failed", "retried", "completed"};
  for (const char* status : statuses) {
    LogEntry e;
    e.document_id = id;
    e.stage = "chunk";
    e.status = status;
    e.message = std::string("msg ") + status;
    e.duration_ms = 12.5;
    ASSERT_STORE_OK(store().telemetry().AppendLog(e));
  }
  ASSERT_STORE_OK(store().telemetry().AppendLog({0, other, "chunk", "started", "", 0, 0}));
  auto log = store().telemetry().GetLog(id);
  ASSERT_STORE_OK(log);
  ASSERT_EQ(log->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*log)[i].status, statuses[i]);
    EXPECT_EQ((*log)[i].document_id, id);
    EXPECT_EQ((*log)[i].message, std::string("msg ") + statuses[i]);
    EXPECT_DOUBLE_EQ((*log)[i].duration_ms, 12.5);
    EXPECT_GT((*log)[i].created_at, 0);
    if (i > 0) {
      EXPECT_GT((*log)[i].id, (*log)[i - 1].id);
    }
  }
}

TEST_P(StoreConformance, StaleDocumentsByAgeOldestFirst) {
  const int64_t a = Insert("stale-a");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int64_t b = Insert("stale-b");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int64_t c = Insert("stale-c");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double cutoff = NowSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // b moves away and back: its stage clock restarts after the cutoff.
  ASSERT_STORE_OK(store().documents().SetState(b, {"chunking", "embedding"}));
  ASSERT_STORE_OK(store().documents().SetState(b, {"embedding", "chunking"}));

  auto stale = store().documents().Stale("chunking", cutoff, 10);
  ASSERT_STORE_OK(stale);
  EXPECT_EQ(*stale, (std::vector<int64_t>{a, c}));
  auto first = store().documents().Stale("chunking", cutoff, 1);
  ASSERT_STORE_OK(first);
  EXPECT_EQ(*first, std::vector<int64_t>{a});
  auto all = store().documents().Stale("chunking", NowSeconds() + 1, 10);
  ASSERT_STORE_OK(all);
  EXPECT_EQ(all->size(), 3u);
  auto none = store().documents().Stale("embedding", NowSeconds() + 1, 10);
  ASSERT_STORE_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, DeleteDocumentRemovesChunksAndLog) {
  const int64_t id = Insert("del");
  const int64_t keep = Insert("keep");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(3, "d"), {"chunking", "embedding"}));
  ASSERT_STORE_OK(store().chunks().Replace(keep, MakeChunks(2, "k"), {"chunking", "embedding"}));
  ASSERT_STORE_OK(store().telemetry().AppendLog({0, id, "chunk", "completed", "", 1, 0}));

  ASSERT_STORE_OK(store().documents().Delete(id));
  EXPECT_STORE_CODE(store().documents().Get(id), kNotFound);
  EXPECT_STORE_CODE(store().telemetry().GetLog(id), kNotFound);
  EXPECT_STORE_CODE(store().documents().Delete(id), kNotFound);
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, 1);
  EXPECT_EQ(stats->total_chunks, 2);  // only the kept document's chunks remain
  auto kept = store().chunks().Get(keep);
  ASSERT_STORE_OK(kept);
  EXPECT_EQ(kept->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

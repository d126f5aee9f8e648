// Store conformance, part 3: the store as the one owner of attempts, the
// last error and the decision to give up (issue 9), and state changes that
// carry their log entry in the same transaction. Every backend must pass.
#include <atomic>
#include <map>
#include <thread>

#include "core/clock.h"
#include "store_backends.h"

namespace refinery {
namespace {

int64_t CounterOf(Store& store, const std::string& stage, const std::string& status) {
  auto counters = store.telemetry().StageCounters();
  EXPECT_TRUE(counters.ok()) << counters.status().ToString();
  if (!counters.ok()) return -1;
  for (const StageCounter& c : *counters) {
    if (c.stage == stage && c.status == status) return c.count;
  }
  return 0;
}

TEST_P(StoreConformance, StartAttemptCountsEachDeliveryThenGivesUpAtTheMaximum) {
  const int64_t id = Insert("poison");
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto start = store().documents().StartAttempt(id, "chunk", "chunking", 3);
    ASSERT_STORE_OK(start);
    EXPECT_FALSE(start->gave_up);
    EXPECT_EQ(start->document.attempts, attempt);
    EXPECT_EQ(start->document.state, "chunking");
    EXPECT_EQ(store().documents().Get(id)->attempts, attempt);
  }
  auto last = store().documents().StartAttempt(id, "chunk", "chunking", 3);
  ASSERT_STORE_OK(last);
  EXPECT_TRUE(last->gave_up);
  EXPECT_EQ(last->document.state, "error");
  const std::string reason = "gave up after 3 attempts (the worker died or timed out each time)";
  EXPECT_EQ(last->document.error_message, reason);
  auto doc = store().documents().Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->state, "error");
  EXPECT_EQ(doc->error_stage, "chunk");
  EXPECT_EQ(doc->error_message, reason);
  auto log = store().telemetry().GetLog(id);
  ASSERT_STORE_OK(log);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().stage, "chunk");
  EXPECT_EQ(log->front().status, kLogFailed);
  EXPECT_EQ(log->front().message, reason);
  EXPECT_EQ(CounterOf(store(), "chunk", kLogFailed), 1);
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"error", 1}}));
  EXPECT_EQ(stats->errors_by_stage, (std::map<std::string, int64_t>{{"chunk", 1}}));
  // Given up is final: no more attempts until an operator retries it.
  EXPECT_STORE_CODE(store().documents().StartAttempt(id, "chunk", "chunking", 3), kConflict);
}

TEST_P(StoreConformance, GivingUpNamesTheLastRecordedError) {
  const int64_t id = Insert("flaky", "embedding");
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "embed", "embedding", 1));
  ASSERT_STORE_OK(
      store().documents().RecordFailure(id, {"embed", "embedding", "timeout: the embedder hung", false, 0}));
  auto start = store().documents().StartAttempt(id, "embed", "embedding", 1);
  ASSERT_STORE_OK(start);
  ASSERT_TRUE(start->gave_up);
  EXPECT_EQ(store().documents().Get(id)->error_message,
            "gave up after 1 attempt; last error: timeout: the embedder hung");
}

TEST_P(StoreConformance, ReleaseAttemptTakesTheCountBackButNeverBelowZero) {
  const int64_t id = Insert("outage");
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "chunk", "chunking", 5));
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "chunk", "chunking", 5));
  ASSERT_STORE_OK(store().documents().ReleaseAttempt(id, "chunking"));
  EXPECT_EQ(store().documents().Get(id)->attempts, 1);
  ASSERT_STORE_OK(store().documents().ReleaseAttempt(id, "chunking"));
  ASSERT_STORE_OK(store().documents().ReleaseAttempt(id, "chunking"));
  EXPECT_EQ(store().documents().Get(id)->attempts, 0);
}

TEST_P(StoreConformance, AttemptCallsOnADocumentThatMovedOnAreConflictsAndWriteNothing) {
  const int64_t id = Insert("moved", "embedding");
  ASSERT_STORE_OK(store().documents().StartAttempt(id, "embed", "embedding", 5));
  auto before = store().documents().Get(id);
  ASSERT_STORE_OK(before);
  EXPECT_STORE_CODE(store().documents().StartAttempt(id, "chunk", "chunking", 5), kConflict);
  EXPECT_STORE_CODE(store().documents().ReleaseAttempt(id, "chunking"), kConflict);
  EXPECT_STORE_CODE(store().documents().RecordFailure(id, {"chunk", "chunking", "late", true, 0}), kConflict);
  auto after = store().documents().Get(id);
  ASSERT_STORE_OK(after);
  EXPECT_EQ(after->state, "embedding");
  EXPECT_EQ(after->attempts, before->attempts);
  EXPECT_TRUE(after->error_message.empty());
  EXPECT_TRUE(store().telemetry().GetLog(id)->empty());
}

TEST_P(StoreConformance, ErrorsAreCountedByTheStageThatGaveUpUntilRetriedOrDeleted) {
  const int64_t a = Insert("dead-chunk");
  const int64_t b = Insert("dead-embed", "embedding");
  const int64_t c = Insert("dead-embed-2", "embedding");
  ASSERT_STORE_OK(store().documents().RecordFailure(a, {"chunk", "chunking", "bad", true, 0}));
  ASSERT_STORE_OK(store().documents().RecordFailure(b, {"embed", "embedding", "bad", true, 0}));
  ASSERT_STORE_OK(store().documents().RecordFailure(c, {"embed", "embedding", "bad", true, 0}));
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->errors_by_stage, (std::map<std::string, int64_t>{{"chunk", 1}, {"embed", 2}}));
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"error", 3}}));
  ASSERT_STORE_OK(store().documents().SetState(b, {"error", "embedding"}));  // an operator's retry
  ASSERT_STORE_OK(store().documents().Delete(a));
  stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->errors_by_stage, (std::map<std::string, int64_t>{{"embed", 1}}));
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"embedding", 1}, {"error", 1}}));
  EXPECT_EQ(stats->total_documents, 2);
}

TEST_P(StoreConformance, TransitionLogIsWrittenWithTheStateChangeOrNotAtAll) {
  const int64_t id = Insert("logged");
  const double started = NowSeconds() - 0.25;
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, "l"),
                                           {"chunking", "embedding", LogNote{"chunk", kLogCompleted, "", started}}));
  auto log = store().telemetry().GetLog(id);
  ASSERT_STORE_OK(log);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().stage, "chunk");
  EXPECT_EQ(log->front().status, kLogCompleted);
  EXPECT_GE(log->front().duration_ms, 250);  // measured from the attempt's start to the commit
  EXPECT_EQ(CounterOf(store(), "chunk", kLogCompleted), 1);
  // A compare-and-set that fails writes no log entry either.
  EXPECT_STORE_CODE(store().documents().SetState(id, {"chunking", "embedding", LogNote{"chunk", kLogCompleted, "", 0}}),
                    kConflict);
  ASSERT_STORE_OK(store().documents().SetState(id, {"embedding", "complete", LogNote{"embed", kLogCompleted, "", 0}}));
  log = store().telemetry().GetLog(id);
  ASSERT_STORE_OK(log);
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ(log->back().stage, "embed");
  EXPECT_EQ(CounterOf(store(), "chunk", kLogCompleted), 1);
}

// A reader racing the writer never sees a document's new state without the
// log entry of the stage that moved it there (they commit together).
TEST_P(StoreConformance, NoReaderSeesAStateChangeBeforeItsLogEntry) {
  constexpr int kDocuments = 40;
  std::vector<int64_t> ids;
  for (int i = 0; i < kDocuments; ++i) ids.push_back(Insert("race-" + std::to_string(i)));
  std::atomic<bool> done{false};
  std::atomic<int> unlogged{0};
  std::thread reader([&] {
    while (!done.load()) {
      for (int64_t id : ids) {
        auto doc = store().documents().Get(id);
        if (!doc.ok() || doc->state != "embedding") continue;
        auto log = store().telemetry().GetLog(id);
        if (!log.ok() || log->empty()) ++unlogged;
      }
    }
  });
  for (int64_t id : ids) {
    EXPECT_STORE_OK(store().chunks().Replace(id, MakeChunks(1, "r"),
                                             {"chunking", "embedding", LogNote{"chunk", kLogCompleted, "", 0}}));
  }
  done = true;
  reader.join();
  EXPECT_EQ(unlogged.load(), 0);
}

TEST_P(StoreConformance, CheckWritableChangesNoDocument) {
  const int64_t id = Insert("probe");
  ASSERT_STORE_OK(store().CheckWritable());
  ASSERT_STORE_OK(store().CheckWritable());
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, 1);
  EXPECT_EQ(store().documents().Get(id)->state, "chunking");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

// Store conformance, part 4: every NotFound, Conflict and InvalidArgument
// the role headers promise (store/documents.h, chunks.h, search_index.h,
// telemetry.h), on every backend, and that a refused call writes nothing.
#include <limits>

#include "core/clock.h"
#include "store_backends.h"

namespace refinery {
namespace {

constexpr int64_t kMissing = 987654;

TEST_P(StoreConformance, EveryCallOnAMissingDocumentIsNotFound) {
  DocumentStore& docs = store().documents();
  EXPECT_STORE_CODE(docs.Get(kMissing), kNotFound);
  EXPECT_STORE_CODE(docs.Delete(kMissing), kNotFound);
  EXPECT_STORE_CODE(docs.SetState(kMissing, {"chunking", "embedding"}), kNotFound);
  EXPECT_STORE_CODE(docs.StartAttempt(kMissing, "chunk", "chunking", 5), kNotFound);
  EXPECT_STORE_CODE(docs.ReleaseAttempt(kMissing, "chunking"), kNotFound);
  EXPECT_STORE_CODE(docs.RecordFailure(kMissing, {"chunk", "chunking", "boom", false, 0}), kNotFound);
  ChunkStore& chunks = store().chunks();
  EXPECT_STORE_CODE(chunks.Replace(kMissing, MakeChunks(1, "x"), {"chunking", "embedding"}), kNotFound);
  EXPECT_STORE_CODE(chunks.Get(kMissing), kNotFound);
  EXPECT_STORE_CODE(chunks.SetEmbeddings(kMissing, "test-model", {}, {"embedding", "complete"}), kNotFound);
  EXPECT_STORE_CODE(store().telemetry().GetLog(kMissing), kNotFound);
  LogEntry entry;
  entry.document_id = kMissing;
  entry.stage = "chunk";
  entry.status = "started";
  EXPECT_STORE_CODE(store().telemetry().AppendLog(entry), kNotFound);
  // ... but that append is still counted (its job ran), and nothing else is written.
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, 0);
  EXPECT_STORE_CODE(chunks.Hits({kMissing}), kOk);  // unknown chunk ids are simply absent
  EXPECT_TRUE(chunks.Hits({kMissing})->empty());
}

// Every compare-and-set refuses a document in another state, and writes nothing.
TEST_P(StoreConformance, EveryCompareAndSetOnAnotherStateIsConflictAndWritesNothing) {
  const int64_t id = Insert("elsewhere", "embedding");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(1, "e"), {"embedding", "embedding"}));
  auto before = store().documents().Get(id);
  ASSERT_STORE_OK(before);
  auto chunks_before = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks_before);
  const LogNote note{"chunk", kLogCompleted, "", 0};
  EXPECT_STORE_CODE(store().documents().SetState(id, {"chunking", "complete", note}), kConflict);
  EXPECT_STORE_CODE(store().documents().StartAttempt(id, "chunk", "chunking", 5), kConflict);
  EXPECT_STORE_CODE(store().documents().ReleaseAttempt(id, "chunking"), kConflict);
  EXPECT_STORE_CODE(store().documents().RecordFailure(id, {"chunk", "chunking", "late", true, 0}), kConflict);
  EXPECT_STORE_CODE(store().chunks().Replace(id, MakeChunks(3, "new"), {"chunking", "embedding", note}), kConflict);
  const ChunkEmbeddings vectors = {{chunks_before->front().id, {1.0f}}};
  EXPECT_STORE_CODE(store().chunks().SetEmbeddings(id, "test-model", vectors, {"chunking", "complete", note}), kConflict);
  auto after = store().documents().Get(id);
  ASSERT_STORE_OK(after);
  EXPECT_EQ(after->state, "embedding");
  EXPECT_EQ(after->attempts, before->attempts);
  EXPECT_EQ(after->error_message, "");
  EXPECT_DOUBLE_EQ(after->updated_at, before->updated_at);
  auto chunks_after = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks_after);
  ASSERT_EQ(chunks_after->size(), 1u);
  EXPECT_EQ(chunks_after->front().id, chunks_before->front().id);
  EXPECT_TRUE(chunks_after->front().embedding.empty());
  EXPECT_TRUE(store().telemetry().GetLog(id)->empty());  // no log entry without its state change
}

TEST_P(StoreConformance, AForeignChunkInSetEmbeddingsIsNotFoundAndWritesNothing) {
  const int64_t a = Insert("owner-a", "embedding");
  const int64_t b = Insert("owner-b", "embedding");
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(1, "a"), {"embedding", "embedding"}));
  ASSERT_STORE_OK(store().chunks().Replace(b, MakeChunks(1, "b"), {"embedding", "embedding"}));
  const int64_t own = store().chunks().Get(a)->front().id;
  const int64_t foreign = store().chunks().Get(b)->front().id;
  EXPECT_STORE_CODE(store().chunks().SetEmbeddings(a, "test-model", {{own, {1.0f}}, {foreign, {2.0f}}}, {"embedding", "complete"}),
                    kNotFound);
  EXPECT_EQ(store().documents().Get(a)->state, "embedding");
  EXPECT_TRUE(store().chunks().Get(a)->front().embedding.empty());  // rolled back as a whole
}

TEST_P(StoreConformance, BadArgumentsAreInvalidArgumentAndWriteNothing) {
  DocumentStore& docs = store().documents();
  NewDocument no_hash = NewDoc("");
  EXPECT_STORE_CODE(docs.Insert(no_hash), kInvalidArgument);
  NewDocument no_state = NewDoc("no-state", "");
  EXPECT_STORE_CODE(docs.Insert(no_state), kInvalidArgument);
  for (const char* metadata : {"[1, 2]", "\"text\"", "{\"open\": ", "42", "  "}) {
    NewDocument bad = NewDoc(std::string("meta-") + metadata);
    bad.metadata_json = metadata;
    EXPECT_STORE_CODE(docs.Insert(bad), kInvalidArgument) << metadata;
  }
  EXPECT_STORE_CODE(docs.List("", -1, 0), kInvalidArgument);
  EXPECT_STORE_CODE(docs.List("", 10, -1), kInvalidArgument);
  EXPECT_STORE_CODE(docs.Stale("chunking", NowSeconds(), -1), kInvalidArgument);
  EXPECT_STORE_CODE(docs.Stale("", NowSeconds(), 10), kInvalidArgument);
  const int64_t id = Insert("args");
  EXPECT_STORE_CODE(docs.StartAttempt(id, "", "chunking", 5), kInvalidArgument);
  EXPECT_STORE_CODE(docs.StartAttempt(id, "chunk", "chunking", 0), kInvalidArgument);
  EXPECT_STORE_CODE(docs.RecordFailure(id, {"", "chunking", "x", false, 0}), kInvalidArgument);
  EXPECT_STORE_CODE(docs.SetState(id, {"", "embedding"}), kInvalidArgument);
  std::vector<Chunk> repeated = MakeChunks(2, "r");
  repeated[1].chunk_index = 0;
  EXPECT_STORE_CODE(store().chunks().Replace(id, repeated, {"chunking", "embedding"}), kInvalidArgument);
  std::vector<Chunk> backwards = MakeChunks(1, "b");
  backwards[0].char_start = 50;
  backwards[0].char_end = 10;
  EXPECT_STORE_CODE(store().chunks().Replace(id, backwards, {"chunking", "embedding"}), kInvalidArgument);
  EXPECT_STORE_CODE(store().chunks().ScanEmbeddings(0, -1), kInvalidArgument);
  EXPECT_STORE_CODE(store().search_index().Lexical("anything", -1), kInvalidArgument);
  EXPECT_STORE_CODE(store().telemetry().AppendLog({0, id, "", "completed", "", 0, 0}), kInvalidArgument);
  auto doc = docs.Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->state, "chunking");
  EXPECT_EQ(doc->attempts, 0);
  EXPECT_EQ(doc->chunk_count, 0);
  EXPECT_EQ(store().telemetry().Stats()->total_documents, 1);
}

TEST_P(StoreConformance, EmptyAndZeroRequestsAnswerEmptyWithoutAnError) {
  EXPECT_TRUE(store().chunks().Hits({})->empty());
  EXPECT_TRUE(store().chunks().ScanEmbeddings(0, 0)->empty());
  EXPECT_TRUE(store().search_index().Lexical("anything", 0)->empty());
  EXPECT_TRUE(store().search_index().Lexical("the of and", 10)->empty());  // only stop words
  EXPECT_TRUE(store().documents().Stale("chunking", NowSeconds(), 0)->empty());
  auto page = store().documents().List("", 0, 0);
  ASSERT_STORE_OK(page);
  EXPECT_TRUE(page->documents.empty());
}

TEST_P(StoreConformance, MetadataIsStoredVerbatimAndEmptyMeansAnEmptyObject) {
  NewDocument doc = NewDoc("meta-ok");
  doc.metadata_json = R"({"b": [1, {"c": null}], "a": "\u00e9"})";
  auto inserted = store().documents().Insert(doc);
  ASSERT_STORE_OK(inserted);
  EXPECT_EQ(store().documents().Get(inserted->id)->metadata_json, doc.metadata_json);
  NewDocument empty = NewDoc("meta-empty");
  empty.metadata_json = "";
  auto inserted_empty = store().documents().Insert(empty);
  ASSERT_STORE_OK(inserted_empty);
  EXPECT_EQ(store().documents().Get(inserted_empty->id)->metadata_json, "{}");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

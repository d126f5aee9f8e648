// Store conformance, part 2: chunks, embeddings, stats and search reads.
// Every backend in StoreBackends() must pass.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <thread>

#include "store_backends.h"

namespace refinery {
namespace {

using Vectors = std::vector<std::pair<int64_t, std::vector<float>>>;

std::vector<uint32_t> Bits(const std::vector<float>& v) {
  std::vector<uint32_t> out;
  for (float f : v) out.push_back(std::bit_cast<uint32_t>(f));
  return out;
}

TEST_P(StoreConformance, ReplaceChunksTwiceLeavesExactlyTheSecondSet) {
  const int64_t id = Insert("rc");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(4, "first"), {"chunking", "embedding"}));
  auto doc = store().documents().Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->state, "embedding");
  EXPECT_EQ(doc->chunk_count, 4);

  ASSERT_STORE_OK(store().documents().SetState(id, {"embedding", "chunking"}));  // a re-run of the stage
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, "second"), {"chunking", "embedding"}));
  auto chunks = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  ASSERT_EQ(chunks->size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Chunk& c = (*chunks)[i];
    EXPECT_EQ(c.chunk_index, i);
    EXPECT_EQ(c.document_id, id);
    EXPECT_GT(c.id, 0);
    EXPECT_EQ(c.content, "second chunk " + std::to_string(i));
    EXPECT_EQ(c.char_start, i * 100);
    EXPECT_EQ(c.char_end, i * 100 + 90);
    EXPECT_EQ(c.token_count, 10 + i);
    EXPECT_TRUE(c.embedding.empty());
  }
  auto again = store().documents().Get(id);
  ASSERT_STORE_OK(again);
  EXPECT_EQ(again->chunk_count, 2);
}

TEST_P(StoreConformance, ReplaceChunksReturnsChunksInIndexOrder) {
  const int64_t id = Insert("order");
  auto chunks = MakeChunks(3, "o");
  std::swap(chunks[0], chunks[2]);
  ASSERT_STORE_OK(store().chunks().Replace(id, chunks, {"chunking", "chunking"}));
  auto got = store().chunks().Get(id);
  ASSERT_STORE_OK(got);
  ASSERT_EQ(got->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*got)[i].chunk_index, i);
  EXPECT_STORE_CODE(store().chunks().Replace(id, MakeChunks(1, "a"), {"chunking", "embedding"}), kOk);
}

TEST_P(StoreConformance, ReplaceChunksConflictWritesNothing) {
  const int64_t id = Insert("rcc");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(3, "kept"), {"chunking", "embedding"}));
  EXPECT_STORE_CODE(store().chunks().Replace(id, MakeChunks(5, "lost"), {"chunking", "embedding"}), kConflict);
  auto chunks = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].content, "kept chunk 0");
  auto doc = store().documents().Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->chunk_count, 3);
  EXPECT_EQ(doc->state, "embedding");

  auto duplicate = MakeChunks(2, "dup");
  duplicate[1].chunk_index = 0;
  EXPECT_STORE_CODE(store().chunks().Replace(id, duplicate, {"embedding", "embedding"}), kInvalidArgument);
}

TEST_P(StoreConformance, SetEmbeddingsRoundTripsFloatsExactly) {
  const int64_t id = Insert("emb");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(2, "e"), {"chunking", "embedding"}));
  auto chunks = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  const std::vector<float> first = {0.0f,
                                    -0.0f,
                                    1.0f / 3.0f,
                                    -2.5e-7f,
                                    std::numeric_limits<float>::denorm_min(),
                                    std::numeric_limits<float>::max(),
                                    std::numeric_limits<float>::lowest(),
                                    123456.789f};
  const std::vector<float> second = {0.1f, 0.2f, 0.3f};
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(id, "test-model", {{(*chunks)[0].id, first}, {(*chunks)[1].id, second}},
                                                 {"embedding", "complete"}));

  auto doc = store().documents().Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->state, "complete");
  auto got = store().chunks().Get(id);
  ASSERT_STORE_OK(got);
  EXPECT_EQ(Bits((*got)[0].embedding), Bits(first));
  EXPECT_EQ(Bits((*got)[1].embedding), Bits(second));
}

TEST_P(StoreConformance, SetEmbeddingsConflictOrForeignChunkWritesNothing) {
  const int64_t id = Insert("embc");
  const int64_t other = Insert("embc-other");
  ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(1, "a"), {"chunking", "embedding"}));
  ASSERT_STORE_OK(store().chunks().Replace(other, MakeChunks(1, "b"), {"chunking", "embedding"}));
  auto mine = store().chunks().Get(id);
  auto theirs = store().chunks().Get(other);
  ASSERT_STORE_OK(mine);
  ASSERT_STORE_OK(theirs);
  const int64_t my_chunk = (*mine)[0].id;

  EXPECT_STORE_CODE(store().chunks().SetEmbeddings(id, "test-model", {{my_chunk, {1.0f}}}, {"chunking", "complete"}), kConflict);
  // One chunk of another document: the whole call fails and writes nothing.
  EXPECT_STORE_CODE(
      store().chunks().SetEmbeddings(id, "test-model", {{my_chunk, {1.0f}}, {(*theirs)[0].id, {2.0f}}}, {"embedding", "complete"}),
      kNotFound);
  auto after = store().chunks().Get(id);
  ASSERT_STORE_OK(after);
  EXPECT_TRUE((*after)[0].embedding.empty());
  auto doc = store().documents().Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->state, "embedding");
}

TEST_P(StoreConformance, StatsCountStagesPresentAndChunks) {
  auto empty = store().telemetry().Stats();
  ASSERT_STORE_OK(empty);
  EXPECT_EQ(empty->total_documents, 0);
  EXPECT_TRUE(empty->documents_by_state.empty());

  const int64_t a = Insert("st-a");
  Insert("st-b");
  Insert("st-c", "complete");
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(3, "s"), {"chunking", "embedding"}));
  auto chunks = store().chunks().Get(a);
  ASSERT_STORE_OK(chunks);
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(a, "test-model", {{(*chunks)[1].id, {1.0f, 2.0f}}}, {"embedding", "embedding"}));

  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, 3);
  EXPECT_EQ(stats->documents_by_state,
            (std::map<std::string, int64_t>{{"chunking", 1}, {"complete", 1}, {"embedding", 1}}));
  EXPECT_EQ(stats->total_chunks, 3);
  EXPECT_EQ(stats->chunks_with_embeddings, 1);
}

// Stats() reads per-document counts; every chunk write must keep them exact.
TEST_P(StoreConformance, StatsChunkCountsStayExactThroughEveryChunkWrite) {
  const auto expect_counts = [&](int64_t chunks, int64_t embedded, int line) {
    SCOPED_TRACE("line " + std::to_string(line));
    auto stats = store().telemetry().Stats();
    ASSERT_STORE_OK(stats);
    EXPECT_EQ(stats->total_chunks, chunks);
    EXPECT_EQ(stats->chunks_with_embeddings, embedded);
  };
  const int64_t a = Insert("exact-a");
  const int64_t b = Insert("exact-b");
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(4, "a1"), {"chunking", "embedding"}));
  expect_counts(4, 0, __LINE__);
  auto with_vector = MakeChunks(3, "b1");  // chunks may arrive already embedded
  with_vector[1].embedding = {0.5f, 0.25f};
  ASSERT_STORE_OK(store().chunks().Replace(b, with_vector, {"chunking", "embedding"}));
  expect_counts(7, 1, __LINE__);

  ASSERT_STORE_OK(store().documents().SetState(a, {"embedding", "chunking"}));  // replaced a second time
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(2, "a2"), {"chunking", "embedding"}));
  expect_counts(5, 1, __LINE__);

  auto chunks = store().chunks().Get(a);
  ASSERT_STORE_OK(chunks);
  const int64_t c0 = (*chunks)[0].id;
  const int64_t c1 = (*chunks)[1].id;
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(a, "test-model", {{c0, {1.0f}}}, {"embedding", "embedding"}));  // partial
  expect_counts(5, 2, __LINE__);
  // Full, re-embedding c0: each chunk counts once.
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(a, "test-model", {{c0, {2.0f}}, {c1, {3.0f}}}, {"embedding", "complete"}));
  expect_counts(5, 3, __LINE__);
  // Failed calls change nothing.
  EXPECT_STORE_CODE(store().chunks().SetEmbeddings(a, "test-model", {{c0, {4.0f}}}, {"embedding", "complete"}), kConflict);
  auto theirs = store().chunks().Get(b);
  ASSERT_STORE_OK(theirs);
  EXPECT_STORE_CODE(
      store().chunks().SetEmbeddings(b, "test-model", {{(*theirs)[0].id, {1.0f}}, {c1, {1.0f}}}, {"embedding", "complete"}),
      kNotFound);
  expect_counts(5, 3, __LINE__);
  auto doc = store().documents().Get(a);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->chunk_count, 2);

  ASSERT_STORE_OK(store().chunks().Replace(b, {}, {"embedding", "chunking"}));  // b now has none
  expect_counts(2, 2, __LINE__);
  ASSERT_STORE_OK(store().chunks().Replace(b, MakeChunks(3, "b2"), {"chunking", "embedding"}));
  expect_counts(5, 2, __LINE__);
  ASSERT_STORE_OK(store().documents().Delete(a));
  expect_counts(3, 0, __LINE__);
  ASSERT_STORE_OK(store().documents().Delete(b));
  expect_counts(0, 0, __LINE__);
}

// Stats() reads totals kept per stage by the store itself (schema v5).
// Writers on many threads -- many connections, for a server -- walk their
// own documents through every kind of change at once; the totals must end
// exactly equal to a recount of the documents, and no write may fail (on
// PostgreSQL a lock-order deadlock between two writers' counter rows would).
TEST_P(StoreConformance, StatsStayExactUnderConcurrentWritersOfEveryKind) {
  constexpr int kThreads = 6;
  constexpr int kDocsPerThread = 12;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { failures[t] = WalkDocumentsThroughEveryChange(t, kDocsPerThread); });
  }
  for (auto& thread : threads) thread.join();
  for (const std::string& f : failures) EXPECT_EQ(f, "");

  std::map<std::string, int64_t> by_stage;
  int64_t chunks = 0, embedded = 0;
  auto page = store().documents().List("", 1000, 0);
  ASSERT_STORE_OK(page);
  for (const Document& d : page->documents) {
    ++by_stage[d.state];
    auto rows = store().chunks().Get(d.id);
    ASSERT_STORE_OK(rows);
    chunks += static_cast<int64_t>(rows->size());
    for (const Chunk& c : *rows) embedded += c.embedding.empty() ? 0 : 1;
  }
  EXPECT_EQ(by_stage, (std::map<std::string, int64_t>{{"chunking", 18}, {"complete", 18}, {"error", 18}}));
  auto stats = store().telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->documents_by_state, by_stage);
  EXPECT_EQ(stats->total_documents, 54);
  EXPECT_EQ(stats->total_chunks, chunks);
  EXPECT_EQ(stats->chunks_with_embeddings, embedded);
}

TEST_P(StoreConformance, ScanEmbeddingsPagesByChunkIdAndSkipsUnembedded) {
  std::vector<int64_t> embedded;
  for (const char* hash : {"scan-a", "scan-b"}) {
    const int64_t id = Insert(hash);
    ASSERT_STORE_OK(store().chunks().Replace(id, MakeChunks(3, hash), {"chunking", "embedding"}));
    auto chunks = store().chunks().Get(id);
    ASSERT_STORE_OK(chunks);
    Vectors vectors;  // chunks 0 and 2 embedded, chunk 1 not
    for (int i : {0, 2}) {
      vectors.push_back({(*chunks)[i].id, {static_cast<float>(id), static_cast<float>(i)}});
      embedded.push_back((*chunks)[i].id);
    }
    ASSERT_STORE_OK(store().chunks().SetEmbeddings(id, "test-model", vectors, {"embedding", "complete"}));
  }
  std::sort(embedded.begin(), embedded.end());

  std::vector<int64_t> seen;
  int64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().chunks().ScanEmbeddings(after, 3);
    ASSERT_STORE_OK(page);
    if (page->empty()) break;
    EXPECT_LE(page->size(), 3u);
    for (const ChunkVector& v : *page) {
      seen.push_back(v.chunk_id);
      ASSERT_EQ(v.embedding.size(), 2u);
      EXPECT_EQ(v.embedding[0], static_cast<float>(v.document_id));
    }
    after = page->back().chunk_id;
  }
  EXPECT_EQ(seen, embedded);
}

TEST_P(StoreConformance, GetChunkHitsReturnsTextAndTitle) {
  const int64_t a = Insert("hit-a");
  const int64_t b = Insert("hit-b");
  ASSERT_STORE_OK(store().chunks().Replace(a, MakeChunks(2, "alpha"), {"chunking", "embedding"}));
  ASSERT_STORE_OK(store().chunks().Replace(b, MakeChunks(1, "beta"), {"chunking", "embedding"}));
  auto ca = store().chunks().Get(a);
  auto cb = store().chunks().Get(b);
  ASSERT_STORE_OK(ca);
  ASSERT_STORE_OK(cb);

  auto hits = store().chunks().Hits({(*ca)[1].id, (*cb)[0].id, 99999999});
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 2u);  // the unknown id is skipped
  std::map<int64_t, ChunkHit> by_id;
  for (const ChunkHit& h : *hits) by_id[h.chunk.id] = h;
  const ChunkHit& ha = by_id.at((*ca)[1].id);
  EXPECT_EQ(ha.title, "title hit-a");
  EXPECT_EQ(ha.chunk.content, "alpha chunk 1");
  EXPECT_EQ(ha.chunk.document_id, a);
  EXPECT_EQ(ha.chunk.chunk_index, 1);
  EXPECT_EQ(by_id.at((*cb)[0].id).title, "title hit-b");

  auto none = store().chunks().Hits({});
  ASSERT_STORE_OK(none);
  EXPECT_TRUE(none->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery

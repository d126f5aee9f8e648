// Schema upgrades on every backend: a database left at an older version,
// holding data, is brought to the newest schema with that data intact.
#include <functional>
#include <map>

#include "core/sqlite.h"
#include "store/pg_schema.h"
#include "store/sqlite_schema.h"
#include "store_backends.h"

namespace refinery {
namespace {

// A store whose database is at schema version 1, plus raw SQL access to it
// (the v1 tables must be written by hand: today's store writes v2 columns).
struct V1Database {
  std::unique_ptr<Store> store;  // null: the backend is not available here
  std::function<Status(const std::string& sql)> exec;
  // The first column of the first row ("" if none).
  std::function<Result<std::string>(const std::string& sql)> query;
  std::string schema;                               // table prefix: "refinery." or ""
  std::string blob;                                 // a literal one-float embedding ({1.0f}) in this dialect
  std::unique_ptr<sqlite::Connection> sqlite_conn;  // keeps the raw SQLite handle open
};

Result<V1Database> SqliteV1(const std::string& dir) {
  V1Database db;
  const std::string path = dir + "/v1.db";
  auto conn = sqlite::Connection::Open(path, sqlite::ConnectionOptions{});
  if (!conn.ok()) return conn.status();
  REFINERY_RETURN_IF_ERROR(sqlite::MigrateSchemaTo(**conn, 1));
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return store.status();
  db.store = std::move(*store);
  db.sqlite_conn = std::move(*conn);
  sqlite::Connection* raw = db.sqlite_conn.get();
  db.exec = [raw](const std::string& sql) { return raw->Exec(sql.c_str()); };
  db.query = [raw](const std::string& sql) -> Result<std::string> {
    auto stmt = raw->Prepare(sql.c_str());
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    return *row ? stmt->Text(0) : std::string();
  };
  db.blob = "X'0000803f'";
  return db;
}

Result<V1Database> PostgresV1() {
  V1Database db;
  auto url = pgtest::FreshDatabaseUrl();
  if (!url.ok()) return url.status();
  if (url->empty()) return db;
  auto store = PostgresStore::Open(pgtest::ConfigFor(*url));
  if (!store.ok()) return store.status();
  REFINERY_RETURN_IF_ERROR(
      (*store)->pool().Run("migrate to v1", pg::TxMode::kWrite, [](pg::Conn& c) { return pg::MigrateSchemaTo(c, 1); }));
  db.store = std::move(*store);
  db.exec = [u = *url](const std::string& sql) { return pgtest::RawQuery(u, sql).status(); };
  db.query = [u = *url](const std::string& sql) { return pgtest::RawQuery(u, sql); };
  db.schema = "refinery.";
  db.blob = "'\\x0000803f'::bytea";
  return db;
}

class StoreMigration : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto db = GetParam() == "sqlite" ? SqliteV1(dir_.path()) : PostgresV1();
    ASSERT_STORE_OK(db);
    if (db->store == nullptr) GTEST_SKIP() << GetParam() << " is not available here";
    db_ = std::move(*db);
  }

  // Adds a chunk the way version 1 stored it.
  void AddV1Chunk(int64_t doc, int index, bool embedded) {
    ASSERT_STORE_OK(db_.exec("INSERT INTO " + db_.schema +
                             "chunks (document_id, chunk_index, content, char_start, char_end, embedding) VALUES (" +
                             std::to_string(doc) + ", " + std::to_string(index) + ", 'text " + std::to_string(index) +
                             "', 0, 6, " + (embedded ? db_.blob : "NULL") + ")"));
    ASSERT_STORE_OK(db_.exec("UPDATE " + db_.schema +
                             "documents SET chunk_count = chunk_count + 1 WHERE id = " + std::to_string(doc)));
  }

  // Adds a document in state `embedding` the way version 1 stored it.
  int64_t Insert(const std::string& hash) {
    auto id = db_.query("INSERT INTO " + db_.schema +
                        "documents (content_hash, stage, created_at, updated_at, stage_changed_at)"
                        " VALUES ('" +
                        hash + "', 'embedding', 1, 1, 1) RETURNING id");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() && !id->empty() ? std::stoll(*id) : 0;
  }

  testing::TempDir dir_;
  V1Database db_;
};

TEST_P(StoreMigration, UpgradeFromV1BackfillsChunkCountsForStats) {
  Store& store = *db_.store;
  auto version = store.SchemaVersion();
  ASSERT_STORE_OK(version);
  ASSERT_EQ(*version, 1);
  const int64_t a = Insert("v1-a");  // 3 chunks, 2 embedded
  const int64_t b = Insert("v1-b");  // 2 chunks, none embedded
  Insert("v1-c");                    // no chunks
  AddV1Chunk(a, 0, true);
  AddV1Chunk(a, 1, false);
  AddV1Chunk(a, 2, true);
  AddV1Chunk(b, 0, false);
  AddV1Chunk(b, 1, false);

  ASSERT_STORE_OK(store.Migrate());
  ASSERT_STORE_OK(store.Migrate());  // idempotent: nothing counted twice
  version = store.SchemaVersion();
  ASSERT_STORE_OK(version);
  EXPECT_EQ(*version, kSchemaVersion);
  auto stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, 3);
  EXPECT_EQ(stats->total_chunks, 5);
  EXPECT_EQ(stats->chunks_with_embeddings, 2);
  auto doc = store.documents().Get(a);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->chunk_count, 3);
  auto chunks = store.chunks().Get(a);
  ASSERT_STORE_OK(chunks);
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].embedding, std::vector<float>{1.0f});
  // Vectors from before v10 can only be the built-in embedder's: tagged by dimension.
  EXPECT_EQ((*chunks)[0].embedding_model, "builtin-hash-1");
  EXPECT_EQ((*chunks)[1].embedding_model, "");

  // The backfilled counts go on being maintained.
  auto b_chunks = store.chunks().Get(b);
  ASSERT_STORE_OK(b_chunks);
  ASSERT_STORE_OK(store.chunks().SetEmbeddings(b, "test-model", {{(*b_chunks)[0].id, {2.0f}}},
                                                 {"embedding", "embedding"}));
  stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_chunks, 5);
  EXPECT_EQ(stats->chunks_with_embeddings, 3);
  ASSERT_STORE_OK(store.documents().Delete(a));
  stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_chunks, 2);
  EXPECT_EQ(stats->chunks_with_embeddings, 1);
}

TEST_P(StoreMigration, UpgradeBackfillsStageCountersFromTheLogAsAppendWouldCount) {
  Store& store = *db_.store;
  const int64_t doc = Insert("v1-log");
  const double durations_ms[] = {0, 5, 5.0001, 250, 7000, 299999, 300000, 300001};
  for (double ms : durations_ms) {  // written the v1 way: the log only
    ASSERT_STORE_OK(db_.exec("INSERT INTO " + db_.schema +
                             "processing_log (document_id, stage, status, message, duration_ms,"
                             " created_at) VALUES (" +
                             std::to_string(doc) + ", 'chunk', 'completed', '', " + std::to_string(ms) + ", 1)"));
  }
  ASSERT_STORE_OK(store.Migrate());
  ASSERT_STORE_OK(store.Migrate());  // idempotent: nothing counted twice
  // The same durations through today's AppendLog, under another stage.
  for (double ms : durations_ms)
    ASSERT_STORE_OK(store.telemetry().AppendLog({0, doc, "embed", "completed", "", ms, 0}));

  auto counters = store.telemetry().StageCounters();
  ASSERT_STORE_OK(counters);
  ASSERT_EQ(counters->size(), 2u);
  const StageCounter& backfilled = (*counters)[0];
  const StageCounter& appended = (*counters)[1];
  ASSERT_EQ(backfilled.stage, "chunk");
  EXPECT_EQ(backfilled.count, 8);
  EXPECT_EQ(backfilled.buckets, appended.buckets);
  EXPECT_NEAR(backfilled.duration_sum_s, appended.duration_sum_s, 1e-6);
  EXPECT_EQ(backfilled.buckets.front(), 2);  // 0 and 5 ms: "<= 0.005"
  EXPECT_EQ(backfilled.buckets.back(), 1);   // past 300 s: +Inf

  // The backfilled rows go on counting.
  ASSERT_STORE_OK(store.telemetry().AppendLog({0, doc, "chunk", "completed", "", 1, 0}));
  counters = store.telemetry().StageCounters();
  ASSERT_STORE_OK(counters);
  EXPECT_EQ((*counters)[0].count, 9);
  EXPECT_EQ((*counters)[0].buckets.front(), 3);
}

// v5 counts documents per stage in stage_totals: the upgrade backfills it
// from the documents already stored, and triggers keep it from then on.
TEST_P(StoreMigration, UpgradeBackfillsStageTotalsForStats) {
  Store& store = *db_.store;
  const int64_t a = Insert("v1-totals-a");
  const int64_t b = Insert("v1-totals-b");
  Insert("v1-totals-c");
  AddV1Chunk(a, 0, true);
  AddV1Chunk(b, 0, false);
  ASSERT_STORE_OK(
      db_.exec("UPDATE " + db_.schema + "documents SET stage = 'complete' WHERE id = " + std::to_string(a)));
  ASSERT_STORE_OK(store.Migrate());
  auto stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  // v8 sends documents completed before the evaluate stage existed to it.
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"evaluating", 1}, {"embedding", 2}}));
  EXPECT_EQ(store.documents().Get(a)->state_changed_at, 0);  // the reconciler takes it up at once
  EXPECT_EQ(stats->chunks_evaluated, 0);
  EXPECT_EQ(stats->total_documents, 3);
  EXPECT_EQ(stats->total_chunks, 2);
  EXPECT_EQ(stats->chunks_with_embeddings, 1);

  ASSERT_STORE_OK(store.documents().SetState(b, {"embedding", "complete"}));
  ASSERT_STORE_OK(store.documents().Delete(a));
  stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"complete", 1}, {"embedding", 1}}));
  EXPECT_EQ(stats->total_chunks, 1);
  EXPECT_EQ(stats->chunks_with_embeddings, 0);
}

// Version 6 counts documents in error by the stage that gave up on them.
TEST_P(StoreMigration, UpgradeCountsExistingErrorsByTheStageThatGaveUp) {
  Store& store = *db_.store;
  const int64_t a = Insert("v1-error-a");
  Insert("v1-error-b");
  const int64_t c = Insert("v1-error-c");
  ASSERT_STORE_OK(db_.exec("UPDATE " + db_.schema +
                           "documents SET stage = 'error', error_stage = 'embed' WHERE id IN (" + std::to_string(a) +
                           ", " + std::to_string(c) + ")"));
  ASSERT_STORE_OK(store.Migrate());
  auto stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"embedding", 1}, {"error", 2}}));
  EXPECT_EQ(stats->errors_by_stage, (std::map<std::string, int64_t>{{"embed", 2}}));
  ASSERT_STORE_OK(store.documents().SetState(a, {"error", "embedding"}));  // an operator's retry
  stats = store.telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->errors_by_stage, (std::map<std::string, int64_t>{{"embed", 1}}));
  EXPECT_EQ(stats->documents_by_state, (std::map<std::string, int64_t>{{"embedding", 2}, {"error", 1}}));
}

TEST_P(StoreMigration, UpgradeIndexesExistingChunksForLexicalSearch) {
  Store& store = *db_.store;
  const int64_t doc = Insert("v1-text");
  AddV1Chunk(doc, 0, false);  // content "text 0"
  AddV1Chunk(doc, 1, true);   // content "text 1"
  ASSERT_STORE_OK(store.Migrate());
  auto hits = store.search_index().Lexical("text", 10);
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 2u);
  for (const LexicalHit& h : *hits) EXPECT_EQ(h.hit.chunk.document_id, doc);
  hits = store.search_index().Lexical("1", 10);
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().hit.chunk.content, "text 1");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreMigration, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace refinery

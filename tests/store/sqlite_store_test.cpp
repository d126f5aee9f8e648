// SQLite-specific behaviour of the store: file placement, WAL, migrations,
// several store instances on one file, busy handling, reopening.
#include <atomic>
#include <filesystem>
#include <latch>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"
#include "store_backends.h"

namespace refinery {
namespace {

// A raw connection, independent of the store's pool, to look at the file.
sqlite::DbPtr RawOpen(const std::string& path) {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  return sqlite::DbPtr(raw);
}

std::vector<std::vector<std::string>> Query(sqlite3* db, const char* sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3_stmt* raw = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &raw, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite::StmtPtr stmt(raw);
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
      const auto* text = sqlite3_column_text(stmt.get(), i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    rows.push_back(row);
  }
  return rows;
}

std::unique_ptr<SqliteStore> OpenMigrated(const std::string& path, SqliteStoreOptions options = {}) {
  auto store = SqliteStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  EXPECT_STORE_OK((*store)->Migrate());
  return std::move(*store);
}

NewDocument Doc(const std::string& hash) {
  NewDocument d;
  d.content_hash = hash;
  d.stage = "chunking";
  d.title = "t " + hash;
  return d;
}

TEST(SqliteStoreTest, OpenStoreCreatesTheDataDirAndFile) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path() + "/nested/data";
  auto store = OpenStore(config);
  ASSERT_STORE_OK(store);
  ASSERT_STORE_OK((*store)->Migrate());
  EXPECT_TRUE(std::filesystem::exists(config.SqlitePath()));
}

TEST(SqliteStoreTest, OpenStoreHonoursSqliteUrlsAndRejectsOthers) {
  testing::TempDir dir;
  Config config;
  config.data_dir = dir.path() + "/unused";
  config.database_url = "sqlite:" + dir.path() + "/elsewhere.db";
  auto store = OpenStore(config);
  ASSERT_STORE_OK(store);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/elsewhere.db"));
  EXPECT_FALSE(std::filesystem::exists(config.data_dir));

  config.database_url = "mysql://user@localhost/refinery";  // postgresql:// is PostgresStore
  EXPECT_STORE_CODE(OpenStore(config), kInvalidArgument);
  config.database_url = "sqlite:";
  EXPECT_STORE_CODE(OpenStore(config), kInvalidArgument);
}

TEST(SqliteStoreTest, UnopenablePathIsUnavailable) {
  testing::TempDir dir;
  EXPECT_STORE_CODE(SqliteStore::Open(dir.path() + "/missing/dir/x.db"), kUnavailable);
}

TEST(SqliteStoreTest, JournalModeIsWal) {
  testing::TempDir dir;
  auto store = OpenMigrated(dir.path() + "/s.db");
  ASSERT_NE(store, nullptr);
  auto db = RawOpen(store->path());
  auto rows = Query(db.get(), "PRAGMA journal_mode");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "wal");
}

TEST(SqliteStoreTest, MigrationTableRecordsEachVersionOnce) {
  testing::TempDir dir;
  auto fresh = SqliteStore::Open(dir.path() + "/m.db");
  ASSERT_STORE_OK(fresh);
  auto before = (*fresh)->SchemaVersion();
  ASSERT_STORE_OK(before);
  EXPECT_EQ(*before, 0);

  const double start = NowSeconds();
  ASSERT_STORE_OK((*fresh)->Migrate());
  ASSERT_STORE_OK((*fresh)->Migrate());
  auto db = RawOpen((*fresh)->path());
  auto rows = Query(db.get(), "SELECT version, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_EQ(rows.size(), static_cast<size_t>(kSchemaVersion));
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i][0], std::to_string(i + 1));
  EXPECT_NEAR(std::stod(rows[0][1]), start, 60);
  auto tables = Query(db.get(), "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN"
                                " ('documents', 'chunks', 'processing_log', 'crawl_jobs', 'stage_metrics', 'chunks_fts',"
                                " 'stage_totals') ORDER BY name");
  EXPECT_EQ(tables.size(), 7u);
}

TEST(SqliteStoreTest, ConcurrentMigrateFromTwoStoresIsSafe) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/race.db";
  auto a = SqliteStore::Open(path);
  auto b = SqliteStore::Open(path);
  ASSERT_STORE_OK(a);
  ASSERT_STORE_OK(b);
  std::latch start(2);
  Status sa, sb;
  std::thread ta([&] { start.arrive_and_wait(); sa = (*a)->Migrate(); });
  std::thread tb([&] { start.arrive_and_wait(); sb = (*b)->Migrate(); });
  ta.join();
  tb.join();
  EXPECT_STORE_OK(sa);
  EXPECT_STORE_OK(sb);
  auto db = RawOpen(path);
  EXPECT_EQ(Query(db.get(), "SELECT version FROM schema_migrations").size(), static_cast<size_t>(kSchemaVersion));
}

TEST(SqliteStoreTest, TwoStoresOnOneFileWriteConcurrentlyWithoutErrors) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/shared.db";
  auto first = OpenMigrated(path);
  auto second = OpenMigrated(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kThreads = 4;
  constexpr int kDocsPerThread = 30;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    Store* shared = t % 2 ? static_cast<Store*>(second.get()) : first.get();
    threads.emplace_back([&, t, shared] {
      Store& store = *shared;
      start.arrive_and_wait();
      for (int i = 0; i < kDocsPerThread; ++i) {
        auto ins = store.InsertDocument(Doc(std::to_string(t) + "-" + std::to_string(i)));
        if (!ins.ok()) { ADD_FAILURE() << ins.status().ToString(); ++failures; continue; }
        Chunk c;
        c.content = "text";
        std::vector<Status> steps = {
            store.AppendLog({0, ins->id, "chunk", "started", "", 0, 0}),
            store.ReplaceChunks(ins->id, {c}, {"chunking", "embedding"}),
            store.RecordFailure(ins->id, {"embed", "embedding", "flaky", false, 0}),
            store.SetStage(ins->id, {"embedding", "complete"})};
        for (const Status& s : steps) {
          if (!s.ok()) { ADD_FAILURE() << s.ToString(); ++failures; }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto stats = first->Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, kThreads * kDocsPerThread);
  EXPECT_EQ(stats->documents_by_stage["complete"], kThreads * kDocsPerThread);
  EXPECT_EQ(stats->total_chunks, kThreads * kDocsPerThread);
}

// Each child opens its own store on the shared file, as worker processes do.
int WriteFromChildProcess(const std::string& path, int child, int docs) {
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return 2;
  for (int i = 0; i < docs; ++i) {
    auto ins = (*store)->InsertDocument(Doc("p" + std::to_string(child) + "-" + std::to_string(i)));
    if (!ins.ok()) return 3;
    if (!(*store)->SetStage(ins->id, {"chunking", "complete"}).ok()) return 4;
  }
  return 0;
}

TEST(SqliteStoreTest, SeveralProcessesWriteConcurrentlyWithoutErrors) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/procs.db";
  auto parent = OpenMigrated(path);
  ASSERT_NE(parent, nullptr);
  constexpr int kChildren = 3;
  constexpr int kDocs = 40;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(WriteFromChildProcess(path, c, kDocs));
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  auto stats = parent->Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->documents_by_stage["complete"], kChildren * kDocs);
}

TEST(SqliteStoreTest, HeldWriteLockMakesWritesUnavailableButNotReads) {
  testing::TempDir dir;
  SqliteStoreOptions options;
  options.busy_timeout_ms = 100;
  auto store = OpenMigrated(dir.path() + "/busy.db", options);
  ASSERT_NE(store, nullptr);
  auto ins = store->InsertDocument(Doc("busy"));
  ASSERT_STORE_OK(ins);

  auto blocker = RawOpen(store->path());
  ASSERT_EQ(sqlite3_exec(blocker.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_STORE_CODE(store->SetStage(ins->id, {"chunking", "embedding"}), kUnavailable);
  EXPECT_STORE_OK(store->GetDocument(ins->id));  // WAL: readers never wait for the writer
  ASSERT_EQ(sqlite3_exec(blocker.get(), "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_STORE_OK(store->SetStage(ins->id, {"chunking", "embedding"}));
}

TEST(SqliteStoreTest, ReopeningKeepsData) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/keep.db";
  int64_t id = 0;
  {
    auto store = OpenMigrated(path);
    ASSERT_NE(store, nullptr);
    auto ins = store->InsertDocument(Doc("kept"));
    ASSERT_STORE_OK(ins);
    id = ins->id;
    Chunk c;
    c.content = "persisted";
    c.embedding = {0.5f, -1.25f};
    ASSERT_STORE_OK(store->ReplaceChunks(id, {c}, {"chunking", "complete"}));
  }
  auto store = OpenMigrated(path);
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_STORE_OK(version);
  EXPECT_EQ(*version, kSchemaVersion);
  auto doc = store->GetDocument(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->stage, "complete");
  auto chunks = store->GetChunks(id);
  ASSERT_STORE_OK(chunks);
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_EQ((*chunks)[0].content, "persisted");
  EXPECT_EQ((*chunks)[0].embedding, (std::vector<float>{0.5f, -1.25f}));
}

TEST(SqliteStoreTest, EmbeddingsAreStoredAsLittleEndianFloat32) {
  EXPECT_EQ(sqlite::EncodeFloats({1.0f}), std::string("\x00\x00\x80\x3f", 4));
  const std::vector<float> values = {-3.5f, 1e-30f, 7.0f};
  const std::string bytes = sqlite::EncodeFloats(values);
  EXPECT_EQ(sqlite::DecodeFloats(bytes.data(), bytes.size()), values);
}

}  // namespace
}  // namespace refinery

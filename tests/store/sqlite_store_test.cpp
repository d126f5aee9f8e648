// SQLite-specific behaviour of the store: file placement, WAL, migrations,
// several store instances on one file, busy handling, reopening.
#include <atomic>
#include <filesystem>
#include <latch>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/sqlite.h"
#include "store/sqlite_store.h"
#include "store_backends.h"
#include "support/raw_sqlite.h"

namespace refinery {
namespace {

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
  d.state = "chunking";
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
  testing::RawSqlite db(store->path());
  auto rows = db.Rows("PRAGMA journal_mode");
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
  testing::RawSqlite db((*fresh)->path());
  auto rows = db.Rows("SELECT version, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_EQ(rows.size(), static_cast<size_t>(kSchemaVersion));
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i][0], std::to_string(i + 1));
  EXPECT_NEAR(std::stod(rows[0][1]), start, 60);
  auto tables = db.Rows(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN"
      " ('documents', 'chunks', 'processing_log', 'crawls', 'crawl_pages', 'stage_metrics', 'chunks_fts',"
      " 'stage_totals') ORDER BY name");
  EXPECT_EQ(tables.size(), 8u);
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
  std::thread ta([&] {
    start.arrive_and_wait();
    sa = (*a)->Migrate();
  });
  std::thread tb([&] {
    start.arrive_and_wait();
    sb = (*b)->Migrate();
  });
  ta.join();
  tb.join();
  EXPECT_STORE_OK(sa);
  EXPECT_STORE_OK(sb);
  testing::RawSqlite db(path);
  EXPECT_EQ(db.Rows("SELECT version FROM schema_migrations").size(), static_cast<size_t>(kSchemaVersion));
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
        auto ins = store.documents().Insert(Doc(std::to_string(t) + "-" + std::to_string(i)));
        if (!ins.ok()) {
          ADD_FAILURE() << ins.status().ToString();
          ++failures;
          continue;
        }
        Chunk c;
        c.content = "text";
        std::vector<Status> steps = {
            store.telemetry().AppendLog({0, ins->id, "chunk", "started", "", 0, 0}),
            store.chunks().Replace(ins->id, {c}, {"chunking", "embedding"}),
            store.documents().RecordFailure(ins->id, {"embed", "embedding", "flaky", false, 0}),
            store.documents().SetState(ins->id, {"embedding", "complete"})};
        for (const Status& s : steps) {
          if (!s.ok()) {
            ADD_FAILURE() << s.ToString();
            ++failures;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto stats = first->telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->total_documents, kThreads * kDocsPerThread);
  EXPECT_EQ(stats->documents_by_state["complete"], kThreads * kDocsPerThread);
  EXPECT_EQ(stats->total_chunks, kThreads * kDocsPerThread);
}

// Each child opens its own store on the shared file, as worker processes do.
int WriteFromChildProcess(const std::string& path, int child, int docs) {
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return 2;
  for (int i = 0; i < docs; ++i) {
    auto ins = (*store)->documents().Insert(Doc("p" + std::to_string(child) + "-" + std::to_string(i)));
    if (!ins.ok()) return 3;
    if (!(*store)->documents().SetState(ins->id, {"chunking", "complete"}).ok()) return 4;
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
  auto stats = parent->telemetry().Stats();
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->documents_by_state["complete"], kChildren * kDocs);
}

TEST(SqliteStoreTest, HeldWriteLockMakesWritesUnavailableButNotReads) {
  testing::TempDir dir;
  SqliteStoreOptions options;
  options.busy_timeout_ms = 100;
  auto store = OpenMigrated(dir.path() + "/busy.db", options);
  ASSERT_NE(store, nullptr);
  auto ins = store->documents().Insert(Doc("busy"));
  ASSERT_STORE_OK(ins);

  testing::RawSqlite blocker(store->path());
  ASSERT_TRUE(blocker.Exec("BEGIN IMMEDIATE").ok());
  EXPECT_STORE_CODE(store->documents().SetState(ins->id, {"chunking", "embedding"}), kUnavailable);
  EXPECT_STORE_OK(store->documents().Get(ins->id));  // WAL: readers never wait for the writer
  ASSERT_TRUE(blocker.Exec("ROLLBACK").ok());
  EXPECT_STORE_OK(store->documents().SetState(ins->id, {"chunking", "embedding"}));
}

TEST(SqliteStoreTest, ReopeningKeepsData) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/keep.db";
  int64_t id = 0;
  {
    auto store = OpenMigrated(path);
    ASSERT_NE(store, nullptr);
    auto ins = store->documents().Insert(Doc("kept"));
    ASSERT_STORE_OK(ins);
    id = ins->id;
    Chunk c;
    c.content = "persisted";
    c.embedding = {0.5f, -1.25f};
    ASSERT_STORE_OK(store->chunks().Replace(id, {c}, {"chunking", "complete"}));
  }
  auto store = OpenMigrated(path);
  ASSERT_NE(store, nullptr);
  auto version = store->SchemaVersion();
  ASSERT_STORE_OK(version);
  EXPECT_EQ(*version, kSchemaVersion);
  auto doc = store->documents().Get(id);
  ASSERT_STORE_OK(doc);
  EXPECT_EQ(doc->state, "complete");
  auto chunks = store->chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_EQ((*chunks)[0].content, "persisted");
  EXPECT_EQ((*chunks)[0].embedding, (std::vector<float>{0.5f, -1.25f}));
}

TEST(SqliteStoreTest, EmbeddingsAreStoredAsLittleEndianFloat32) {
  EXPECT_EQ(EncodeFloats({1.0f}), std::string("\x00\x00\x80\x3f", 4));
  const std::vector<float> values = {-3.5f, 1e-30f, 7.0f};
  const std::string bytes = EncodeFloats(values);
  EXPECT_EQ(DecodeFloats(bytes.data(), bytes.size()), values);
}

}  // namespace
}  // namespace refinery

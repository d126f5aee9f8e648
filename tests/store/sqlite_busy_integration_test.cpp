// The SQLite busy handler against a real lock held by another connection:
// a write waits for a lock released within the busy timeout (it does not
// give up at once). The give-up side is in sqlite_store_test.cpp.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "store_backends.h"
#include "support/raw_sqlite.h"
#include "support/test_support.h"

namespace refinery {
namespace {

NewDocument Doc() {
  NewDocument d;
  d.content_hash = "wait";
  d.state = "chunking";
  d.title = "waiting";
  return d;
}

// The busy handler waits (it does not give up at once): a lock released
// well within the timeout lets the write through.
TEST(SqliteBusyTest, WriteWaitsForALockReleasedWithinTheBusyTimeout) {
  testing::TempDir dir;
  SqliteStoreOptions options;
  options.busy_timeout_ms = 5000;  // far above the 50 ms hold: only a hang would reach it
  auto opened = SqliteStore::Open(dir.path() + "/wait.db", options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  ASSERT_STORE_OK(store->Migrate());
  auto ins = store->documents().Insert(Doc());
  ASSERT_STORE_OK(ins);

  testing::RawSqlite blocker(store->path());
  ASSERT_TRUE(blocker.Exec("BEGIN IMMEDIATE").ok());
  std::atomic<bool> released{false};
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    released = true;
    EXPECT_TRUE(blocker.Exec("ROLLBACK").ok());
  });
  const Status written = store->documents().SetState(ins->id, {"chunking", "embedding"});
  const bool was_released = released.load();
  release.join();
  EXPECT_STORE_OK(written);
  EXPECT_TRUE(was_released) << "the write went through while the lock was held";
  EXPECT_EQ(store->documents().Get(ins->id)->state, "embedding");
}

}  // namespace
}  // namespace refinery

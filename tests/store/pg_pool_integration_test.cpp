// The self-healing pool against a real PostgreSQL server: terminated
// backends, retries, statement errors, exhaustion, exceptions, schema
// ownership and connection settings. Each test has a database of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pg_test_util.h"
#include "store/postgres_store.h"
#include "store_backends.h"
#include "support/process_util.h"

namespace refinery {
namespace {

using pg::Conn;
using pg::TxMode;

class PgPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = pgtest::FreshDatabaseUrl();
    ASSERT_STORE_OK(url);
    if (url->empty()) GTEST_SKIP() << "REFINERY_TEST_DATABASE_URL is not set";
    url_ = *url;
  }

  std::unique_ptr<PostgresStore> Open(const Config& config) {
    auto store = PostgresStore::Open(config);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<PostgresStore> OpenMigrated() {
    auto store = Open(pgtest::ConfigFor(url_));
    if (store != nullptr) EXPECT_STORE_OK(store->Migrate());
    return store;
  }
  int64_t InsertDoc(Store& store, const std::string& hash) {
    NewDocument doc;
    doc.content_hash = hash;
    doc.state = "chunking";
    auto r = store.documents().Insert(doc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : 0;
  }
  void Terminate() {
    auto killed = pgtest::TerminateAllBackends(url_);
    ASSERT_STORE_OK(killed);
  }

  std::string url_;
};

TEST_F(PgPoolTest, TerminatedBackendsBetweenCallsAreDetectedAndReplaced) {
  auto store = OpenMigrated();
  ASSERT_NE(store, nullptr);
  const int64_t id = InsertDoc(*store, "h1");

  // Right after use (inside the fresh window): caught by the quiet-socket
  // check or, at worst, by a retry. Either way every call succeeds.
  Terminate();
  const PoolStats before = store->GetPoolStats();
  for (int i = 0; i < 10; ++i) EXPECT_STORE_OK(store->documents().Get(id));
  const PoolStats mid = store->GetPoolStats();
  EXPECT_GT(mid.closed_dead, before.closed_dead);
  EXPECT_GT(mid.validation_failures + mid.retries, before.validation_failures + before.retries);

  // Idle past the fresh window: `SELECT 1` finds every pooled connection
  // dead, so the pool is rebuilt, and no unit of work needs a retry.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  Terminate();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < 10; ++i) EXPECT_STORE_OK(store->telemetry().Stats());
  const PoolStats after = store->GetPoolStats();
  EXPECT_GT(after.validation_failures, mid.validation_failures);
  EXPECT_GT(after.rebuilds, mid.rebuilds);
  EXPECT_EQ(after.retries, mid.retries);
  EXPECT_GT(after.created, mid.created);
  EXPECT_EQ(after.in_use, 0);
}

TEST_F(PgPoolTest, TerminationDuringAUnitOfWorkIsRolledBackAndRetried) {
  auto store = OpenMigrated();
  ASSERT_NE(store, nullptr);
  ASSERT_STORE_OK(pgtest::RawQuery(url_, "CREATE TABLE public.t (x INT)"));
  const int64_t retries_before = store->GetPoolStats().retries;
  int attempts = 0;
  Status s = store->pool().Run("test work", TxMode::kWrite, [&](Conn& c) -> Status {
    ++attempts;
    REFINERY_RETURN_IF_ERROR(c.Run("INSERT INTO public.t VALUES (1)"));
    if (attempts == 1) {
      auto pid = c.Exec("SELECT pg_backend_pid()");
      if (!pid.ok()) return pid.status();
      auto killed = pgtest::RawQuery(url_, "SELECT pg_terminate_backend(" + pid->Text(0, 0) + ")");
      if (!killed.ok()) return killed.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return c.Run("INSERT INTO public.t VALUES (2)");
  });
  EXPECT_STORE_OK(s);
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(store->GetPoolStats().retries, retries_before + 1);
  auto count = pgtest::RawQuery(url_, "SELECT COUNT(*) FROM public.t");
  ASSERT_STORE_OK(count);
  EXPECT_EQ(*count, "2");  // the first attempt's insert was rolled back
}

TEST_F(PgPoolTest, StatementErrorsAreNeverRetried) {
  auto store = OpenMigrated();
  ASSERT_NE(store, nullptr);
  ASSERT_STORE_OK(pgtest::RawQuery(url_, "CREATE TABLE public.u (x INT PRIMARY KEY)"));
  const PoolStats before = store->GetPoolStats();
  int attempts = 0;
  Status dup = store->pool().Run("dup", TxMode::kWrite, [&](Conn& c) -> Status {
    ++attempts;
    REFINERY_RETURN_IF_ERROR(c.Run("INSERT INTO public.u VALUES (1)"));
    return c.Run("INSERT INTO public.u VALUES (1)");
  });
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument) << dup.ToString();
  Status syntax = store->pool().Run("syntax", TxMode::kNone, [&](Conn& c) -> Status {
    ++attempts;
    return c.Run("SELEC 1");
  });
  EXPECT_EQ(syntax.code(), StatusCode::kInternal) << syntax.ToString();
  EXPECT_EQ(attempts, 2);
  const PoolStats after = store->GetPoolStats();
  EXPECT_EQ(after.retries, before.retries);
  EXPECT_EQ(after.closed_dead, before.closed_dead);  // the connections stay usable
  auto count = pgtest::RawQuery(url_, "SELECT COUNT(*) FROM public.u");
  ASSERT_STORE_OK(count);
  EXPECT_EQ(*count, "0");  // rolled back
}

TEST_F(PgPoolTest, ExhaustedPoolTimesOutWithUnavailableAndLeaksNothing) {
  Config config = pgtest::ConfigFor(url_);
  config.db_pool_max = 3;
  config.db_checkout_timeout_s = 0.3;
  auto store = Open(config);
  ASSERT_NE(store, nullptr);
  ASSERT_STORE_OK(store->Migrate());
  std::latch holding(config.db_pool_max);
  std::atomic<bool> release{false};
  std::vector<std::thread> holders;
  for (int i = 0; i < config.db_pool_max; ++i) {
    holders.emplace_back([&] {
      Status s = store->pool().Run("hold", TxMode::kNone, [&](Conn&) -> Status {
        holding.count_down();
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return Status::Ok();
      });
      EXPECT_STORE_OK(s);
    });
  }
  holding.wait();
  EXPECT_EQ(store->GetPoolStats().in_use, config.db_pool_max);
  const auto start = std::chrono::steady_clock::now();
  auto stats = store->telemetry().Stats();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(stats.status().code(), StatusCode::kUnavailable) << stats.status().ToString();
  EXPECT_GE(waited, 0.25);
  release = true;
  for (auto& t : holders) t.join();

  EXPECT_STORE_OK(store->telemetry().Stats());
  const PoolStats after = store->GetPoolStats();
  EXPECT_EQ(after.in_use, 0);
  EXPECT_EQ(after.idle, after.size);
  EXPECT_LE(after.size, config.db_pool_max);
  EXPECT_EQ(after.retries, 0);
}

TEST_F(PgPoolTest, ManyConcurrentCallersAreServedWithoutLeaks) {
  auto store = OpenMigrated();
  ASSERT_NE(store, nullptr);
  const int64_t id = InsertDoc(*store, "c");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {  // three times the pool's 4 connections
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (!store->documents().Get(id).ok() || !store->telemetry().Stats().ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  const PoolStats s = store->GetPoolStats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_LE(s.size, 4);
  EXPECT_EQ(s.idle, s.size);
}

TEST_F(PgPoolTest, AnExceptionInAUnitOfWorkDiscardsTheConnection) {
  auto store = OpenMigrated();
  ASSERT_NE(store, nullptr);
  EXPECT_THROW(
      (void)store->pool().Run("throws", TxMode::kWrite, [](Conn&) -> Status { throw std::runtime_error("boom"); }),
      std::runtime_error);
  const PoolStats s = store->GetPoolStats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.idle, s.size);
  EXPECT_STORE_OK(store->Ping());  // no connection left mid-transaction in the pool
}

TEST_F(PgPoolTest, ForeignRefinerySchemaIsRefused) {
  ASSERT_STORE_OK(pgtest::RawQuery(url_, "CREATE SCHEMA refinery"));
  ASSERT_STORE_OK(pgtest::RawQuery(url_, "CREATE TABLE refinery.customers (id INT)"));
  auto store = Open(pgtest::ConfigFor(url_));
  ASSERT_NE(store, nullptr);
  Status s = store->Migrate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("holds tables Refinery does not own (customers)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("DATABASE_URL"), std::string::npos);
  EXPECT_EQ(store->SchemaVersion().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetPoolStats().retries, 0);
}

TEST_F(PgPoolTest, ConcurrentMigrationsApplyEachVersionOnce) {
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(Open(pgtest::ConfigFor(url_)));
  std::latch start(4);
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = stores[i]->Migrate();
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_STORE_OK(s);
  auto rows = pgtest::RawQuery(url_, "SELECT COUNT(*) FROM refinery.schema_migrations");
  ASSERT_STORE_OK(rows);
  EXPECT_EQ(*rows, std::to_string(kSchemaVersion));
  auto version = stores[0]->SchemaVersion();
  ASSERT_STORE_OK(version);
  EXPECT_EQ(*version, kSchemaVersion);
}

// Connections go to waiters in arrival order: a caller that returns its
// connection and at once asks again queues behind the callers already
// waiting, instead of taking it straight back (before, such callers won
// every race and one request in a hundred waited 0.5 s under load).
TEST_F(PgPoolTest, WaitersAreServedFirstComeFirstServed) {
  Config config = pgtest::ConfigFor(url_);
  config.db_pool_min = 1;
  config.db_pool_max = 1;
  config.db_checkout_timeout_s = 10;
  auto store = Open(config);
  ASSERT_NE(store, nullptr);
  std::mutex order_mu;
  std::vector<std::string> order;
  auto take = [&](const std::string& who) {
    return store->pool().Run("take", TxMode::kNone, [&](Conn&) -> Status {
      std::lock_guard lock(order_mu);
      order.push_back(who);
      return Status::Ok();
    });
  };
  auto waiting_is = [&](int64_t n) {
    return testing::WaitUntil([&] { return store->GetPoolStats().waiting == n; }, std::chrono::seconds(10));
  };
  std::atomic<bool> release{false};
  std::latch holding(1);
  std::thread first([&] {
    EXPECT_STORE_OK(store->pool().Run("hold", TxMode::kNone, [&](Conn&) -> Status {
      holding.count_down();
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return Status::Ok();
    }));
    EXPECT_STORE_OK(take("first again"));  // returned a moment ago, asks again
  });
  holding.wait();
  std::thread second([&] { EXPECT_STORE_OK(take("second")); });
  ASSERT_TRUE(waiting_is(1));
  std::thread third([&] { EXPECT_STORE_OK(take("third")); });
  ASSERT_TRUE(waiting_is(2));
  release = true;
  for (std::thread* t : {&first, &second, &third}) t->join();
  EXPECT_EQ(order, (std::vector<std::string>{"second", "third", "first again"}));
  const PoolStats after = store->GetPoolStats();
  EXPECT_EQ(after.waiting, 0);
  EXPECT_EQ(after.in_use, 0);
}

TEST_F(PgPoolTest, ChunksGetAFullTextVector) {
  auto store = OpenMigrated();
  ASSERT_NE(store, nullptr);
  const int64_t id = InsertDoc(*store, "fts");
  Chunk c;
  c.content = "Refineries distill crude oil";
  ASSERT_STORE_OK(store->chunks().Replace(id, {c}, {"chunking", "embedding"}));
  auto hit =
      pgtest::RawQuery(url_, "SELECT COUNT(*) FROM refinery.chunks WHERE tsv @@ to_tsquery('english', 'distilling')");
  ASSERT_STORE_OK(hit);
  EXPECT_EQ(*hit, "1");
}

// The value of `key` in a live connection's settings.
std::string ConnOption(PGconn* conn, const std::string& key) {
  PQconninfoOption* options = PQconninfo(conn);
  std::string value;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (key == o->keyword && o->val != nullptr) value = o->val;
  }
  PQconninfoFree(options);
  return value;
}

TEST_F(PgPoolTest, ConnectionsCarryKeepalivesAndTheStatementTimeout) {
  auto store = Open(pgtest::ConfigFor(url_));
  ASSERT_NE(store, nullptr);
  auto lease = store->pool().Checkout(pg::After(2));
  ASSERT_STORE_OK(lease);
  PGconn* raw = (*lease)->raw();
  EXPECT_EQ(ConnOption(raw, "connect_timeout"), "10");
  EXPECT_EQ(ConnOption(raw, "keepalives"), "1");
  EXPECT_EQ(ConnOption(raw, "keepalives_idle"), "30");
  EXPECT_EQ(ConnOption(raw, "keepalives_interval"), "10");
  EXPECT_EQ(ConnOption(raw, "keepalives_count"), "5");
  auto timeout = (*lease)->Exec("SHOW statement_timeout");
  ASSERT_STORE_OK(timeout);
  EXPECT_EQ(timeout->Text(0, 0), "5s");
}

TEST_F(PgPoolTest, UrlParametersOverrideTheDefaults) {
  auto store = Open(pgtest::ConfigFor(url_ + "?keepalives_idle=7&connect_timeout=3"));
  ASSERT_NE(store, nullptr);
  auto lease = store->pool().Checkout(pg::After(2));
  ASSERT_STORE_OK(lease);
  EXPECT_EQ(ConnOption((*lease)->raw(), "keepalives_idle"), "7");
  EXPECT_EQ(ConnOption((*lease)->raw(), "connect_timeout"), "3");
  EXPECT_EQ(ConnOption((*lease)->raw(), "keepalives_count"), "5");
}

TEST_F(PgPoolTest, OpenStoreChoosesPostgresForItsUrls) {
  Config config = pgtest::ConfigFor(url_);
  auto store = OpenStore(config);
  ASSERT_STORE_OK(store);
  EXPECT_NE(dynamic_cast<PostgresStore*>(store->get()), nullptr);
  EXPECT_STORE_OK((*store)->Migrate());
  config.database_url = "postgres://" + url_.substr(std::string("postgresql://").size());
  auto alias = OpenStore(config);
  ASSERT_STORE_OK(alias);
  EXPECT_STORE_OK((*alias)->Ping());
}

}  // namespace
}  // namespace refinery

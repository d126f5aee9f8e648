// Issue 10's deadline for connection kills: with every connection killed
// once a second, /stats must keep a p99 under 50 ms, so a unit of work
// whose connection was killed under it is re-run at once on a fresh
// connection -- the back-off delay (here a deliberately long 1 s) is only
// for failing to connect. Asserted with 2x slack: 100 ms.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pg_test_util.h"
#include "store/postgres_store.h"
#include "store_backends.h"

namespace refinery {
namespace {

using Clock = std::chrono::steady_clock;

TEST(PgPoolTiming, AUnitOfWorkWhoseConnectionWasKilledIsRerunAtOnce) {
  auto url = pgtest::FreshDatabaseUrl();
  ASSERT_STORE_OK(url);
  if (url->empty()) GTEST_SKIP() << "REFINERY_TEST_DATABASE_URL is not set";
  Config config = pgtest::ConfigFor(*url);
  config.db_retry_base_delay_s = 1.0;
  auto store = PostgresStore::Open(config);
  ASSERT_STORE_OK(store);
  ASSERT_STORE_OK((*store)->Migrate());
  for (int round = 0; round < 5; ++round) {
    ASSERT_STORE_OK((*store)->telemetry().Stats());  // a pooled connection, warm
    int attempts = 0;
    const auto start = Clock::now();
    Status s = (*store)->pool().Run("timed work", pg::TxMode::kNone, [&](pg::Conn& c) -> Status {
      if (++attempts == 1) {
        auto pid = c.Exec("SELECT pg_backend_pid()");
        if (!pid.ok()) return pid.status();
        auto killed = pgtest::RawQuery(*url, "SELECT pg_terminate_backend(" + pid->Text(0, 0) + ")");
        if (!killed.ok()) return killed.status();
        // The backend exits asynchronously; let it (within the 100 ms).
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
      return c.Run("SELECT 1");
    });
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_STORE_OK(s);
    EXPECT_EQ(attempts, 2);
    EXPECT_LT(took.count(), 100) << "round " << round << ": the re-run waited";
  }
}

}  // namespace
}  // namespace refinery

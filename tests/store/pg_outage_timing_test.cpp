// PostgreSQL stopped and started again under the store: every call during
// the outage fails Unavailable within 2 s (the API's 503 budget), and calls
// succeed again once the server is back. Stops the whole test server, so it
// is a timing test: ctest runs those one at a time.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "pg_test_util.h"
#include "store/postgres_store.h"
#include "store_backends.h"

namespace refinery {
namespace {

bool PgCtl(const std::string& action) {
  const std::string cmd = "eval \"$REFINERY_TEST_PG_CTL " + action + "\" >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Starts the server again however the test ends.
struct RestartGuard {
  bool stopped = false;
  ~RestartGuard() {
    if (stopped) PgCtl("start");
  }
};

double Seconds(const std::function<Status()>& call, Status* out) {
  const auto start = std::chrono::steady_clock::now();
  *out = call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(PgOutageTimingTest, CallsFailFastWhileDownAndRecoverAfter) {
  if (std::getenv("REFINERY_TEST_PG_CTL") == nullptr) GTEST_SKIP() << "no test server control";
  auto url = pgtest::FreshDatabaseUrl();
  ASSERT_STORE_OK(url);
  if (url->empty()) GTEST_SKIP() << "REFINERY_TEST_DATABASE_URL is not set";
  Config config = pgtest::ConfigFor(*url);
  config.db_retry_base_delay_s = 0.5;  // the production default: the budget must still hold
  auto store = PostgresStore::Open(config);
  ASSERT_STORE_OK(store);
  ASSERT_STORE_OK((*store)->Migrate());
  NewDocument doc;
  doc.content_hash = "outage";
  doc.state = "chunking";
  auto inserted = (*store)->documents().Insert(doc);
  ASSERT_STORE_OK(inserted);

  RestartGuard guard;
  ASSERT_TRUE(PgCtl("stop"));
  guard.stopped = true;
  const std::vector<std::function<Status()>> calls = {
      [&] { return (*store)->documents().Get(inserted->id).status(); },
      [&] { return (*store)->telemetry().Stats().status(); },
      [&] { return (*store)->documents().Insert(doc).status(); },
      [&] { return (*store)->Ping(); },
  };
  for (int round = 0; round < 2; ++round) {
    for (const auto& call : calls) {
      Status s;
      const double took = Seconds(call, &s);
      EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
      EXPECT_LT(took, 2.0) << s.ToString();
    }
  }
  EXPECT_GT((*store)->GetPoolStats().retries, 0);

  ASSERT_TRUE(PgCtl("start"));
  guard.stopped = false;
  Status s;
  const double took = Seconds([&] { return (*store)->documents().Get(inserted->id).status(); }, &s);
  EXPECT_STORE_OK(s);
  EXPECT_LT(took, 2.0);
  for (const auto& call : calls) EXPECT_STORE_OK(call());
  const PoolStats after = (*store)->GetPoolStats();
  EXPECT_EQ(after.in_use, 0);
  EXPECT_GT(after.closed_dead, 0);
}

}  // namespace
}  // namespace refinery

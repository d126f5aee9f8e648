// The Redis connection pool against a real Redis server: waiters are served
// first come, first served, and an exhausted pool answers Unavailable after
// its checkout timeout, leaving no one queued. Skipped when
// REFINERY_TEST_REDIS_URL is unset (scripts/test-services.sh).
#include "queue/redis_conn.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/process_util.h"

namespace refinery::redis {
namespace {

using namespace std::chrono_literals;

std::optional<Endpoint> TestEndpoint() {
  const char* url = std::getenv("REFINERY_TEST_REDIS_URL");
  if (url == nullptr) return std::nullopt;
  auto endpoint = ParseRedisUrl(url);
  if (!endpoint.ok()) return std::nullopt;
  return *endpoint;
}

// Served in arrival order: a caller that returns its connection and at once
// asks again queues behind the callers already waiting.
TEST(RedisPoolTest, WaitersAreServedFirstComeFirstServed) {
  auto endpoint = TestEndpoint();
  if (!endpoint) GTEST_SKIP() << "REFINERY_TEST_REDIS_URL is not set";
  PoolOptions options;
  options.max_connections = 1;
  options.checkout_timeout_ms = 10000;
  Pool pool(*endpoint, options);
  std::mutex order_mu;
  std::vector<std::string> order;
  auto take = [&](const std::string& who) {
    Result<Pool::Lease> lease = pool.Checkout();
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    ASSERT_TRUE((*lease)->Command({"PING"}).ok());
    std::lock_guard lock(order_mu);
    order.push_back(who);
  };
  auto waiting_is = [&](size_t n) {
    return testing::WaitUntil([&] { return pool.Waiting() == n; }, std::chrono::milliseconds(10000));
  };

  std::optional<Result<Pool::Lease>> held(pool.Checkout());
  ASSERT_TRUE(held->ok()) << held->status().ToString();
  std::thread second([&] { take("second"); });
  ASSERT_TRUE(waiting_is(1));
  std::thread third([&] { take("third"); });
  ASSERT_TRUE(waiting_is(2));
  held.reset();  // returned, and asked for again right away
  take("first again");
  second.join();
  third.join();
  EXPECT_EQ(order, (std::vector<std::string>{"second", "third", "first again"}));
  EXPECT_EQ(pool.Waiting(), 0u);
}

TEST(RedisPoolTest, ExhaustedPoolIsUnavailableAfterTheCheckoutTimeout) {
  auto endpoint = TestEndpoint();
  if (!endpoint) GTEST_SKIP() << "REFINERY_TEST_REDIS_URL is not set";
  PoolOptions options;
  options.max_connections = 1;
  options.checkout_timeout_ms = 100;
  Pool pool(*endpoint, options);
  Result<Pool::Lease> held = pool.Checkout();
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  Result<Pool::Lease> none = pool.Checkout();
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable) << none.status().ToString();
  EXPECT_EQ(pool.Waiting(), 0u);
}

}  // namespace
}  // namespace refinery::redis

// /health must answer within its deadline even when a dependency hangs: the
// store's Ping blocks for 5 s here, and /health must say 503 "degraded"
// within 1.5 s of the request (the deadline is 1 s, plus slack for
// a loaded machine).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "api_test_util.h"
#include "forwarding_store.h"

namespace refinery {
namespace {

using Clock = std::chrono::steady_clock;

// Blocks callers until released or until the timeout passes. Shared, so a
// Ping still waiting when its store is destroyed only touches the gate.
class Gate {
 public:
  void Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    released_cv_.wait_for(lock, timeout, [this] { return released_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    released_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
};

// The real store, except that Ping hangs for 5 s (a dead database socket).
class HangingStore : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  ~HangingStore() override { gate_->Release(); }

  Status Ping() override {
    auto gate = gate_;  // after the wait, touch nothing of `this`
    gate->Wait(std::chrono::seconds(5));
    return Status::Unavailable("ping hung");
  }

 private:
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
};

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

TEST(HealthTimingTest, HungStoreMakesHealthDegradedWithinDeadline) {
  testing::TempDir dir;
  Services services = testing::OpenTestServices(testing::TestConfig(dir));
  services.store = std::make_unique<HangingStore>(std::move(services.store));
  testing::RunningServer server(services);

  auto start = Clock::now();
  testing::ApiReply health = server.Call("GET", "/health", "", /*timeout_s=*/5);
  double took = SecondsSince(start);
  EXPECT_LT(took, 1.5);
  ASSERT_EQ(health.status, 503) << health.raw;
  EXPECT_EQ(health.body["status"], "degraded");
  const auto& store = health.body["components"]["store"];
  EXPECT_EQ(store["status"], "down");
  EXPECT_NE(store["error"].get<std::string>().find("timeout"), std::string::npos) << store;
  EXPECT_EQ(health.body["components"]["queue"]["status"], "up");
  EXPECT_EQ(health.body["components"]["blob_store"]["status"], "up");

  // Later requests stay fast while the check is still stuck.
  start = Clock::now();
  testing::ApiReply again = server.Call("GET", "/health", "", 5);
  EXPECT_LT(SecondsSince(start), 1.5);
  EXPECT_EQ(again.status, 503);

  start = Clock::now();
  testing::ApiReply ready = server.Call("GET", "/health/ready", "", 5);
  EXPECT_LT(SecondsSince(start), 1.5);
  EXPECT_EQ(ready.status, 503) << ready.raw;
  EXPECT_EQ(ready.body["status"], "not_ready");

  testing::ApiReply live = server.Call("GET", "/health/live", "", 5);
  EXPECT_EQ(live.status, 200);

  // Shutdown does not wait for the hung check to end (it is detached after a
  // grace period, and ends when the store releases it).
  start = Clock::now();
  server.Shutdown();
  EXPECT_LT(SecondsSince(start), 3.0);
}

}  // namespace
}  // namespace refinery

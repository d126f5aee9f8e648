// The coalescing embedder's linger (real threads and clocks, hence an
// integration test): a call waits for more texts until its batch is full
// or its oldest caller has waited `linger`, never longer.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "llm/embedder.h"

namespace refinery {
namespace {

using std::chrono::milliseconds;

// Records the size of every call; answers at once.
class RecordingEmbedder : public Embedder {
 public:
  explicit RecordingEmbedder(std::vector<size_t>* calls, std::mutex* mu) : calls_(calls), mu_(mu) {}
  int Dimension() const override { return 1; }
  std::string Name() const override { return "recording"; }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    std::lock_guard lock(*mu_);
    calls_->push_back(texts.size());
    return std::vector<std::vector<float>>(texts.size(), std::vector<float>{1.0f});
  }

 private:
  std::vector<size_t>* calls_;
  std::mutex* mu_;
};

TEST(CoalescingLinger, ALateCallerJoinsTheLingeringCallUntilTheBatchIsFull) {
  std::vector<size_t> calls;
  std::mutex mu;
  auto embedder = MakeCoalescingEmbedder(std::make_unique<RecordingEmbedder>(&calls, &mu), 4, 2, milliseconds(30000));
  std::thread first([&] { EXPECT_TRUE(embedder->Embed({"a", "b"}).ok()); });
  std::this_thread::sleep_for(milliseconds(50));  // the first caller is lingering now
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(calls.empty()) << "the call went before its batch was full or its linger over";
  }
  auto second = embedder->Embed({"c", "d"});  // fills the batch: both go at once
  first.join();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->size(), 2u);
  EXPECT_EQ(calls, std::vector<size_t>{4});
}

TEST(CoalescingLinger, ALoneCallerGoesOnceItsLingerIsOver) {
  std::vector<size_t> calls;
  std::mutex mu;
  auto embedder = MakeCoalescingEmbedder(std::make_unique<RecordingEmbedder>(&calls, &mu), 64, 2, milliseconds(100));
  const auto started = std::chrono::steady_clock::now();
  auto vectors = embedder->Embed({"alone"});
  ASSERT_TRUE(vectors.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(100));
  EXPECT_EQ(calls, std::vector<size_t>{1});
}

}  // namespace
}  // namespace refinery

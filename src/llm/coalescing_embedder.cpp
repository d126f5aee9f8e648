// Batching across documents: the embed stage's consumer threads each hold
// one document (a SciFact abstract is about two chunks), so calls of their
// own would carry two texts. Here concurrent Embed calls are merged into
// one call of up to `batch_texts` texts; each caller still gets its own
// vectors back (and so each job still writes and acknowledges alone).
#include <condition_variable>
#include <deque>
#include <mutex>

#include "llm/embedder.h"

namespace refinery {
namespace {

class CoalescingEmbedder final : public Embedder {
 public:
  CoalescingEmbedder(std::unique_ptr<Embedder> inner, int batch_texts, int max_calls, std::chrono::milliseconds linger)
      : inner_(std::move(inner)),
        batch_texts_(std::max(1, batch_texts)),
        max_calls_(std::max(1, max_calls)),
        linger_(std::max(std::chrono::milliseconds(0), linger)) {}

  int Dimension() const override { return inner_->Dimension(); }
  std::string Name() const override { return inner_->Name(); }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    Request mine{&texts, {}, Status::Ok(), false, Clock::now()};
    std::unique_lock lock(mutex_);
    pending_.push_back(&mine);
    pending_texts_ += texts.size();
    answered_.notify_all();  // a lingering leader may now have a full batch
    // Wait until someone has answered this request, or until a call slot is
    // free and the head of the line is ready: then lead one call for it
    // (while every slot is busy, the line grows: that is the batching).
    while (!mine.done) {
      if (calls_ >= max_calls_ || pending_.empty()) {
        answered_.wait(lock);
        continue;
      }
      const Clock::time_point due = pending_.front()->arrived + linger_;
      if (pending_texts_ >= static_cast<size_t>(batch_texts_) || Clock::now() >= due) {
        Lead(lock);
      } else {
        answered_.wait_until(lock, due);
      }
    }
    if (!mine.status.ok()) return mine.status;
    return std::move(mine.vectors);
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Request {
    const std::vector<std::string>* texts;
    std::vector<std::vector<float>> vectors;
    Status status;
    bool done;
    Clock::time_point arrived;
  };

  // REQUIRES: lock held; returns with it held.
  void Lead(std::unique_lock<std::mutex>& lock) {
    std::vector<Request*> batch;
    std::vector<std::string> texts;
    while (!pending_.empty()) {
      Request* next = pending_.front();
      const size_t size = next->texts->size();
      if (!batch.empty() && texts.size() + size > static_cast<size_t>(batch_texts_)) break;
      batch.push_back(next);
      texts.insert(texts.end(), next->texts->begin(), next->texts->end());
      pending_.pop_front();
      pending_texts_ -= size;
    }
    ++calls_;
    lock.unlock();
    auto vectors = inner_->Embed(texts);
    lock.lock();
    --calls_;
    if (vectors.ok() && vectors->size() != texts.size()) {
      vectors = Status::Internal(inner_->Name() + ": " + std::to_string(vectors->size()) + " vectors for " +
                                 std::to_string(texts.size()) + " texts");
    }
    size_t at = 0;
    for (Request* r : batch) {
      if (!vectors.ok()) {
        r->status = vectors.status();
      } else {
        for (size_t i = 0; i < r->texts->size(); ++i) r->vectors.push_back(std::move((*vectors)[at + i]));
        at += r->texts->size();
      }
      r->done = true;
    }
    answered_.notify_all();
  }

  std::unique_ptr<Embedder> inner_;
  const int batch_texts_;
  const int max_calls_;
  const std::chrono::milliseconds linger_;
  std::mutex mutex_;
  std::condition_variable answered_;
  std::deque<Request*> pending_;  // GUARDED_BY(mutex_): the callers waiting, oldest first
  size_t pending_texts_ = 0;      // GUARDED_BY(mutex_): texts of pending_
  int calls_ = 0;                 // GUARDED_BY(mutex_): calls in flight
};

}  // namespace

std::unique_ptr<Embedder> MakeCoalescingEmbedder(std::unique_ptr<Embedder> inner, int batch_texts, int max_calls,
                                                 std::chrono::milliseconds linger) {
  return std::make_unique<CoalescingEmbedder>(std::move(inner), batch_texts, max_calls, linger);
}

}  // namespace refinery

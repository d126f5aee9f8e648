// Pulling an Ollama model the server lacks (/api/pull), with progress.
// Opt-in per endpoint (REFINERY_EMBED_PULL, REFINERY_REASON_PULL): a model
// may be gigabytes, so nothing pulls unless asked. The API's health check
// starts a pull in the background (ModelPuller) and reports how far it got;
// `refinery pull` does it in the foreground.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "llm/llm_endpoint.h"

namespace refinery {

// One line of Ollama's pull stream.
struct PullProgress {
  std::string status;     // "pulling manifest", "pulling <digest>", "verifying sha256 digest", "success"
  int64_t completed = 0;  // bytes of the layer in transfer, when the line says
  int64_t total = 0;
  // "pulling 1a2b3c4d5e6f: 45% of 4.7 GB", or the status alone.
  std::string Describe() const;
};

// Pulls endpoint.config().model through /api/pull, streamed: `on_progress`
// sees each line as it arrives (returning false stops the pull, Unavailable).
// Ok once the server says "success". Otherwise the server's own error
// (Ollama streams it as a line after a 200), Unavailable when it cannot be
// reached, Timeout when no byte came for `stall_timeout_s`; InvalidArgument
// for an endpoint that is not Ollama. Hostile streams are errors: a line
// over 64 KiB, nested deeper than 8, or not a JSON object.
// `keep_going` (may be empty) is asked about once a second; false stops
// the pull even while no byte arrives.
Status PullModel(const LlmEndpoint& endpoint, const std::function<bool(const PullProgress&)>& on_progress,
                 const std::function<bool()>& keep_going = {}, double stall_timeout_s = 120);

// At most one background pull of an endpoint's model, for its health
// check. Thread-safe.
class ModelPuller {
 public:
  // After a failed pull, the next waits this long (the health check asks every few seconds).
  static constexpr double kRetryAfterFailureS = 30;

  explicit ModelPuller(const LlmEndpoint& endpoint);
  ~ModelPuller();  // stops a pull in flight and joins it
  ModelPuller(const ModelPuller&) = delete;
  ModelPuller& operator=(const ModelPuller&) = delete;

  // Starts a pull unless one runs (or failed within kRetryAfterFailureS);
  // says what is going on: "pulling qwen2.5:7b: pulling 1a2b..: 45% of 4.7 GB",
  // "pull of qwen2.5:7b failed: <why>; next try in 30 s".
  std::string Ensure();
  int pulls_started() const;

 private:
  void Run();

  const LlmEndpoint& endpoint_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  bool running_ = false;        // GUARDED_BY(mutex_)
  std::string state_;           // GUARDED_BY(mutex_): the latest progress or failure
  double failed_at_ = -1e9;     // GUARDED_BY(mutex_): monotonic seconds
  int pulls_started_ = 0;       // GUARDED_BY(mutex_)
  std::thread thread_;          // joined before the next starts and at destruction
};

// The endpoint's health from its free listing calls (InspectEndpoint).
// When the model is missing and `puller` is set (the pull opt-in), starts
// pulling it: still Unavailable, naming the model and the pull's progress.
Status EndpointHealth(LlmEndpoint& endpoint, ModelPuller* puller);

}  // namespace refinery

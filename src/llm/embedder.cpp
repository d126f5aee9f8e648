#include "llm/embedder.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace refinery {

Result<std::unique_ptr<Embedder>> OpenEmbedder(const Config& config, std::shared_ptr<LlmEndpoint> endpoint) {
  if (config.llm_embed.configured()) {
    if (endpoint == nullptr) return Status::Internal("OpenEmbedder: an embedding server is configured but no endpoint given");
    const LlmEndpointConfig& e = config.llm_embed;
    // One call more than the endpoint lets through at once: while a call
    // parses its answer (thousands of numbers), the next is already on the
    // wire, so the server's slots stay busy; the endpoint still caps the
    // requests in flight.
    return MakeCoalescingEmbedder(MakeRemoteEmbedder(std::move(endpoint)), e.batch_size, e.concurrency + 1,
                                  std::chrono::milliseconds(e.linger_ms));
  }
  if (config.embedding_dim <= 0) {
    return Status::InvalidArgument("REFINERY_EMBEDDING_DIM: expected a positive integer, got " +
                                   std::to_string(config.embedding_dim));
  }
  return MakeHashingEmbedder(config.embedding_dim);
}

float Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0.0f;  // a caller bug; 0 keeps ranking code simple
  double dot = 0, norm_a = 0, norm_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    norm_a += static_cast<double>(a[i]) * a[i];
    norm_b += static_cast<double>(b[i]) * b[i];
  }
  if (norm_a == 0 || norm_b == 0) return 0.0f;
  double cosine = dot / std::sqrt(norm_a * norm_b);
  return static_cast<float>(std::clamp(cosine, -1.0, 1.0));  // rounding can overshoot 1
}

}  // namespace refinery

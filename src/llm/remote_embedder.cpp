// Embedders over an LLM server: Ollama's /api/embed (batched; the older
// /api/embeddings, one text per call, on servers that lack it) and OpenAI's
// /v1/embeddings (batched). Delivery (retries, caps, breaker) is the
// endpoint's; here: building requests and checking answers strictly.
#include <atomic>
#include <cmath>

#include "llm/embedder.h"
#include "llm/llm_endpoint.h"

namespace refinery {
namespace {

using nlohmann::json;

// One vector of an answer, checked and L2-normalised (the Embedder
// contract; servers differ on whether they normalise).
Result<std::vector<float>> ReadVector(const json& value, const std::string& what) {
  if (!value.is_array() || value.empty()) return Status::InvalidArgument(what + ": an embedding is not a non-empty array");
  std::vector<float> out;
  out.reserve(value.size());
  double norm = 0;
  for (const json& x : value) {
    if (!x.is_number()) return Status::InvalidArgument(what + ": an embedding holds a non-number");
    const double v = x.get<double>();
    if (!std::isfinite(v)) return Status::InvalidArgument(what + ": an embedding holds a non-finite number");
    out.push_back(static_cast<float>(v));
    norm += v * v;
  }
  if (norm > 0) {
    const double scale = 1 / std::sqrt(norm);
    for (float& v : out) v = static_cast<float>(v * scale);
  }
  return out;
}

class RemoteEmbedder final : public Embedder {
 public:
  explicit RemoteEmbedder(std::shared_ptr<LlmEndpoint> endpoint) : endpoint_(std::move(endpoint)) {}

  int Dimension() const override { return dimension_.load(); }
  std::string Name() const override { return endpoint_->config().provider + ":" + endpoint_->config().model; }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    std::vector<std::vector<float>> out(texts.size());
    std::vector<size_t> asked;  // indexes of the non-empty texts: an empty one is the zero vector
    for (size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].find_first_not_of(" \t\r\n") != std::string::npos) asked.push_back(i);
    }
    const size_t batch = static_cast<size_t>(std::max(1, endpoint_->config().batch_size));
    for (size_t from = 0; from < asked.size(); from += batch) {
      std::vector<std::string> part;
      for (size_t k = from; k < std::min(asked.size(), from + batch); ++k) part.push_back(texts[asked[k]]);
      auto vectors = EmbedBatch(part);
      if (!vectors.ok()) return vectors.status();
      for (size_t k = 0; k < part.size(); ++k) out[asked[from + k]] = std::move((*vectors)[k]);
    }
    for (auto& v : out) {
      if (v.empty()) v.assign(static_cast<size_t>(std::max(0, dimension_.load())), 0.0f);
    }
    return out;
  }

 private:
  Result<std::vector<std::vector<float>>> EmbedBatch(const std::vector<std::string>& texts) {
    Result<std::vector<std::vector<float>>> got =
        endpoint_->config().provider == "openai" ? OpenAi(texts) : (legacy_.load() ? OllamaLegacy(texts) : Ollama(texts));
    if (got.ok()) got = Checked(std::move(got).value());
    return got;
  }

  // Every vector of one length, and the same length as before: a model
  // swapped on the server under the same name must not mix vector spaces.
  Result<std::vector<std::vector<float>>> Checked(std::vector<std::vector<float>> vectors) {
    for (const auto& v : vectors) {
      int expected = dimension_.load();
      if (expected == 0 && dimension_.compare_exchange_strong(expected, static_cast<int>(v.size()))) continue;
      if (static_cast<int>(v.size()) != dimension_.load()) {
        endpoint_->CountBadAnswer();
        return Status::InvalidArgument(endpoint_->role() + ": model '" + endpoint_->config().model + "' answered a " +
                                       std::to_string(v.size()) + "-dimensional vector after " +
                                       std::to_string(dimension_.load()) + "-dimensional ones");
      }
    }
    return vectors;
  }

  Result<std::vector<std::vector<float>>> Ollama(const std::vector<std::string>& texts) {
    const json body = {{"model", endpoint_->config().model}, {"input", texts}, {"truncate", true}};
    auto answer = endpoint_->Post("/api/embed", body);
    if (answer.status().code() == StatusCode::kNotFound) {  // a server older than /api/embed (Ollama < 0.3)
      legacy_ = true;
      return OllamaLegacy(texts);
    }
    if (!answer.ok()) return answer.status();
    const std::string what = endpoint_->role() + " /api/embed";
    if (!answer->is_object() || !(*answer)["embeddings"].is_array() || (*answer)["embeddings"].size() != texts.size()) {
      endpoint_->CountBadAnswer();
      return Status::InvalidArgument(what + ": expected " + std::to_string(texts.size()) + " embeddings");
    }
    if ((*answer)["prompt_eval_count"].is_number_integer()) endpoint_->CountTokens((*answer)["prompt_eval_count"].get<int64_t>());
    return ReadAll((*answer)["embeddings"], what);
  }

  Result<std::vector<std::vector<float>>> OllamaLegacy(const std::vector<std::string>& texts) {
    std::vector<std::vector<float>> out;
    const std::string what = endpoint_->role() + " /api/embeddings";
    for (const std::string& text : texts) {
      auto answer = endpoint_->Post("/api/embeddings", {{"model", endpoint_->config().model}, {"prompt", text}});
      if (!answer.ok()) return answer.status();
      auto v = ReadVector(answer->is_object() ? (*answer)["embedding"] : json(), what);
      if (!v.ok()) {
        endpoint_->CountBadAnswer();
        return v.status();
      }
      out.push_back(std::move(v).value());
    }
    return out;
  }

  Result<std::vector<std::vector<float>>> OpenAi(const std::vector<std::string>& texts) {
    auto answer = endpoint_->Post("/v1/embeddings", {{"model", endpoint_->config().model}, {"input", texts}});
    if (!answer.ok()) return answer.status();
    const std::string what = endpoint_->role() + " /v1/embeddings";
    if (!answer->is_object() || !(*answer)["data"].is_array() || (*answer)["data"].size() != texts.size()) {
      endpoint_->CountBadAnswer();
      return Status::InvalidArgument(what + ": expected " + std::to_string(texts.size()) + " embeddings");
    }
    const json& prompt_tokens = JsonField(JsonField(*answer, "usage"), "prompt_tokens");
    if (prompt_tokens.is_number_integer()) endpoint_->CountTokens(prompt_tokens.get<int64_t>());
    std::vector<json> ordered((*answer)["data"].size());
    for (const json& item : (*answer)["data"]) {  // by "index": the order is not promised
      const json index = item.is_object() ? item.value("index", json()) : json();
      if (!index.is_number_unsigned() || index.get<size_t>() >= ordered.size() || !ordered[index.get<size_t>()].is_null()) {
        endpoint_->CountBadAnswer();
        return Status::InvalidArgument(what + ": an item has a missing, repeated or out-of-range index");
      }
      ordered[index.get<size_t>()] = JsonField(item, "embedding");
    }
    return ReadAll(json(ordered), what);
  }

  Result<std::vector<std::vector<float>>> ReadAll(const json& arrays, const std::string& what) {
    std::vector<std::vector<float>> out;
    out.reserve(arrays.size());
    for (const json& a : arrays) {
      auto v = ReadVector(a, what);
      if (!v.ok()) {
        endpoint_->CountBadAnswer();
        return v.status();
      }
      out.push_back(std::move(v).value());
    }
    return out;
  }

  std::shared_ptr<LlmEndpoint> endpoint_;
  std::atomic<int> dimension_{0};  // learned from the first answer
  std::atomic<bool> legacy_{false};
};

}  // namespace

std::unique_ptr<Embedder> MakeRemoteEmbedder(std::shared_ptr<LlmEndpoint> endpoint) {
  return std::make_unique<RemoteEmbedder>(std::move(endpoint));
}

}  // namespace refinery

// PostgresStore's EmbeddingCache: one row per (model, text hash); a lookup
// is one round trip for the whole batch.
#include <unordered_map>

#include "core/clock.h"
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::TxMode;

namespace {

constexpr const char* kGetVectors =
    "SELECT text_hash, vector FROM refinery.embedding_cache WHERE model = $1 AND text_hash = ANY($2::text[])";
constexpr const char* kPutVector =
    "INSERT INTO refinery.embedding_cache (model, text_hash, vector, created_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (model, text_hash) DO NOTHING";

// "{a1,b2}": a text[] literal; the front checked every hash is hex, so
// nothing needs quoting.
std::string HashArray(const std::vector<std::string>& hashes) {
  std::string out = "{";
  for (const std::string& h : hashes) out += (out.size() > 1 ? "," : "") + h;
  return out + "}";
}

class PgEmbeddingCache final : public EmbeddingCache {
 public:
  explicit PgEmbeddingCache(pg::Pool& pool) : pool_(pool) {}

 protected:
  Result<std::vector<std::vector<float>>> DoGet(const std::string& model,
                                                const std::vector<std::string>& hashes) override {
    std::vector<std::vector<float>> vectors;
    Status s = pool_.Run("get cached embeddings", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kGetVectors, Params(model, HashArray(hashes)));
      if (!rows.ok()) return rows.status();
      std::unordered_map<std::string, size_t> slot;
      for (size_t i = 0; i < hashes.size(); ++i) slot.emplace(hashes[i], i);
      vectors.assign(hashes.size(), {});
      for (int i = 0; i < rows->size(); ++i) {
        auto it = slot.find(rows->Text(i, 0));
        if (it != slot.end()) vectors[it->second] = rows->Floats(i, 1);
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return vectors;
  }

  Status DoPut(const std::string& model, const CachedVectors& entries) override {
    const double now = NowSeconds();
    return pool_.Run("put cached embeddings", TxMode::kWrite, [&](Conn& c) -> Status {
      for (const auto& [hash, vector] : entries) {
        REFINERY_RETURN_IF_ERROR(c.Run(kPutVector, Params(model, hash, vector, now)));
      }
      return Status::Ok();
    });
  }

 private:
  pg::Pool& pool_;
};

}  // namespace

std::unique_ptr<EmbeddingCache> NewEmbeddingCache(pg::Pool& pool) { return std::make_unique<PgEmbeddingCache>(pool); }

}  // namespace refinery::postgres_store_internal

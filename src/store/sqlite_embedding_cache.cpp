// SqliteStore's EmbeddingCache: one row per (model, text hash), vectors in
// the same float32 bytes as chunk embeddings.
#include "core/clock.h"
#include "store/sqlite_store_internal.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr const char* kGetVector = "SELECT vector FROM embedding_cache WHERE model = ?1 AND text_hash = ?2";
constexpr const char* kPutVector =
    "INSERT INTO embedding_cache (model, text_hash, vector, created_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (model, text_hash) DO NOTHING";

class SqliteEmbeddingCache final : public EmbeddingCache {
 public:
  explicit SqliteEmbeddingCache(SqliteDb& db) : db_(db) {}

 protected:
  Result<std::vector<std::vector<float>>> DoGet(const std::string& model,
                                                const std::vector<std::string>& hashes) override {
    std::vector<std::vector<float>> vectors;
    Status s = db_.Read([&](Connection& c) -> Status {
      vectors.assign(hashes.size(), {});
      for (size_t i = 0; i < hashes.size(); ++i) {
        auto stmt = c.Prepare(kGetVector);
        if (!stmt.ok()) return stmt.status();
        REFINERY_RETURN_IF_ERROR(
            ForEachRow(stmt->Bind(model, hashes[i]), [&](const Statement& row) { vectors[i] = row.Floats(0); }));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return vectors;
  }

  Status DoPut(const std::string& model, const CachedVectors& entries) override {
    const double now = NowSeconds();
    return db_.Write([&](Connection& c) -> Status {
      for (const auto& [hash, vector] : entries) {
        auto stmt = c.Prepare(kPutVector);
        if (!stmt.ok()) return stmt.status();
        REFINERY_RETURN_IF_ERROR(stmt->Bind(model, hash, vector, now).Run());
      }
      return Status::Ok();
    });
  }

 private:
  SqliteDb& db_;
};

}  // namespace

std::unique_ptr<EmbeddingCache> NewEmbeddingCache(SqliteDb& db) { return std::make_unique<SqliteEmbeddingCache>(db); }

}  // namespace refinery::sqlite_store_internal

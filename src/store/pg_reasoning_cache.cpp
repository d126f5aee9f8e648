// PostgresStore's ReasoningCache: one row per request hash.
#include "core/clock.h"
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::TxMode;

namespace {

constexpr const char* kGetAnswer = "SELECT answer FROM refinery.llm_answers WHERE request_hash = $1";
constexpr const char* kPutAnswer =
    "INSERT INTO refinery.llm_answers (request_hash, model, answer, created_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (request_hash) DO NOTHING";

class PgReasoningCache final : public ReasoningCache {
 public:
  explicit PgReasoningCache(pg::Pool& pool) : pool_(pool) {}

 protected:
  Result<std::optional<std::string>> DoGet(const std::string& request_hash) override {
    std::optional<std::string> answer;
    Status s = pool_.Run("get cached answer", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kGetAnswer, Params(request_hash));
      if (!rows.ok()) return rows.status();
      answer.reset();
      if (rows->size() > 0) answer = rows->Text(0, 0);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return answer;
  }

  Status DoPut(const std::string& request_hash, const std::string& model, const std::string& answer) override {
    const double now = NowSeconds();
    return pool_.Run("put cached answer", TxMode::kWrite,
                     [&](Conn& c) { return c.Run(kPutAnswer, Params(request_hash, model, answer, now)); });
  }

 private:
  pg::Pool& pool_;
};

}  // namespace

std::unique_ptr<ReasoningCache> NewReasoningCache(pg::Pool& pool) { return std::make_unique<PgReasoningCache>(pool); }

}  // namespace refinery::postgres_store_internal

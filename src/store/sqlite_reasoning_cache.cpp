// SqliteStore's ReasoningCache: one row per request hash.
#include "core/clock.h"
#include "store/sqlite_store_internal.h"

namespace refinery::sqlite_store_internal {

using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr const char* kGetAnswer = "SELECT answer FROM llm_answers WHERE request_hash = ?1";
constexpr const char* kPutAnswer =
    "INSERT INTO llm_answers (request_hash, model, answer, created_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (request_hash) DO NOTHING";

class SqliteReasoningCache final : public ReasoningCache {
 public:
  explicit SqliteReasoningCache(SqliteDb& db) : db_(db) {}

 protected:
  Result<std::optional<std::string>> DoGet(const std::string& request_hash) override {
    std::optional<std::string> answer;
    Status s = db_.Read([&](Connection& c) -> Status {
      auto stmt = c.Prepare(kGetAnswer);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(request_hash), [&](const Statement& row) { answer = row.Text(0); });
    });
    if (!s.ok()) return s;
    return answer;
  }

  Status DoPut(const std::string& request_hash, const std::string& model, const std::string& answer) override {
    const double now = NowSeconds();
    return db_.Write([&](Connection& c) -> Status {
      auto stmt = c.Prepare(kPutAnswer);
      if (!stmt.ok()) return stmt.status();
      return stmt->Bind(request_hash, model, answer, now).Run();
    });
  }

 private:
  SqliteDb& db_;
};

}  // namespace

std::unique_ptr<ReasoningCache> NewReasoningCache(SqliteDb& db) { return std::make_unique<SqliteReasoningCache>(db); }

}  // namespace refinery::sqlite_store_internal

// SqliteStore's SearchIndex: FTS5 with BM25 over chunk text (schema v4).
#include "store/lexical_query.h"
#include "store/sqlite_store_internal.h"

namespace refinery::sqlite_store_internal {

namespace {

// The best `limit` matches by BM25 (FTS5 `rank`, lower is better) first,
// then their rows; ?1 is a lexical::Fts5OrQuery.
constexpr const char* kLexicalSearch =
    "SELECT " REFINERY_CHUNK_COLUMNS
    ", d.title, -f.rank FROM"
    " (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank, rowid"
    "  LIMIT ?2) f JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id"
    " ORDER BY f.rank, c.id";

class SqliteSearchIndex final : public SearchIndex {
 public:
  explicit SqliteSearchIndex(SqliteDb& db) : db_(db) {}

 protected:
  Result<std::vector<LexicalHit>> DoLexical(const std::vector<std::string>& terms, int64_t limit) override {
    const std::string match = lexical::Fts5OrQuery(terms);
    std::vector<LexicalHit> hits;
    Status s = db_.Read([&](sqlite::Connection& c) -> Status {
      auto stmt = c.Prepare(kLexicalSearch);
      if (!stmt.ok()) return stmt.status();
      return ForEachRow(stmt->Bind(match, limit), [&](const sqlite::Statement& row) {
        hits.push_back({{ReadChunk(row), row.Text(kChunkColumns)}, row.Real(kChunkColumns + 1)});
      });
    });
    if (!s.ok()) return s;
    return hits;
  }

 private:
  SqliteDb& db_;
};

}  // namespace

std::unique_ptr<SearchIndex> NewSearchIndex(SqliteDb& db) { return std::make_unique<SqliteSearchIndex>(db); }

}  // namespace refinery::sqlite_store_internal

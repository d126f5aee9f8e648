// PostgresStore's SearchIndex: the tsv column, its GIN index, and a
// BM25-like ranking built from PostgreSQL's pieces.
#include "store/postgres_store_internal.h"

namespace refinery::postgres_store_internal {

using pg::Conn;
using pg::Params;
using pg::TxMode;

namespace {

// BM25-like ranking from PostgreSQL's pieces. $1: lexical::Terms joined
// by spaces; each becomes a quoted tsquery literal (quote_literal: no term
// holds a quote or backslash), so it is never an operator. Per term: its
// document frequency df (a GIN bitmap count) and idf = ln(1 + (N - df +
// 0.5) / (df + 0.5)), N the larger of the planner's row estimate and the
// live-row statistic (O(1) unlike COUNT(*); the statistic also covers a
// table not analysed yet). A chunk's score sums idf x ts_rank(tsv, term, 1)
// (term frequency damped by log chunk length) over the terms it contains.
// Plain ts_rank of one OR-query weighs a common word like a rare one:
// nDCG@10 0.556 against 0.662 on SciFact. Cost grows with the df of the
// query's words (each is counted), bounded by the statement timeout.
constexpr const char* kLexicalSearch =
    "WITH term AS (SELECT to_tsquery('english', quote_literal(w)) AS q"
    "  FROM unnest(string_to_array($1, ' ')) AS w),"
    " n AS (SELECT GREATEST(c.reltuples, s.n_live_tup, 1)::float8 AS total FROM pg_class c"
    "  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
    "  WHERE c.oid = 'refinery.chunks'::regclass),"
    " weighted AS (SELECT term.q, ln(1 + (GREATEST(n.total, f.df) - f.df + 0.5) / (f.df + 0.5))"
    "  AS idf FROM term, n, LATERAL (SELECT COUNT(*)::float8 AS df FROM refinery.chunks c"
    "  WHERE c.tsv @@ term.q) f WHERE f.df > 0),"
    " hit AS (SELECT c.id, SUM(weighted.idf * ts_rank(c.tsv, weighted.q, 1)) AS score"
    "  FROM weighted JOIN refinery.chunks c ON c.tsv @@ weighted.q GROUP BY c.id)"
    " SELECT " REFINERY_PG_CHUNK_COLUMNS
    ", d.title, hit.score FROM hit"
    " JOIN refinery.chunks c ON c.id = hit.id JOIN refinery.documents d ON d.id = c.document_id"
    " ORDER BY hit.score DESC, c.id LIMIT $2";

class PgSearchIndex final : public SearchIndex {
 public:
  explicit PgSearchIndex(pg::Pool& pool) : pool_(pool) {}

 protected:
  Result<std::vector<LexicalHit>> DoLexical(const std::vector<std::string>& terms, int64_t limit) override {
    std::string words;
    for (const std::string& term : terms) words += (words.empty() ? "" : " ") + term;
    std::vector<LexicalHit> hits;
    Status s = pool_.Run("lexical search", TxMode::kNone, [&](Conn& c) -> Status {
      auto rows = c.Exec(kLexicalSearch, Params(words, limit));
      if (!rows.ok()) return rows.status();
      hits.clear();
      for (int i = 0; i < rows->size(); ++i)
        hits.push_back({{ReadChunk(*rows, i), rows->Text(i, kChunkColumns)}, rows->Real(i, kChunkColumns + 1)});
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return hits;
  }

 private:
  pg::Pool& pool_;
};

}  // namespace

std::unique_ptr<SearchIndex> NewSearchIndex(pg::Pool& pool) { return std::make_unique<PgSearchIndex>(pool); }

}  // namespace refinery::postgres_store_internal

// SearchIndex: the store's full-text index over chunk text. (The vector
// index lives in the search module, fed from ChunkStore::ScanEmbeddings.)
//
// Errors: Unavailable or Timeout while the database is down or busy.
// Thread-safety: as DocumentStore.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/records.h"

namespace refinery {

class SearchIndex {
 public:
  virtual ~SearchIndex() = default;

  // Chunks matching `query`, best first, at most `limit` (InvalidArgument if
  // negative). The query is reduced to its words here, once (lexical::Terms:
  // case-folded, English stop words dropped); a chunk matches if it holds
  // ANY of them after English stemming ("running" finds "runs"). Ranking:
  // SQLite BM25, PostgreSQL a BM25-like sum of idf x ts_rank per word;
  // equal scores by chunk id. User text is never query syntax: quotes,
  // operators (AND, OR, NOT, -, *, :) and punctuation are plain separators,
  // so no query is a syntax error; one with no word left matches nothing.
  // Deleted or replaced chunks are never returned.
  Result<std::vector<LexicalHit>> Lexical(const std::string& query, int64_t limit);

 protected:
  // REQUIRES: `terms` non-empty, each a lexical::Terms word (no quotes,
  // operators or spaces); limit > 0.
  virtual Result<std::vector<LexicalHit>> DoLexical(const std::vector<std::string>& terms, int64_t limit) = 0;
};

}  // namespace refinery

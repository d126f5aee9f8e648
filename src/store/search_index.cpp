// SearchIndex's shared front: the query becomes words here, once.
#include "store/search_index.h"

#include "store/lexical_query.h"

namespace refinery {

Result<std::vector<LexicalHit>> SearchIndex::Lexical(const std::string& query, int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0");
  std::vector<std::string> terms = lexical::Terms(query);
  if (terms.empty() || limit == 0) return std::vector<LexicalHit>{};
  return DoLexical(terms, limit);
}

}  // namespace refinery

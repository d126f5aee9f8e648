#include "api/search_json.h"

#include "core/utf8.h"

namespace refinery::api {
namespace {

// A hit carries at most this much of its document's title: a title stored
// before titles were bounded (or a long one) is not copied into every hit.
constexpr size_t kHitTitleBytes = 512;

std::string HitTitle(const std::string& title) {
  if (title.size() <= kHitTitleBytes) return title;
  return std::string(Utf8Prefix(title, kHitTitleBytes)) + "\u2026";
}

nlohmann::json OptionalJson(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json SearchResultJson(const SearchResult& r) {
  return {{"chunk_id", r.chunk_id},
          {"document_id", r.document_id},
          {"title", HitTitle(r.title)},
          {"content", r.content},
          {"score", r.score},
          {"similarity", OptionalJson(r.similarity)},
          {"lexical_score", OptionalJson(r.lexical_score)},
          {"trust_score", OptionalJson(r.trust_score)},
          {"relevance_score", OptionalJson(r.relevance_score)}};
}

nlohmann::json SearchResponseJson(const SearchQuery& query, const std::vector<SearchResult>& results, double took_ms) {
  nlohmann::json list = nlohmann::json::array();
  for (const SearchResult& r : results) list.push_back(SearchResultJson(r));
  return {
      {"results", std::move(list)}, {"query", query.query}, {"mode", SearchModeName(query.mode)}, {"took_ms", took_ms}};
}

}  // namespace refinery::api

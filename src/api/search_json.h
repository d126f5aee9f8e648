// The public JSON shape of search results, shared by POST /search and
// `refinery search --json`.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "search/search.h"

namespace refinery::api {

// {chunk_id, document_id, title, content, score, similarity, lexical_score,
//  trust_score, relevance_score}; scores a ranking did not give are null.
nlohmann::json SearchResultJson(const SearchResult& result);

// {results: [...], query, mode, took_ms}
nlohmann::json SearchResponseJson(const SearchQuery& query, const std::vector<SearchResult>& results, double took_ms);

}  // namespace refinery::api

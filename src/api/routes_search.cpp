// POST /search.
#include <chrono>

#include "api/routes.h"
#include "api/search_json.h"

namespace refinery::api {
namespace {

Result<SearchQuery> ParseSearch(const std::string& body) {
  auto obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  SearchQuery query;
  auto text = RequiredText(*obj, "query");
  if (!text.ok()) return text.status();
  auto limit = OptionalInteger(*obj, "limit");
  if (!limit.ok()) return limit.status();
  auto min_trust = OptionalNumber(*obj, "min_trust");
  if (!min_trust.ok()) return min_trust.status();
  auto min_relevance = OptionalNumber(*obj, "min_relevance");
  if (!min_relevance.ok()) return min_relevance.status();
  auto mode_name = OptionalString(*obj, "mode");
  if (!mode_name.ok()) return mode_name.status();
  if (*mode_name) {
    auto mode = ParseSearchMode(**mode_name);
    if (!mode) return Status::InvalidArgument("mode must be one of lexical, vector, hybrid");
    query.mode = *mode;
  }
  int64_t wanted = limit->value_or(10);
  if (wanted < 1 || wanted > 100) {
    return Status::InvalidArgument("limit must be an integer between 1 and 100");
  }
  query.query = std::move(*text);
  query.limit = static_cast<int>(wanted);
  query.min_trust = *min_trust;
  query.min_relevance = *min_relevance;
  return query;
}

Result<Reply> Search(ApiContext& ctx, const Request& req) {
  auto start = std::chrono::steady_clock::now();
  auto query = ParseSearch(req.body);
  if (!query.ok()) return query.status();
  SearchNote note;
  auto results = ctx.searcher.Search(*query, &note);
  if (!results.ok()) return results.status();
  double took_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json body = SearchResponseJson(*query, *results, took_ms);
  if (note.fell_back_to) {  // the mode asked for stays in "mode"; what answered is said beside it
    body["answered_mode"] = SearchModeName(*note.fell_back_to);
    body["warning"] = note.warning;
  }
  return Reply{200, std::move(body)};
}

}  // namespace

// A POST that only reads: read keys may search.
void AddSearchRoutes(Router& router, ApiContext& ctx) {
  router.Json("POST", "/search", Bind(ctx, Search), RunsOn::kHandlerPool, Access::kRead);
}

}  // namespace refinery::api

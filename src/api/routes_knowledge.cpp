// Knowledge routes: GET /entities, /entities/{id}, /conflicts, /dtc, /dtc/{code}.
#include <cmath>
#include <cstdlib>
#include <limits>

#include "api/dtc_json.h"
#include "api/knowledge_json.h"
#include "api/routes.h"

namespace refinery::api {
namespace {

Result<double> UnitParam(const Request& req, const char* name) {
  if (!req.has_param(name)) return 0.0;
  const std::string text = req.param(name);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(value >= 0 && value <= 1)) {
    return Status::InvalidArgument(std::string(name) + " must be a number in [0, 1]");
  }
  return value;
}

// min_confidence, limit and offset of a list of entities.
Status ReadPage(const Request& req, EntityQuery& query) {
  auto min_confidence = UnitParam(req, "min_confidence");
  if (!min_confidence.ok()) return min_confidence.status();
  query.min_confidence = *min_confidence;
  auto limit = IntParam(req, "limit", 50, 1, 1000);
  if (!limit.ok()) return limit.status();
  auto offset = IntParam(req, "offset", 0, 0, std::numeric_limits<int64_t>::max());
  if (!offset.ok()) return offset.status();
  query.limit = *limit;
  query.offset = *offset;
  return Status::Ok();
}

Result<Reply> ListEntities(ApiContext& ctx, const Request& req) {
  EntityQuery query;
  query.type = req.param("type");
  query.q = req.param("q");
  REFINERY_RETURN_IF_ERROR(ReadPage(req, query));
  auto page = ctx.services.store->knowledge().ListEntities(query);
  if (!page.ok()) return page.status();
  json entities = json::array();
  for (const Entity& e : page->entities) entities.push_back(EntityJson(e));
  return Reply{200,
               {{"entities", std::move(entities)}, {"total", page->total}, {"limit", query.limit}, {"offset", query.offset}}};
}

json SourceJson(const EntitySource& s) {
  return {{"document_id", s.mention.document_id},
          {"document_title", s.document_title},
          {"chunk_id", s.mention.chunk_id},
          {"start", s.mention.start},
          {"end", s.mention.end},
          {"trust", s.mention.trust},
          {"attributes", ParsedObject(s.mention.attributes_json)},
          {"excerpt", s.excerpt}};
}

Result<Reply> GetEntity(ApiContext& ctx, const Request& req) {
  auto id = ParseId(req.captures.at(0));
  if (!id.ok()) return id.status();
  auto detail = ctx.services.store->knowledge().GetEntity(*id);
  if (!detail.ok()) return detail.status();
  json body = EntityJson(detail->entity);
  body["sources"] = json::array();
  for (const EntitySource& s : detail->sources) body["sources"].push_back(SourceJson(s));
  body["related"] = json::array();
  for (const EntityRelation& r : detail->related) {
    body["related"].push_back({{"type", r.other.type},
                               {"key", r.other.key},
                               {"id", r.other_id ? json(*r.other_id) : json(nullptr)},
                               {"relation", r.direction}});
  }
  body["conflicts"] = json::array();
  for (const EntityConflict& c : detail->conflicts) body["conflicts"].push_back(ConflictJson(c));
  return Reply{200, std::move(body)};
}

Result<Reply> ListConflicts(ApiContext& ctx, const Request& req) {
  auto limit = IntParam(req, "limit", 50, 1, 1000);
  if (!limit.ok()) return limit.status();
  auto offset = IntParam(req, "offset", 0, 0, std::numeric_limits<int64_t>::max());
  if (!offset.ok()) return offset.status();
  auto page = ctx.services.store->knowledge().ListConflicts(req.param("type"), *limit, *offset);
  if (!page.ok()) return page.status();
  json conflicts = json::array();
  for (const EntityConflict& c : page->conflicts) conflicts.push_back(ConflictJson(c));
  return Reply{200,
               {{"conflicts", std::move(conflicts)}, {"total", page->total}, {"limit", *limit}, {"offset", *offset}}};
}

// A bare array, as the Python system answered.
Result<Reply> ListDtc(ApiContext& ctx, const Request& req) {
  EntityQuery query;
  query.type = "dtc";
  auto prefix = DtcCategoryPrefix(req.param("category"));
  if (!prefix.ok()) return prefix.status();
  query.key_prefix = *prefix;
  REFINERY_RETURN_IF_ERROR(ReadPage(req, query));
  auto page = ctx.services.store->knowledge().ListEntities(query);
  if (!page.ok()) return page.status();
  json list = json::array();
  for (const Entity& e : page->entities) list.push_back(DtcSummaryJson(e));
  return Reply{200, std::move(list)};
}

Result<Reply> GetDtc(ApiContext& ctx, const Request& req) {
  auto body = DtcDetailJson(ctx.services.store->knowledge(), req.captures.at(0));
  if (!body.ok()) {
    // An invalid code names no DTC: 404 as for an unknown one, with the reason.
    if (body.status().code() == StatusCode::kInvalidArgument) return Status::NotFound(body.status().message());
    return body.status();
  }
  return Reply{200, std::move(body).value()};
}

}  // namespace

void AddKnowledgeRoutes(Router& router, ApiContext& ctx) {
  router.Json("GET", "/entities", Bind(ctx, ListEntities));
  router.Json("GET", "/entities/:id", Bind(ctx, GetEntity));
  router.Json("GET", "/conflicts", Bind(ctx, ListConflicts));
  router.Json("GET", "/dtc", Bind(ctx, ListDtc));
  router.Json("GET", "/dtc/:code", Bind(ctx, GetDtc));
}

}  // namespace refinery::api

// Crawl routes: POST /crawl, GET /crawl, GET /crawl/{id} (issue 13), in the
// Python system's shapes plus page counts and the pages themselves.
#include "api/routes.h"
#include "pipeline/crawl_stage.h"

namespace refinery::api {
namespace {

constexpr const char* kCrawl = "/crawl/:id";

json OptionalTime(const std::optional<double>& t) { return t ? json(IsoTime(*t)) : json(nullptr); }

json CrawlJson(const CrawlRecord& c) {
  return {{"id", c.id},
          {"url", c.url},
          {"status", c.status},
          {"max_depth", c.max_depth},
          {"max_pages", c.max_pages},
          {"error_message", c.error_message.empty() ? json(nullptr) : json(c.error_message)},
          {"created_at", IsoTime(c.created_at)},
          {"completed_at", OptionalTime(c.completed_at)},
          {"pages", {{"total", c.pages},
                     {"completed", c.pages_completed},
                     {"failed", c.pages_failed},
                     {"skipped", c.pages_skipped}}}};
}

json PageJson(const CrawlPage& p) {
  return {{"id", p.id},
          {"url", p.url},
          {"depth", p.depth},
          {"status", p.status},
          {"attempts", p.attempts},
          {"error_message", p.error_message.empty() ? json(nullptr) : json(p.error_message)},
          {"document_id", p.document_id ? json(*p.document_id) : json(nullptr)},
          {"canonical_url", p.canonical_url.empty() ? json(nullptr) : json(p.canonical_url)}};
}

Result<CrawlRequest> ParseCrawl(const std::string& body) {
  auto obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  CrawlRequest request;
  auto url = RequiredText(*obj, "url");
  if (!url.ok()) return url.status();
  request.url = std::move(*url);
  auto depth = OptionalInteger(*obj, "max_depth");
  if (!depth.ok()) return depth.status();
  if (*depth && (**depth < 0 || **depth > kMaxCrawlDepth)) {
    return Status::InvalidArgument("max_depth must be 0.." + std::to_string(kMaxCrawlDepth));
  }
  request.max_depth = depth->has_value() ? static_cast<int>(**depth) : 1;
  auto pages = OptionalInteger(*obj, "max_pages");
  if (!pages.ok()) return pages.status();
  if (*pages && (**pages < 1 || **pages > kMaxCrawlPages)) {
    return Status::InvalidArgument("max_pages must be 1.." + std::to_string(kMaxCrawlPages));
  }
  request.max_pages = pages->has_value() ? static_cast<int>(**pages) : 0;
  auto prefix = OptionalString(*obj, "path_prefix");
  if (!prefix.ok()) return prefix.status();
  request.path_prefix = prefix->value_or("");
  return request;
}

Result<Reply> PostCrawl(ApiContext& ctx, const Request& req) {
  auto request = ParseCrawl(req.body);
  if (!request.ok()) return request.status();
  auto started = StartCrawl(ctx.services, *request);
  if (!started.ok()) return started.status();
  return Reply{200,
               {{"status", "queued"},
                {"crawl_id", started->start.crawl_id},
                {"url", started->url},
                {"restarted", started->start.restarted}}};
}

Result<Reply> ListCrawls(ApiContext& ctx, const Request& req) {
  auto limit = IntParam(req, "limit", 50, 1, 1000);
  if (!limit.ok()) return limit.status();
  auto crawls = ctx.services.store->crawls().ListCrawls(req.param("status"), static_cast<int>(*limit));
  if (!crawls.ok()) return crawls.status();
  json list = json::array();
  for (const CrawlRecord& c : *crawls) list.push_back(CrawlJson(c));
  return Reply{200, std::move(list)};
}

Result<Reply> GetCrawl(ApiContext& ctx, const Request& req) {
  auto id = ParseId(req.captures.at(0));
  if (!id.ok()) return id.status();
  auto crawl = ctx.services.store->crawls().GetCrawl(*id);
  if (!crawl.ok()) return crawl.status();
  auto pages = ctx.services.store->crawls().Pages(*id);
  if (!pages.ok()) return pages.status();
  json body = CrawlJson(*crawl);
  json list = json::array();
  for (const CrawlPage& p : *pages) list.push_back(PageJson(p));
  body["pages_list"] = std::move(list);
  return Reply{200, std::move(body)};
}

}  // namespace

void AddCrawlRoutes(Router& router, ApiContext& ctx) {
  router.Json("POST", "/crawl", Bind(ctx, PostCrawl));
  router.Json("GET", "/crawl", Bind(ctx, ListCrawls));
  router.Json("GET", kCrawl, Bind(ctx, GetCrawl));
}

}  // namespace refinery::api

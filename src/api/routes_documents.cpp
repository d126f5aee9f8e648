// Document routes: ingest, list, inspect, chunks, retry, delete.
#include <algorithm>
#include <limits>

#include "api/routes.h"
#include "pipeline/documents.h"
#include "pipeline/stage_chain.h"

namespace refinery::api {
namespace {

// Ids in paths: "/documents/{id}" and its sub-resources.
constexpr const char* kDocument = "/documents/:id";
constexpr const char* kChunks = "/documents/:id/chunks";
constexpr const char* kRetry = "/documents/:id/retry";
constexpr const char* kStatus = "/documents/:id/status";

Result<int64_t> PathId(const Request& req) { return ParseId(req.captures.at(0)); }

// Bounds from the config (REFINERY_MAX_TITLE_BYTES, _METADATA_BYTES),
// checked before anything is written.
Result<IngestRequest> ParseIngest(const Config& config, const std::string& body) {
  auto obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  IngestRequest request;
  auto title = RequiredText(*obj, "title");
  if (!title.ok()) return title.status();
  auto content = RequiredText(*obj, "content");
  if (!content.ok()) return content.status();
  auto source_url = OptionalString(*obj, "source_url");
  if (!source_url.ok()) return source_url.status();
  auto metadata = obj->find("metadata");
  bool has_metadata = metadata != obj->end() && !metadata->is_null();
  if (has_metadata && !metadata->is_object()) {
    return Status::InvalidArgument("metadata must be an object");
  }
  if (title->size() > static_cast<size_t>(config.max_title_bytes)) {
    return Status::InvalidArgument("title is " + std::to_string(title->size()) + " bytes; the limit is " +
                                   std::to_string(config.max_title_bytes) + " (REFINERY_MAX_TITLE_BYTES)");
  }
  request.title = std::move(*title);
  request.content = std::move(*content);
  request.source_url = source_url->value_or("");
  if (has_metadata) {
    request.metadata_json = Dump(*metadata);
    if (static_cast<int64_t>(request.metadata_json.size()) > config.max_metadata_bytes) {
      return Status::InvalidArgument("metadata is " + std::to_string(request.metadata_json.size()) +
                                     " bytes as JSON; the limit is " + std::to_string(config.max_metadata_bytes) +
                                     " (REFINERY_MAX_METADATA_BYTES)");
    }
  }
  return request;
}

Result<Reply> Ingest(ApiContext& ctx, const Request& req) {
  auto request = ParseIngest(ctx.services.config, req.body);
  if (!request.ok()) return request.status();
  auto outcome = IngestDocument(ctx.services, *request);
  if (!outcome.ok()) return outcome.status();
  if (outcome->created) return Reply{201, {{"status", "queued"}, {"id", outcome->id}}};
  return Reply{200, {{"status", "exists"}, {"id", outcome->id}}};
}

// The `?stage=` filter, named so for the Python system's clients: it holds
// a state (chunking, complete, error, ...).
Result<std::string> StateParam(const Request& req) {
  std::string state = req.param("stage");
  if (state.empty()) return state;  // "?stage=" means no filter, like no parameter
  auto states = AllStates();
  if (std::find(states.begin(), states.end(), state) != states.end()) return state;
  std::string known;
  for (const auto& s : states) known += (known.empty() ? "" : ", ") + s;
  return Status::InvalidArgument("stage must be one of: " + known);
}

Result<Reply> ListDocuments(ApiContext& ctx, const Request& req) {
  auto state = StateParam(req);
  if (!state.ok()) return state.status();
  auto limit = IntParam(req, "limit", 50, 1, 1000);
  if (!limit.ok()) return limit.status();
  auto offset = IntParam(req, "offset", 0, 0, std::numeric_limits<int64_t>::max());
  if (!offset.ok()) return offset.status();
  auto page = ctx.services.store->documents().List(*state, *limit, *offset);
  if (!page.ok()) return page.status();
  json documents = json::array();
  for (const Document& doc : page->documents) documents.push_back(DocumentJson(doc));
  return Reply{200,
               {{"documents", std::move(documents)}, {"total", page->total}, {"limit", *limit}, {"offset", *offset}}};
}

// The document of the path and its processing log as JSON.
Result<std::pair<Document, json>> DocumentAndLog(ApiContext& ctx, const Request& req) {
  auto id = PathId(req);
  if (!id.ok()) return id.status();
  auto doc = ctx.services.store->documents().Get(*id);
  if (!doc.ok()) return doc.status();
  auto log = ctx.services.store->telemetry().GetLog(*id);
  if (!log.ok()) return log.status();
  json entries = json::array();
  for (const LogEntry& entry : *log) entries.push_back(LogEntryJson(entry));
  return std::make_pair(std::move(doc).value(), std::move(entries));
}

Result<Reply> GetDocument(ApiContext& ctx, const Request& req) {
  auto found = DocumentAndLog(ctx, req);
  if (!found.ok()) return found.status();
  json body = DocumentJson(found->first);
  body["processing_log"] = std::move(found->second);
  return Reply{200, std::move(body)};
}

// The Python system's status route, with its field names.
Result<Reply> GetStatus(ApiContext& ctx, const Request& req) {
  auto found = DocumentAndLog(ctx, req);
  if (!found.ok()) return found.status();
  const Document& doc = found->first;
  return Reply{200,
               {{"document_id", doc.id},
                {"title", doc.title},
                {"current_stage", doc.state},
                {"error_message", doc.error_message.empty() ? json(nullptr) : json(doc.error_message)},
                {"processing_log", std::move(found->second)}}};
}

Result<Reply> GetChunks(ApiContext& ctx, const Request& req) {
  auto id = PathId(req);
  if (!id.ok()) return id.status();
  // GetChunks of an unknown document is just empty; the API says 404.
  auto doc = ctx.services.store->documents().Get(*id);
  if (!doc.ok()) return doc.status();
  auto chunks = ctx.services.store->chunks().Get(*id);
  if (!chunks.ok()) return chunks.status();
  json list = json::array();
  for (const Chunk& chunk : *chunks) list.push_back(ChunkJson(chunk));
  return Reply{200, {{"chunks", std::move(list)}}};
}

Result<Reply> Retry(ApiContext& ctx, const Request& req) {
  auto id = PathId(req);
  if (!id.ok()) return id.status();
  REFINERY_RETURN_IF_ERROR(RetryDocument(ctx.services, *id));
  return Reply{202, {{"status", "queued"}, {"id", *id}}};
}

Result<Reply> Delete(ApiContext& ctx, const Request& req) {
  auto id = PathId(req);
  if (!id.ok()) return id.status();
  REFINERY_RETURN_IF_ERROR(DeleteDocumentEverywhere(ctx.services, *id));
  return Reply{200, {{"status", "deleted"}, {"id", *id}}};
}

}  // namespace

void AddDocumentRoutes(Router& router, ApiContext& ctx) {
  router.Json("POST", "/ingest", Bind(ctx, Ingest));
  router.Json("GET", "/documents", Bind(ctx, ListDocuments));
  router.Json("GET", kDocument, Bind(ctx, GetDocument));
  router.Json("DELETE", kDocument, Bind(ctx, Delete));
  router.Json("GET", kChunks, Bind(ctx, GetChunks));
  router.Json("GET", kStatus, Bind(ctx, GetStatus));
  router.Json("POST", kRetry, Bind(ctx, Retry));
}

}  // namespace refinery::api

// Private to the API: JSON replies, the one Status -> HTTP mapping, request
// body and parameter parsing. Every response body the API writes goes
// through SendJson / SendError, so each is JSON with the right content type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http_types.h"
#include "core/status.h"
#include "store/store.h"

namespace refinery::api {

using nlohmann::json;

// What a route handler returns on success: a status and a JSON body.
struct Reply {
  int status = 200;
  json body;
};

// The HTTP status and error code a non-OK Status maps to. The single place
// that decides it, so every route answers the same failure the same way.
struct HttpError {
  int status = 500;
  std::string code;
};
HttpError MapStatus(const Status& status);

// Serialises with invalid UTF-8 replaced (stored text from crawled pages may
// hold any bytes; a reply must never throw half-way).
std::string Dump(const json& body);

void SendJson(Response& res, int status, const json& body);
// {"error":{"code":..., "message":...}}
void SendError(Response& res, int status, const std::string& code, const std::string& message);
void SendStatus(Response& res, const Status& status);

// How deeply a request body may nest objects and arrays. Checked before
// parsing (core/json_depth.h): deeper nesting is no real document's
// metadata, and a parser recursing into it overflows the stack.
constexpr size_t kMaxJsonDepth = 64;

// The request body as a JSON object; InvalidArgument naming the problem
// (nesting over kMaxJsonDepth is named as such, before anything else).
Result<json> ParseObject(const std::string& body);

// Field readers: absent or null -> nullopt; a value of the wrong type ->
// InvalidArgument naming the field. Unknown fields are never looked at.
Result<std::optional<std::string>> OptionalString(const json& obj, const char* field);
Result<std::optional<double>> OptionalNumber(const json& obj, const char* field);
Result<std::optional<int64_t>> OptionalInteger(const json& obj, const char* field);
// A string that must be present and not blank.
Result<std::string> RequiredText(const json& obj, const char* field);

// A path id: digits only, > 0, fits int64. InvalidArgument otherwise.
Result<int64_t> ParseId(const std::string& text);
// A query parameter that must be an integer in [min, max]; `fallback` when absent.
Result<int64_t> IntParam(const Request& req, const char* name, int64_t fallback, int64_t min, int64_t max);

// Epoch seconds as ISO-8601 UTC with milliseconds: 2024-05-01T12:00:00.250Z.
std::string IsoTime(double epoch_seconds);

// Public JSON shapes of store records.
json DocumentJson(const Document& doc);
json LogEntryJson(const LogEntry& entry);
json ChunkJson(const Chunk& chunk);
// The chunk's evaluation fields (null before the evaluate stage ran):
// trust_score, relevance_score, automotive_domain (the Python system's
// name) and domain (the same label), evaluation_reasoning, evaluator.
void AddEvaluationJson(const Chunk& chunk, json& out);

}  // namespace refinery::api

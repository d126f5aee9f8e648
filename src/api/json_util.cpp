#include "api/json_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "core/json_depth.h"
#include "core/log.h"

namespace refinery::api {
namespace {

bool IsBlank(const std::string& text) {
  for (unsigned char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

// Strict decimal integer: optional '-', digits, nothing else.
std::optional<int64_t> ParseInt(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string RangeMessage(const char* name, int64_t min, int64_t max) {
  std::string msg = std::string(name) + " must be an integer ";
  if (max == std::numeric_limits<int64_t>::max()) return msg + ">= " + std::to_string(min);
  return msg + "between " + std::to_string(min) + " and " + std::to_string(max);
}

json NullIfEmpty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

// Metadata is stored verbatim as JSON text; a malformed row (written by some
// other tool) is shown as null rather than failing the whole listing.
json ParseMetadata(const std::string& text) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return nullptr;
  return parsed;
}

}  // namespace

HttpError MapStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return {200, "ok"};
    case StatusCode::kInvalidArgument:
      return {400, "invalid_argument"};
    case StatusCode::kNotFound:
      return {404, "not_found"};
    case StatusCode::kConflict:
      return {409, "conflict"};
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
      return {503, "unavailable"};
    case StatusCode::kLeaseLost:  // a worker concern; reaching the API is a bug
    case StatusCode::kInternal:
      return {500, "internal"};
  }
  return {500, "internal"};
}

std::string Dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendJson(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void SendError(Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

void SendStatus(Response& res, const Status& status) {
  HttpError mapped = MapStatus(status);
  if (mapped.status >= 500) spdlog::warn("api: {}", status.ToString());
  SendError(res, mapped.status, mapped.code, status.message());
}

Result<json> ParseObject(const std::string& body) {
  if (!JsonDepthWithin(body, kMaxJsonDepth)) {
    return Status::InvalidArgument("request body nests objects and arrays deeper than the limit of " +
                                   std::to_string(kMaxJsonDepth) + " levels");
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  if (!parsed.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  return parsed;
}

Result<std::optional<std::string>> OptionalString(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Status::InvalidArgument(std::string(field) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<double>> OptionalNumber(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) return Status::InvalidArgument(std::string(field) + " must be a number");
  return std::optional<double>(it->get<double>());
}

Result<std::optional<int64_t>> OptionalInteger(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  std::string must = std::string(field) + " must be an integer";
  if (!it->is_number_integer()) return Status::InvalidArgument(must);
  // An unsigned value beyond int64 is out of any range we accept.
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidArgument(must + " (too large)");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::string> RequiredText(const json& obj, const char* field) {
  auto value = OptionalString(obj, field);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return Status::InvalidArgument(std::string(field) + " is required");
  if (IsBlank(**value)) return Status::InvalidArgument(std::string(field) + " must not be empty");
  return std::move(**value);
}

Result<int64_t> ParseId(const std::string& text) {
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  auto value = digits ? ParseInt(text) : std::nullopt;
  if (!value || *value <= 0) return Status::InvalidArgument("id must be a positive integer");
  return *value;
}

Result<int64_t> IntParam(const Request& req, const char* name, int64_t fallback, int64_t min, int64_t max) {
  if (!req.has_param(name)) return fallback;
  auto value = ParseInt(req.param(name));
  if (!value || *value < min || *value > max) {
    return Status::InvalidArgument(RangeMessage(name, min, max));
  }
  return *value;
}

std::string IsoTime(double epoch_seconds) {
  if (!std::isfinite(epoch_seconds) || epoch_seconds < 0) epoch_seconds = 0;
  auto whole = static_cast<std::time_t>(epoch_seconds);
  int millis = std::clamp(static_cast<int>((epoch_seconds - static_cast<double>(whole)) * 1000.0), 0, 999);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buffer[64];  // room for any int the format could print
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

json DocumentJson(const Document& doc) {
  return {{"id", doc.id},
          {"title", doc.title},
          {"source_url", NullIfEmpty(doc.source_url)},
          {"content_hash", doc.content_hash},
          {"mime_type", doc.mime_type},
          // `stage` holds the state, under the Python system's name; `state`
          // says the same under the right one.
          {"stage", doc.state},
          {"state", doc.state},
          {"error_message", NullIfEmpty(doc.error_message)},
          {"error_stage", NullIfEmpty(doc.error_stage)},
          {"attempts", doc.attempts},
          {"chunk_count", doc.chunk_count},
          {"metadata", ParseMetadata(doc.metadata_json)},
          {"created_at", IsoTime(doc.created_at)},
          {"updated_at", IsoTime(doc.updated_at)}};
}

json LogEntryJson(const LogEntry& entry) {
  return {{"stage", entry.stage},
          {"status", entry.status},
          {"message", entry.message},
          {"duration_ms", entry.duration_ms},
          {"created_at", IsoTime(entry.created_at)}};
}

json ChunkJson(const Chunk& chunk) {
  json out = {{"id", chunk.id},
              {"chunk_index", chunk.chunk_index},
              {"content", chunk.content},
              {"char_start", chunk.char_start},
              {"char_end", chunk.char_end},
              {"token_count", chunk.token_count},
              {"has_embedding", !chunk.embedding.empty()},
              // The embedder that wrote the vector; null without one.
              {"embedding_model", chunk.embedding.empty() ? json(nullptr) : json(chunk.embedding_model)}};
  AddEvaluationJson(chunk, out);
  return out;
}

void AddEvaluationJson(const Chunk& chunk, json& out) {
  const auto& e = chunk.evaluation;
  out["trust_score"] = e ? json(e->trust_score) : json(nullptr);
  out["relevance_score"] = e ? json(e->relevance_score) : json(nullptr);
  // The Python system's name for the domain label, whatever the profile.
  out["automotive_domain"] = e ? json(e->domain) : json(nullptr);
  out["domain"] = out["automotive_domain"];
  out["evaluation_reasoning"] = e ? json(e->reasoning) : json(nullptr);
  out["evaluator"] = e ? json(e->evaluator) : json(nullptr);
  // Why the LLM evaluation of the chunk was unusable; null unless it failed.
  out["evaluation_failure"] = chunk.evaluation_failure.empty() ? json(nullptr) : json(chunk.evaluation_failure);
  // Why the LLM extraction of the chunk was unusable (it yielded no facts); null unless it failed.
  out["extraction_failure"] = chunk.extraction_failure.empty() ? json(nullptr) : json(chunk.extraction_failure);
}

}  // namespace refinery::api

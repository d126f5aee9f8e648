#include "blob/s3_blob_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <thread>
#include <utility>

#include "blob/blob_key.h"
#include "blob/sigv4.h"
#include "core/backoff.h"
#include "core/hash.h"

namespace refinery {
namespace {

// The authority of "http://host:port" ("host:port"); empty when malformed.
std::string HostOf(std::string_view endpoint) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (endpoint.starts_with(scheme)) {
      std::string_view host = endpoint.substr(scheme.size());
      if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos) return "";
      return std::string(host);
    }
  }
  return "";
}

// S3's bucket naming rules (the subset every S3-compatible server accepts):
// 3-63 of [a-z0-9.-], starting and ending with a letter or digit.
bool IsValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  auto alnum = [](char c) { return c != '.' && c != '-'; };
  return alnum(name.front()) && alnum(name.back());
}

// The <Code> of an S3 XML error body ("NoSuchKey"); empty when absent
// (HEAD answers carry no body).
std::string ErrorCodeOf(const std::string& body) {
  size_t start = body.find("<Code>");
  if (start == std::string::npos) return "";
  start += 6;
  size_t end = body.find("</Code>", start);
  return end == std::string::npos ? "" : body.substr(start, end - start);
}

bool IsRetryableHttpStatus(long status) { return status >= 500 || status == 408 || status == 429; }

bool ShouldRetry(const Result<HttpResponse>& result) {
  if (!result.ok()) return result.status().transient();
  return IsRetryableHttpStatus(result->status);
}

std::string ResultText(const Result<HttpResponse>& result) {
  if (!result.ok()) return result.status().ToString();
  std::string code = ErrorCodeOf(result->body);
  return "HTTP " + std::to_string(result->status) + (code.empty() ? "" : " " + code);
}

Status NotFound(const std::string& key) { return Status::NotFound("blob '" + key + "' not found"); }

}  // namespace

Result<std::unique_ptr<S3BlobStore>> S3BlobStore::Open(S3Options options) {
  if (HostOf(options.endpoint).empty()) {
    return Status::InvalidArgument("S3 endpoint '" + options.endpoint +
                                   "': expected http://host:port or https://host[:port], no path");
  }
  if (!IsValidBucketName(options.bucket)) {
    return Status::InvalidArgument("S3 bucket '" + options.bucket + "': expected 3-63 of [a-z0-9.-]");
  }
  if (options.attempts < 1) return Status::InvalidArgument("S3 attempts must be at least 1");
  auto store = std::make_unique<S3BlobStore>(std::move(options));
  REFINERY_RETURN_IF_ERROR(store->EnsureBucket());
  return store;
}

S3BlobStore::S3BlobStore(S3Options options) : options_(std::move(options)), host_(HostOf(options_.endpoint)) {}

Status S3BlobStore::EnsureBucket() {
  Call head = MakeCall("HEAD", "");
  auto found = Send(head);
  if (!found.ok()) return found.status();
  if (found->status == 200) return Status::Ok();
  if (found->status != 404) return Failure(head, *found);
  std::string empty;
  Call create = MakeCall("PUT", "", &empty);
  auto created = Send(create);
  if (!created.ok()) return created.status();
  if (created->status == 200) {
    spdlog::info("S3: created bucket '{}' at {}", options_.bucket, options_.endpoint);
    return Status::Ok();
  }
  if (created->status != 409) return Failure(create, *created);
  // Created concurrently by another process, or owned by someone else: only
  // a HEAD we are allowed to make tells which.
  auto again = Send(head);
  if (!again.ok()) return again.status();
  return again->status == 200 ? Status::Ok() : Failure(head, *again);
}

Status S3BlobStore::Put(const std::string& key, const std::string& data) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  Call call = MakeCall("PUT", key, &data);
  auto response = Send(call);
  if (!response.ok()) return response.status();
  return response->status == 200 ? Status::Ok() : Failure(call, *response);
}

Result<std::string> S3BlobStore::Get(const std::string& key) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  Call call = MakeCall("GET", key);
  auto response = Send(call);
  if (!response.ok()) return response.status();
  if (response->status == 200) return std::move(response->body);
  if (response->status == 404 && ErrorCodeOf(response->body) != "NoSuchBucket") return NotFound(key);
  return Failure(call, *response);
}

Status S3BlobStore::Delete(const std::string& key) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  Call call = MakeCall("DELETE", key);
  auto response = Send(call);
  if (!response.ok()) return response.status();
  bool absent = response->status == 404 && ErrorCodeOf(response->body) != "NoSuchBucket";
  if (response->status == 204 || response->status == 200 || absent) return Status::Ok();
  return Failure(call, *response);
}

Result<bool> S3BlobStore::Exists(const std::string& key) {
  REFINERY_RETURN_IF_ERROR(ValidateBlobKey(key));
  Call call = MakeCall("HEAD", key);
  auto response = Send(call);
  if (!response.ok()) return response.status();
  if (response->status == 200) return true;
  if (response->status == 404) return false;
  return Failure(call, *response);
}

Status S3BlobStore::Ping() {
  // A GET of a key that is never written: 404 NoSuchKey proves the server
  // answers and the bucket exists, in O(1). A HEAD of the bucket did too,
  // but s3rver lists the whole bucket for it (60 ms at 1,000 objects, more
  // with every blob), and health checks run twice a second.
  Call call = MakeCall("GET", kPingKey);
  call.attempts = 1;
  call.timeout_s = options_.ping_timeout_s;
  auto response = Send(call);
  if (!response.ok()) return response.status();
  const bool absent = response->status == 404 && ErrorCodeOf(response->body) == "NoSuchKey";
  return response->status == 200 || absent ? Status::Ok() : Failure(call, *response);
}

S3BlobStore::Call S3BlobStore::MakeCall(std::string method, const std::string& key, const std::string* body) const {
  return Call{std::move(method), key, body, options_.attempts, options_.request_timeout_s};
}

std::string S3BlobStore::Describe(const Call& call) const {
  return "S3 " + call.method + " " + options_.bucket + (call.key.empty() ? "" : "/" + call.key);
}

Result<HttpResponse> S3BlobStore::Send(const Call& call) const {
  const std::string payload_sha256 = Sha256Hex(call.body ? std::string_view(*call.body) : std::string_view());
  for (int attempt = 1;; ++attempt) {
    auto result = SendOnce(call, payload_sha256);
    if (attempt >= call.attempts || !ShouldRetry(result)) {
      if (!result.ok()) {
        return Status(result.status().code(), Describe(call) + ": " + result.status().message());
      }
      return result;
    }
    // Jittered, so many clients hitting one recovering server do not retry
    // in lockstep.
    const double delay_s = JitteredBackoff(options_.backoff, attempt);
    spdlog::warn("{}: attempt {}/{} failed ({}); retrying in {} ms", Describe(call), attempt, call.attempts,
                 ResultText(result), static_cast<int64_t>(delay_s * 1000));
    std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
  }
}

Result<HttpResponse> S3BlobStore::SendOnce(const Call& call, const std::string& payload_sha256) const {
  SigV4Request signing;
  signing.method = call.method;
  signing.host = host_;
  signing.path = "/" + options_.bucket + (call.key.empty() ? "" : "/" + call.key);
  signing.payload_sha256 = payload_sha256;
  SigV4Headers auth = SignV4(signing, {options_.access_key, options_.secret_key, options_.region, "s3"},
                             std::chrono::system_clock::now());
  HttpRequest request;
  request.method = call.method;
  request.url = options_.endpoint + SigV4UriEncode(signing.path, true);
  if (call.body) request.body = *call.body;
  request.headers = {{"Host", host_},
                     {"Authorization", auth.authorization},
                     {"x-amz-date", auth.amz_date},
                     {"x-amz-content-sha256", auth.content_sha256}};
  if (call.body) {
    request.headers["Content-Type"] = "application/octet-stream";  // not curl's form default
    request.headers["Expect"] = "";                                // no 100-continue round trip before large bodies
  }
  request.timeout_s = call.timeout_s;
  request.connect_timeout_s = options_.connect_timeout_s;
  return http_->Call(request);
}

Status S3BlobStore::Failure(const Call& call, const HttpResponse& response) const {
  std::string code = ErrorCodeOf(response.body);
  std::string what = Describe(call) + ": HTTP " + std::to_string(response.status) + (code.empty() ? "" : " " + code);
  if (IsRetryableHttpStatus(response.status)) return Status::Unavailable(what + " (server unavailable)");
  if (response.status == 401 || response.status == 403) {
    return Status::Unavailable(what + " (access denied: check the S3 access and secret keys)");
  }
  if (code == "NoSuchBucket" || (call.key.empty() && response.status == 404)) {
    return Status::Unavailable(what + " (bucket '" + options_.bucket + "' is missing)");
  }
  return Status::Internal(what);
}

}  // namespace refinery

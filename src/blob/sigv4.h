// AWS Signature Version 4 for request headers (the "Authorization" form),
// as pure functions of their inputs: no clock, no network, so the signature
// can be checked against AWS's published examples and against botocore.
//
// Scope: S3-style signing. The path is encoded once (S3 does not
// double-encode or normalise paths); the payload hash is always sent in
// x-amz-content-sha256 (S3, MinIO and s3rver require it).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace refinery {

// Decoded query parameters in request order ("?acl" is {"acl", ""}).
using SigV4Query = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // The exact Host header sent: "host" or "host:port" (curl omits default ports).
  std::string host;
  // Decoded path, e.g. "/bucket/my key.txt"; encoded here per AWS rules.
  std::string path = "/";
  SigV4Query query;
  // Extra headers to sign besides host, x-amz-date and x-amz-content-sha256
  // (names in any case). Every signed header must be sent unchanged.
  std::map<std::string, std::string> headers;
  // Lower-case hex SHA-256 of the body (of "" when there is none).
  std::string payload_sha256;
};

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string region = "us-east-1";
  std::string service = "s3";
};

// The headers a signed request must carry, besides those it signed.
struct SigV4Headers {
  std::string authorization;   // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
  std::string amz_date;        // x-amz-date: "20130524T000000Z"
  std::string content_sha256;  // x-amz-content-sha256: the payload hash
};

// Signs `request` as of `now` (UTC). The separator ", " matches botocore;
// AWS accepts it with or without the space.
SigV4Headers SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                    std::chrono::system_clock::time_point now);

// The pieces of the signature, exposed so tests can pin each step.
std::string SigV4CanonicalRequest(const SigV4Request& request, const std::string& amz_date);
std::string SigV4StringToSign(const std::string& canonical_request, const std::string& amz_date,
                              const SigV4Credentials& credentials);

// AWS URI encoding: every byte except A-Za-z0-9 - . _ ~ becomes %XX
// (upper-case hex); '/' is kept only when `keep_slash` (object paths).
std::string SigV4UriEncode(std::string_view text, bool keep_slash);

// Encoded "name=value" pairs sorted by name then value, joined by '&': the
// canonical query string, also valid as the query of the request URL.
std::string SigV4CanonicalQuery(const SigV4Query& query);

// "20130524T000000Z" for `now` in UTC.
std::string SigV4AmzDate(std::chrono::system_clock::time_point now);

}  // namespace refinery

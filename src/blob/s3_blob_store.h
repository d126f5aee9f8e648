// S3BlobStore: blobs as objects of one bucket on an S3-compatible server
// (AWS S3, MinIO; tested against s3rver), through our libcurl client with
// our own SigV4 signing (blob/sigv4.h). Key "a/b.txt" is the object
// ENDPOINT/BUCKET/a/b.txt: path-style URLs, which MinIO and local servers
// serve without per-bucket DNS names.
//
// Put is a single PUT Object, which S3 applies atomically: readers see the
// old object or the whole new one. Network errors, timeouts, 5xx, 408 and
// 429 are retried (exponential backoff with jitter); other answers are final.
// Every attempt has a connect and a total timeout, so a dead server costs a
// bounded time and yields Unavailable (or Timeout), never a hang.
//
// Thread-safety: all state is immutable after construction; each call uses
// its own curl handle.
#pragma once

#include <memory>
#include <string>

#include "blob/blob.h"
#include "core/backoff.h"
#include "core/http_client.h"

namespace refinery {

struct S3Options {
  std::string endpoint;  // "http://host:port" or "https://host[:port]", no path
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  int attempts = 3;  // per operation, the first included
  // Before the 2nd attempt, doubling, jittered (core/backoff.h).
  Backoff backoff{.base_s = 0.1, .max_s = 2.0};
  double connect_timeout_s = 2;   // a dead host fails fast
  double request_timeout_s = 60;  // per attempt: room for large blobs
  double ping_timeout_s = 2;      // Ping is one attempt: health checks stay quick
};

class S3BlobStore final : public BlobStore {
 public:
  // Checks the options and makes sure the bucket exists, creating it if
  // missing. InvalidArgument for a bad endpoint or bucket name; Unavailable
  // when the server cannot be reached or refuses us.
  static Result<std::unique_ptr<S3BlobStore>> Open(S3Options options);

  // REQUIRES: valid options (use Open, which also creates the bucket).
  explicit S3BlobStore(S3Options options);

  Status Put(const std::string& key, const std::string& data) override;
  Result<std::string> Get(const std::string& key) override;
  Status Delete(const std::string& key) override;
  // A HEAD answer has no body, so a missing bucket reads as "false" here;
  // Ping tells the two apart.
  Result<bool> Exists(const std::string& key) override;
  // OK when the bucket answers for kPingKey, found or not (one attempt,
  // ping_timeout_s). Needs the same permission as Get (and, on AWS,
  // s3:ListBucket for a missing key to read 404 rather than 403).
  Status Ping() override;
  static constexpr const char* kPingKey = "refinery-ping-probe";

  const S3Options& options() const { return options_; }

 private:
  // One request to the bucket (empty key) or to an object.
  struct Call {
    std::string method;
    std::string key;
    const std::string* body = nullptr;  // not owned; nullptr: no body
    int attempts = 1;
    double timeout_s = 0;
  };

  Status EnsureBucket();
  // Signs and sends `call`, retrying transient failures. Any HTTP answer
  // that is not worth retrying (or the last one) is returned as a response.
  Result<HttpResponse> Send(const Call& call) const;
  Result<HttpResponse> SendOnce(const Call& call, const std::string& payload_sha256) const;
  // The Status for an answer that is not the expected success.
  Status Failure(const Call& call, const HttpResponse& response) const;
  Call MakeCall(std::string method, const std::string& key, const std::string* body = nullptr) const;
  // Kept-alive connections to the endpoint (a unique_ptr: Send is const).
  std::unique_ptr<HttpSession> http_ = std::make_unique<HttpSession>();
  std::string Describe(const Call& call) const;

  const S3Options options_;
  const std::string host_;  // the Host header, signed: "host:port"
};

}  // namespace refinery

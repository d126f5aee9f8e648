// SigV4 against the signature examples AWS publishes for S3 ("Signature
// Calculations for the Authorization Header", examplebucket, 20130524).
#include "blob/sigv4.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/hash.h"

namespace refinery {
namespace {

const char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The S3 examples' secret has '/' where the IAM examples' key has '+'
// (wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY): only this one reproduces them.
SigV4Credentials AwsExampleCredentials() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
}

// 2013-05-24T00:00:00Z, the instant of every AWS S3 example.
std::chrono::system_clock::time_point AwsExampleTime() {
  using namespace std::chrono;
  return sys_days{year{2013} / May / 24};
}

SigV4Request ExampleRequest(std::string method, std::string path) {
  SigV4Request request;
  request.method = std::move(method);
  request.host = "examplebucket.s3.amazonaws.com";
  request.path = std::move(path);
  request.payload_sha256 = kEmptySha;
  return request;
}

std::string SignatureOf(const std::string& authorization) { return authorization.substr(authorization.rfind('=') + 1); }

TEST(SigV4Test, AwsGetObjectExample) {
  SigV4Request request = ExampleRequest("GET", "/test.txt");
  request.headers["Range"] = "bytes=0-9";
  EXPECT_EQ(SigV4CanonicalRequest(request, "20130524T000000Z"),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(SigV4StringToSign(SigV4CanonicalRequest(request, "20130524T000000Z"), "20130524T000000Z",
                              AwsExampleCredentials()),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  SigV4Headers signed_headers = SignV4(request, AwsExampleCredentials(), AwsExampleTime());
  EXPECT_EQ(signed_headers.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(signed_headers.amz_date, "20130524T000000Z");
  EXPECT_EQ(signed_headers.content_sha256, kEmptySha);
}

TEST(SigV4Test, AwsPutObjectExampleEncodesDollar) {
  SigV4Request request = ExampleRequest("PUT", "/test$file.text");
  request.payload_sha256 = Sha256Hex("Welcome to Amazon S3.");
  ASSERT_EQ(request.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  request.headers["Date"] = "Fri, 24 May 2013 00:00:00 GMT";
  request.headers["x-amz-storage-class"] = "REDUCED_REDUNDANCY";
  std::string authorization = SignV4(request, AwsExampleCredentials(), AwsExampleTime()).authorization;
  EXPECT_NE(authorization.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"),
            std::string::npos);
  EXPECT_EQ(SignatureOf(authorization), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, AwsGetBucketLifecycleExampleHasEmptyQueryValue) {
  SigV4Request request = ExampleRequest("GET", "/");
  request.query = {{"lifecycle", ""}};
  EXPECT_EQ(SignatureOf(SignV4(request, AwsExampleCredentials(), AwsExampleTime()).authorization),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, AwsListObjectsExampleSortsQuery) {
  SigV4Request request = ExampleRequest("GET", "/");
  request.query = {{"prefix", "J"}, {"max-keys", "2"}};
  EXPECT_EQ(SignatureOf(SignV4(request, AwsExampleCredentials(), AwsExampleTime()).authorization),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, UriEncodingFollowsAwsRules) {
  EXPECT_EQ(SigV4UriEncode("a b/c~d-e_f.g", true), "a%20b/c~d-e_f.g");
  EXPECT_EQ(SigV4UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(SigV4UriEncode("\xC3\xBC+=&*", true), "%C3%BC%2B%3D%26%2A");
  EXPECT_EQ(SigV4UriEncode(std::string("\0\xff", 2), true), "%00%FF");
}

TEST(SigV4Test, CanonicalQueryEncodesAndSortsByNameThenValue) {
  EXPECT_EQ(SigV4CanonicalQuery({{"b", "2"}, {"a", "x y"}, {"b", "1"}, {"c/d", ""}}), "a=x%20y&b=1&b=2&c%2Fd=");
  EXPECT_EQ(SigV4CanonicalQuery({}), "");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndNamesLowerCased) {
  SigV4Request request = ExampleRequest("GET", "/k");
  request.headers["X-Amz-Meta-Note"] = "  two   spaces\there ";
  std::string canonical = SigV4CanonicalRequest(request, "20130524T000000Z");
  EXPECT_NE(canonical.find("\nx-amz-meta-note:two spaces here\n"), std::string::npos) << canonical;
}

TEST(SigV4Test, AmzDateIsUtc) {
  using namespace std::chrono;
  EXPECT_EQ(SigV4AmzDate(sys_days{year{2024} / December / 31} + hours{23} + minutes{59} + seconds{58}),
            "20241231T235958Z");
}

}  // namespace
}  // namespace refinery

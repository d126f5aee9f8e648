// SigV4 against botocore (the AWS SDK for Python, Debian's python3-botocore)
// on fixed inputs: s3rver does not check signatures, so this and the AWS
// examples in sigv4_test.cpp are what prove ours right. botocore encodes the
// object path itself (percent_encode(key, safe='/~'), as its S3 serializer
// does) and hashes the body itself, so neither step is borrowed from us.
//
// Debian's modules are visible only to /usr/bin/python3, not to a python3
// that may come first on the PATH.
#include "blob/sigv4.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/hash.h"
#include "support/test_support.h"

namespace refinery {
namespace {

// Reads cases (JSON) from argv[1]; prints one Authorization header per case.
constexpr char kBotocoreScript[] = R"PY(
import json, sys
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

for case in json.load(open(sys.argv[1], encoding='utf-8')):
    url = 'http://' + case['host'] + percent_encode(case['path'], safe='/~')
    request = AWSRequest(method=case['method'], url=url, headers=case['headers'],
                         data=bytes.fromhex(case['body_hex']),
                         params=[tuple(pair) for pair in case['query']])
    auth = S3SigV4Auth(Credentials(case['access_key'], case['secret_key']), 's3', case['region'])
    # add_auth() without its clock: the same steps at a fixed timestamp.
    request.context['timestamp'] = case['amz_date']
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    print(request.headers['Authorization'])
)PY";

struct Case {
  SigV4Request request;
  SigV4Credentials credentials;
  std::string body;
  std::chrono::system_clock::time_point when;
};

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {kHex[c >> 4], kHex[c & 0xF]};
  return out;
}

std::string AllBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

Case MakeCase(std::string method, std::string host, std::string path, std::string body = "") {
  using namespace std::chrono;
  Case c;
  c.request.method = std::move(method);
  c.request.host = std::move(host);
  c.request.path = std::move(path);
  c.body = std::move(body);
  c.request.payload_sha256 = Sha256Hex(c.body);
  c.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  c.when = sys_days{year{2024} / February / 29} + hours{12} + minutes{34} + seconds{56};
  return c;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back(MakeCase("GET", "127.0.0.1:9000", "/refinery/docs/1/original.pdf"));
  Case unicode = MakeCase("PUT", "localhost:54620",
                          "/bucket/dir with space/\xC3\xBCnic\xC3\xB8"
                          "de/"
                          "\xE6\x97\xA5\xE6\x9C\xAC.txt",
                          AllBytes());
  unicode.request.headers = {{"Content-Type", "application/octet-stream"},
                             {"X-Amz-Meta-Note", "  spaced   out\tvalue  "}};
  cases.push_back(unicode);
  Case listing = MakeCase("GET", "s3.eu-west-1.amazonaws.com", "/bucket");
  listing.request.query = {
      {"list-type", "2"}, {"prefix", "a b/\xC3\xBC"}, {"max-keys", "10"}, {"continuation-token", "abc+/=~"}};
  listing.credentials.region = "eu-west-1";
  cases.push_back(listing);
  Case punctuation = MakeCase("DELETE", "minio:9000", "/bucket/a+b=c&d$e@f:g,h;i'j(k)l*m!n~o");
  punctuation.request.query = {{"versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo"}};
  cases.push_back(punctuation);
  Case no_normalising = MakeCase("HEAD", "127.0.0.1:9000", "/bucket/a//b/./c/../d");
  no_normalising.credentials = {"key with space", "s3cr3t/+=!@#", "us-west-2", "s3"};
  cases.push_back(no_normalising);
  Case acl = MakeCase("PUT", "127.0.0.1:9000", "/bucket", "<AccessControlPolicy/>");
  acl.request.query = {{"acl", ""}};
  cases.push_back(acl);
  return cases;
}

nlohmann::json ToJson(const Case& c) {
  nlohmann::json query = nlohmann::json::array();
  for (const auto& [name, value] : c.request.query) query.push_back({name, value});
  return {{"method", c.request.method},
          {"host", c.request.host},
          {"path", c.request.path},
          {"query", query},
          {"headers", c.request.headers},
          {"body_hex", Hex(c.body)},
          {"access_key", c.credentials.access_key},
          {"secret_key", c.credentials.secret_key},
          {"region", c.credentials.region},
          {"amz_date", SigV4AmzDate(c.when)}};
}

struct PipeCloser {
  void operator()(FILE* pipe) const { pclose(pipe); }
};

// Runs `command`, returning its standard output split into lines.
std::vector<std::string> RunLines(const std::string& command) {
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  std::vector<std::string> lines;
  if (!pipe) return lines;
  std::string output;
  std::array<char, 4096> buffer{};
  size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) output.append(buffer.data(), got);
  std::istringstream stream(output);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

TEST(SigV4BotocoreTest, AuthorizationMatchesBotocoreByteForByte) {
  if (std::system("/usr/bin/python3 -c 'import botocore' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import botocore (apt-get install python3-botocore)";
  }
  refinery::testing::TempDir temp;
  std::vector<Case> cases = Cases();
  nlohmann::json input = nlohmann::json::array();
  for (const Case& c : cases) input.push_back(ToJson(c));
  std::ofstream(temp.path() + "/cases.json") << input.dump();
  std::ofstream(temp.path() + "/sign.py") << kBotocoreScript;
  std::vector<std::string> expected =
      RunLines("/usr/bin/python3 " + temp.path() + "/sign.py " + temp.path() + "/cases.json 2>&1");
  ASSERT_EQ(expected.size(), cases.size()) << (expected.empty() ? "" : expected.back());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].request.method + " " + cases[i].request.path);
    EXPECT_EQ(SignV4(cases[i].request, cases[i].credentials, cases[i].when).authorization, expected[i]);
  }
}

}  // namespace
}  // namespace refinery

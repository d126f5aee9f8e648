#include "blob/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "core/hash.h"

namespace refinery {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xF]);
  }
  return out;
}

// Raw (binary) HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest.data(), &length);
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

// RFC 3986 unreserved characters, spelled out: std::isalnum depends on the locale.
bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// SigV4 "Trimall": no leading or trailing blanks, inner runs of blanks
// collapsed to one space.
std::string TrimAll(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (unsigned char c : value) {
    if (std::isspace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// Every signed header, lower-case name -> trimmed value, sorted by name.
std::map<std::string, std::string> SignedHeaderMap(const SigV4Request& request, const std::string& amz_date) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) headers[Lower(name)] = TrimAll(value);
  headers["host"] = TrimAll(request.host);
  headers["x-amz-date"] = amz_date;
  headers["x-amz-content-sha256"] = request.payload_sha256;
  return headers;
}

std::string SignedHeaderNames(const std::map<std::string, std::string>& headers) {
  std::string names;
  for (const auto& [name, value] : headers) names += (names.empty() ? "" : ";") + name;
  return names;
}

std::string CredentialScope(const std::string& amz_date, const SigV4Credentials& credentials) {
  return amz_date.substr(0, 8) + "/" + credentials.region + "/" + credentials.service + "/aws4_request";
}

// kSigning = HMAC chain over date, region, service and "aws4_request".
std::string SigningKey(const std::string& amz_date, const SigV4Credentials& credentials) {
  std::string key = HmacSha256("AWS4" + credentials.secret_key, amz_date.substr(0, 8));
  key = HmacSha256(key, credentials.region);
  key = HmacSha256(key, credentials.service);
  return HmacSha256(key, "aws4_request");
}

}  // namespace

std::string SigV4UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

std::string SigV4CanonicalQuery(const SigV4Query& query) {
  SigV4Query encoded;
  for (const auto& [name, value] : query) {
    encoded.emplace_back(SigV4UriEncode(name, false), SigV4UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) out += (out.empty() ? "" : "&") + name + "=" + value;
  return out;
}

std::string SigV4AmzDate(std::chrono::system_clock::time_point now) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 20> buffer{};
  size_t length = std::strftime(buffer.data(), buffer.size(), "%Y%m%dT%H%M%SZ", &utc);
  return std::string(buffer.data(), length);
}

std::string SigV4CanonicalRequest(const SigV4Request& request, const std::string& amz_date) {
  auto headers = SignedHeaderMap(request, amz_date);
  std::string canonical_headers;
  for (const auto& [name, value] : headers) canonical_headers += name + ":" + value + "\n";
  return request.method + "\n" + SigV4UriEncode(request.path, true) + "\n" + SigV4CanonicalQuery(request.query) + "\n" +
         canonical_headers + "\n" + SignedHeaderNames(headers) + "\n" + request.payload_sha256;
}

std::string SigV4StringToSign(const std::string& canonical_request, const std::string& amz_date,
                              const SigV4Credentials& credentials) {
  return std::string(kAlgorithm) + "\n" + amz_date + "\n" + CredentialScope(amz_date, credentials) + "\n" +
         Sha256Hex(canonical_request);
}

SigV4Headers SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                    std::chrono::system_clock::time_point now) {
  SigV4Headers out;
  out.amz_date = SigV4AmzDate(now);
  out.content_sha256 = request.payload_sha256;
  std::string string_to_sign =
      SigV4StringToSign(SigV4CanonicalRequest(request, out.amz_date), out.amz_date, credentials);
  std::string signature = HmacSha256(SigningKey(out.amz_date, credentials), string_to_sign);
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key + "/" +
                      CredentialScope(out.amz_date, credentials) +
                      ", SignedHeaders=" + SignedHeaderNames(SignedHeaderMap(request, out.amz_date)) +
                      ", Signature=" + Hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
  return out;
}

}  // namespace refinery

// TestSite's HTTP/1.1 framing (test_site_http.cpp), shared with the server
// in test_site.cpp. Not for tests: use test_site.h.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "support/test_site.h"

namespace refinery::testing::site_internal {

constexpr size_t kMaxHeadBytes = 64 * 1024;  // a longer request head gets 431

inline std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

inline std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// A parsed request head and what it says about the connection.
struct Incoming {
  SiteRequest request;
  bool keep_alive = true;
  int error_status = 0;  // when reading failed with something to answer (400, 431)
};

// Reads one request head (lenient: any method and target, HTTP/1.x) and
// drops its Content-Length body; false when the connection is to end, with
// in.error_status set when there is something to answer first.
bool ReadRequest(int fd, std::string& buffer, Incoming& in);
// Sends all of `bytes` (MSG_NOSIGNAL: a gone client is a false, not SIGPIPE).
bool SendAll(int fd, std::string_view bytes);
// Whether an Accept-Encoding value allows gzip (by name or "*", with q > 0).
bool AcceptsGzip(std::string_view accept_encoding);
// The status line and headers; Content-Length when `length` is set.
std::string ResponseHead(const SiteResponse& response, bool gzip, bool keep_alive, std::optional<size_t> length);
std::string_view ReasonPhrase(int status);                // "Status" for codes it does not know
SiteResponse TextResponse(int status, std::string body);  // text/plain; charset=utf-8

}  // namespace refinery::testing::site_internal

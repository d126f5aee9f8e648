// Absolute http(s) URLs for the crawler: parsing, RFC 3986 reference
// resolution and one normalised form per page, so the frontier can
// deduplicate URLs, group them by site and match them against robots.txt.
// Anything that is not an absolute http(s) URL (mailto:, javascript:, ftp:,
// userinfo, non-ASCII hosts) is an InvalidArgument error, not a Url.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace refinery::crawl {

// Longer input (after whitespace removal) or a longer normalised URL is
// rejected: no real page needs it, and it bounds every later string operation.
inline constexpr std::size_t kMaxUrlLength = 8192;

// A normalised absolute http(s) URL. Build it with ParseUrl or ResolveUrl so
// that two spellings of one resource compare equal field by field.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case, no trailing dot; an IPv6 literal without brackets ("::1")
  int port = 0;        // 0 when absent or the scheme's default (80 http, 443 https)
  std::string path;    // starts with "/", dot segments removed, percent-encoding normalised
  std::string query;   // without the "?", percent-encoding normalised; empty when none
  // The fragment is dropped: it never reaches the server.

  bool operator==(const Url&) const = default;
};

// Parses an absolute http(s) URL and normalises it: scheme and host
// lower-cased, default port dropped, dot segments removed, percent-encoding
// normalised (hex upper-case, unreserved characters decoded, disallowed bytes
// such as spaces encoded), fragment dropped. Leading and trailing whitespace
// and control characters are trimmed and tabs/CR/LF inside removed, as
// browsers do with href values. Errors are InvalidArgument naming the problem.
Result<Url> ParseUrl(std::string_view text);

// Resolves `reference` (an href value: relative path, "../x", "//host/x",
// "?q", "#frag", or absolute) against `base` per RFC 3986 section 5.2, then
// normalises the result like ParseUrl. "http:g" with the base's own scheme is
// treated as relative (the RFC's backward-compatible reading). References with
// another scheme (mailto:, javascript:, data:, ftp:) are "unsupported scheme".
Result<Url> ResolveUrl(const Url& base, std::string_view reference);

// "https://example.org/a/b?x=1"; the port only when non-default, IPv6 hosts in brackets.
std::string ToString(const Url& url);
// "https://example.org", "http://127.0.0.1:8080": the key for per-host politeness.
std::string Origin(const Url& url);
// "/a/b?x=1": the request target, and what robots.txt rules are matched against.
std::string PathAndQuery(const Url& url);

// True when both URLs belong to one site for crawl scoping: equal hosts after
// dropping a leading "www." and equal `port` fields, ignoring the scheme (so
// http://example.org and https://www.example.org are one site; an explicit
// non-default port makes a different site).
bool SameSite(const Url& a, const Url& b);

// True when the path starts with `prefix` at a segment boundary: "/docs"
// matches "/docs", "/docs/" and "/docs/a" but not "/docsx"; a prefix ending in
// "/" (including "/" itself) is a plain prefix; an empty prefix matches all.
// `prefix` is compared as given, so pass it in normalised form.
bool HasPathPrefix(const Url& url, std::string_view prefix);

}  // namespace refinery::crawl

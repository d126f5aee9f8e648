#include "crawl/url.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

namespace refinery::crawl {
namespace {

constexpr std::string_view kHexDigits = "0123456789ABCDEF";

bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(unsigned char c) { return IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }
char Lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }
bool IsUnreserved(unsigned char c) { return IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool IsSubDelim(unsigned char c) {
  return std::string_view("!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos;
}
// RFC 3986 pchar without pct-encoded, plus "/": what may appear raw in a path.
bool IsPathChar(unsigned char c) { return IsUnreserved(c) || IsSubDelim(c) || c == ':' || c == '@' || c == '/'; }

void AppendPercent(std::string& out, unsigned char c) {
  out += '%';
  out += kHexDigits[c >> 4];
  out += kHexDigits[c & 0xF];
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(static_cast<unsigned char>(c));
  return out;
}

// The input quoted for an error message: bounded, control and non-ASCII bytes
// escaped, so a hostile URL cannot flood or corrupt a log line or JSON body.
std::string Printable(std::string_view s) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '\\') {
      out += "\\x";
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

Status Bad(std::string_view problem, std::string_view text) {
  return Status::InvalidArgument(std::string(problem) + " in URL '" + Printable(text) + "'");
}

// Trims C0 controls and spaces at both ends and drops tabs/CR/LF inside.
std::string Clean(std::string_view text) {
  while (!text.empty() && static_cast<unsigned char>(text.front()) <= 0x20) text.remove_prefix(1);
  while (!text.empty() && static_cast<unsigned char>(text.back()) <= 0x20) text.remove_suffix(1);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\t' && c != '\n' && c != '\r') out += c;
  }
  return out;
}

// The components of a URI reference (RFC 3986 appendix B); the fragment is dropped.
struct Parts {
  std::optional<std::string_view> scheme;
  std::optional<std::string_view> authority;
  std::string_view path;
  std::optional<std::string_view> query;
};

bool IsSchemeText(std::string_view s) {
  if (s.empty() || !IsAlpha(static_cast<unsigned char>(s[0]))) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

Parts Split(std::string_view s) {
  Parts parts;
  std::size_t i = 0;
  std::size_t colon = s.find_first_of(":/?#");
  if (colon != std::string_view::npos && s[colon] == ':' && IsSchemeText(s.substr(0, colon))) {
    parts.scheme = s.substr(0, colon);
    i = colon + 1;
  }
  if (s.substr(i).starts_with("//")) {
    std::size_t end = std::min(s.find_first_of("/?#", i + 2), s.size());
    parts.authority = s.substr(i + 2, end - i - 2);
    i = end;
  }
  std::size_t end = std::min(s.find_first_of("?#", i), s.size());
  parts.path = s.substr(i, end - i);
  if (end < s.size() && s[end] == '?') {
    std::size_t hash = std::min(s.find('#', end + 1), s.size());
    parts.query = s.substr(end + 1, hash - end - 1);
  }
  return parts;
}

// Percent-encoding normalisation (RFC 3986 6.2.2.1-2): escapes of unreserved
// characters decoded, other escapes upper-cased, bytes not allowed raw in a
// path (or query, which also allows "?") encoded, a stray "%" encoded as "%25".
std::string NormalisePercent(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      auto decoded = static_cast<unsigned char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      if (IsUnreserved(decoded)) {
        out += static_cast<char>(decoded);
      } else {
        AppendPercent(out, decoded);
      }
      i += 2;
    } else if (IsPathChar(c) || (query && c == '?')) {
      out += static_cast<char>(c);
    } else {
      AppendPercent(out, c);
    }
  }
  return out;
}

// RFC 3986 5.2.4 on an absolute path, segment by segment: "." dropped, ".."
// drops the previous segment, a trailing "." or ".." leaves a trailing "/".
std::string RemoveDotSegments(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  std::vector<std::string_view> out;
  while (true) {
    std::size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else if (segment == ".") {
      if (last) out.emplace_back();
    } else {
      out.push_back(segment);
    }
    if (last) break;
    path.remove_prefix(slash + 1);
  }
  std::string result;
  for (std::string_view segment : out) {
    result += '/';
    result += segment;
  }
  return result.empty() ? "/" : result;
}

// One 16-bit group list of an IPv6 address ("1:db8" or "ffff:1.2.3.4" when it
// ends the address); false on any malformed group.
bool ParseIpv6Groups(std::string_view s, bool may_end_in_ipv4, std::vector<std::uint16_t>& out) {
  while (!s.empty()) {
    std::size_t colon = s.find(':');
    std::string_view group = s.substr(0, colon);
    bool last = colon == std::string_view::npos;
    if (last && may_end_in_ipv4 && group.find('.') != std::string_view::npos) {
      std::array<unsigned, 4> octets{};
      std::size_t start = 0;
      for (std::size_t k = 0; k < 4; ++k) {
        std::size_t dot = k < 3 ? group.find('.', start) : group.size();
        if (dot == std::string_view::npos) return false;
        std::string_view digits = group.substr(start, dot - start);
        if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return false;
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), octets[k]);
        if (ec != std::errc() || ptr != digits.data() + digits.size() || octets[k] > 255) return false;
        start = dot + 1;
      }
      out.push_back(static_cast<std::uint16_t>(octets[0] << 8 | octets[1]));
      out.push_back(static_cast<std::uint16_t>(octets[2] << 8 | octets[3]));
      return true;
    }
    if (group.empty() || group.size() > 4) return false;
    unsigned value = 0;
    for (char c : group) {
      if (!IsHex(c)) return false;
      value = value * 16 + static_cast<unsigned>(HexValue(c));
    }
    out.push_back(static_cast<std::uint16_t>(value));
    if (last) return true;
    s.remove_prefix(colon + 1);
    if (s.empty()) return false;  // a trailing single ":"
  }
  return true;
}

// Parses the text between the brackets and returns the RFC 5952 form
// (lower-case, no leading zeros, the longest zero run as "::").
Result<std::string> CanonicalIpv6(std::string_view s) {
  Status bad = Status::InvalidArgument("invalid IPv6 address '[" + Printable(s) + "]'");
  std::vector<std::uint16_t> head, tail;
  std::size_t gap = s.find("::");
  bool compressed = gap != std::string_view::npos;
  if (compressed && s.find("::", gap + 1) != std::string_view::npos) return bad;
  if (!ParseIpv6Groups(s.substr(0, gap), !compressed, head)) return bad;
  if (compressed && !ParseIpv6Groups(s.substr(gap + 2), true, tail)) return bad;
  std::size_t count = head.size() + tail.size();
  if (compressed ? count > 7 : count != 8) return bad;
  std::array<std::uint16_t, 8> groups{};
  std::copy(head.begin(), head.end(), groups.begin());
  std::copy(tail.begin(), tail.end(), groups.end() - static_cast<std::ptrdiff_t>(tail.size()));

  int best = -1, best_len = 1;  // a single zero group is not compressed
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j > i ? j : i + 1;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::array<char, 4> hex{};
    auto [ptr, ec] = std::to_chars(hex.data(), hex.data() + hex.size(), groups[i], 16);
    out.append(hex.data(), ptr);
  }
  return out;
}

// A registered name: percent-decoded, lower-cased, one trailing dot removed,
// DNS-like characters and label lengths only (no IDNA: non-ASCII is an error).
Result<std::string> CanonicalRegName(std::string_view s) {
  std::string host;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) {
        return Status::InvalidArgument("invalid percent-encoding in host");
      }
      c = static_cast<unsigned char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    }
    if (c >= 0x80) return Status::InvalidArgument("non-ASCII host (internationalised names are not supported)");
    c = static_cast<unsigned char>(Lower(c));
    if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '.' && c != '_') {
      return Status::InvalidArgument("invalid character '" + Printable(std::string(1, static_cast<char>(c))) +
                                     "' in host");
    }
    host += static_cast<char>(c);
  }
  if (host.ends_with('.')) host.pop_back();
  if (host.empty()) return Status::InvalidArgument("missing host");
  if (host.size() > 253) return Status::InvalidArgument("host longer than 253 characters");
  std::string_view rest = host;
  while (true) {
    std::size_t dot = rest.find('.');
    std::size_t label = std::min(dot, rest.size());
    if (label == 0 || label > 63) return Status::InvalidArgument("empty or over-long label in host");
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return host;
}

int DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

struct HostPort {
  std::string host;
  int port = 0;
};

// host [":" port], where host may be "[IPv6]"; the default port becomes 0.
Result<HostPort> ParseAuthority(std::string_view authority, std::string_view scheme) {
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("userinfo (user:pass@) not allowed");
  }
  std::string_view host = authority, port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return Status::InvalidArgument("unexpected text after IPv6 literal");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  HostPort out;
  if (has_port && !port.empty()) {
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || ptr != port.data() + port.size() || out.port < 1 || out.port > 65535) {
      return Status::InvalidArgument("invalid port '" + Printable(port) + "'");
    }
    if (out.port == DefaultPort(scheme)) out.port = 0;
  }
  Result<std::string> canonical = authority.starts_with('[') ? CanonicalIpv6(host) : CanonicalRegName(host);
  if (!canonical.ok()) return canonical.status();
  out.host = std::move(canonical).value();
  return out;
}

// "host[:port]" as ParseAuthority reads it back.
std::string Authority(const Url& url) {
  std::string out = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != 0) out += ":" + std::to_string(url.port);
  return out;
}

// The normalised Url from already resolved components; `text` is the input, for messages.
Result<Url> Build(std::string scheme, std::string_view authority, std::string_view path, std::string_view query,
                  std::string_view text) {
  Result<HostPort> host_port = ParseAuthority(authority, scheme);
  if (!host_port.ok()) return Bad(host_port.status().message(), text);
  Url url;
  url.scheme = std::move(scheme);
  url.host = std::move(host_port->host);
  url.port = host_port->port;
  url.path = RemoveDotSegments(NormalisePercent(path, false));
  url.query = NormalisePercent(query, true);
  if (ToString(url).size() > kMaxUrlLength) return Bad("normalised URL longer than 8192 bytes", text);
  return url;
}

// Lower-cased scheme if it is http(s); the "unsupported scheme" error otherwise.
Result<std::string> HttpScheme(std::string_view scheme, std::string_view text) {
  std::string lower = ToLower(scheme);
  if (lower != "http" && lower != "https") return Bad("unsupported scheme '" + Printable(lower) + "'", text);
  return lower;
}

// RFC 3986 5.2.3: the base path up to its last "/", then the reference path.
std::string Merge(std::string_view base_path, std::string_view reference_path) {
  std::size_t slash = base_path.rfind('/');
  std::string out = slash == std::string_view::npos ? "/" : std::string(base_path.substr(0, slash + 1));
  out += reference_path;
  return out;
}

}  // namespace

Result<Url> ParseUrl(std::string_view text) {
  std::string clean = Clean(text);
  if (clean.size() > kMaxUrlLength) return Bad("URL longer than 8192 bytes", clean);
  Parts parts = Split(clean);
  if (!parts.scheme) {
    return Status::InvalidArgument("not an absolute http(s) URL: '" + Printable(clean) + "'");
  }
  Result<std::string> scheme = HttpScheme(*parts.scheme, clean);
  if (!scheme.ok()) return scheme.status();
  if (!parts.authority) {
    return Status::InvalidArgument("not an absolute http(s) URL: '" + Printable(clean) + "'");
  }
  return Build(std::move(scheme).value(), *parts.authority, parts.path, parts.query.value_or(""), clean);
}

// RFC 3986 5.2.2 (non-strict), with the base already parsed and normalised.
Result<Url> ResolveUrl(const Url& base, std::string_view reference) {
  std::string clean = Clean(reference);
  if (clean.size() > kMaxUrlLength) return Bad("URL longer than 8192 bytes", clean);
  Parts ref = Split(clean);
  if (ref.scheme && !ref.authority && ToLower(*ref.scheme) == base.scheme) ref.scheme.reset();
  if (ref.scheme) {
    Result<std::string> scheme = HttpScheme(*ref.scheme, clean);
    if (!scheme.ok()) return scheme.status();
    if (!ref.authority) return Status::InvalidArgument("not an absolute http(s) URL: '" + Printable(clean) + "'");
    return Build(std::move(scheme).value(), *ref.authority, ref.path, ref.query.value_or(""), clean);
  }
  if (ref.authority) return Build(base.scheme, *ref.authority, ref.path, ref.query.value_or(""), clean);
  std::string authority = Authority(base);
  if (ref.path.empty()) return Build(base.scheme, authority, base.path, ref.query.value_or(base.query), clean);
  std::string path = ref.path.starts_with('/') ? std::string(ref.path) : Merge(base.path, ref.path);
  return Build(base.scheme, authority, path, ref.query.value_or(""), clean);
}

std::string ToString(const Url& url) { return url.scheme + "://" + Authority(url) + PathAndQuery(url); }

std::string Origin(const Url& url) { return url.scheme + "://" + Authority(url); }

std::string PathAndQuery(const Url& url) {
  std::string out = url.path.empty() ? "/" : url.path;
  if (!url.query.empty()) out += "?" + url.query;
  return out;
}

bool SameSite(const Url& a, const Url& b) {
  auto site = [](std::string_view host) { return host.starts_with("www.") ? host.substr(4) : host; };
  return a.port == b.port && site(a.host) == site(b.host);
}

bool HasPathPrefix(const Url& url, std::string_view prefix) {
  std::string_view path = url.path;
  if (!path.starts_with(prefix)) return false;
  return prefix.empty() || prefix.ends_with('/') || path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace refinery::crawl

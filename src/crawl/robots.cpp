#include "crawl/robots.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

namespace refinery::crawl {
namespace {

constexpr std::string_view kHexDigits = "0123456789ABCDEF";

bool IsHex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(unsigned char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
char Lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }

void AppendPercent(std::string& out, unsigned char c) {
  out += '%';
  out += kHexDigits[c >> 4];
  out += kHexDigits[c & 0xF];
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class Key { kUserAgent, kAllow, kDisallow, kCrawlDelay, kSitemap, kOther };

// Record names are case-insensitive; a few common misspellings are accepted
// as major crawlers do.
Key ParseKey(std::string_view raw) {
  std::string key;
  for (char c : raw) key += Lower(static_cast<unsigned char>(c));
  if (key == "user-agent" || key == "useragent" || key == "user agent") return Key::kUserAgent;
  if (key == "allow") return Key::kAllow;
  if (key == "disallow" || key == "dissallow" || key == "disalow") return Key::kDisallow;
  if (key == "crawl-delay" || key == "crawldelay") return Key::kCrawlDelay;
  if (key == "sitemap" || key == "site-map") return Key::kSitemap;
  return Key::kOther;
}

// The product name a user-agent value starts with (RFC 9309 2.2.1:
// [a-zA-Z_-]+), lower-cased: "refinery" for "Refinery/1.0 (+https://...)".
std::string ProductName(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && c != '-' && c != '_') break;
    out += Lower(c);
  }
  return out;
}

// One spelling for comparison (RFC 9309 2.2.2): escapes of printable ASCII
// decoded (so "/%7Efoo" is "/~foo" and "%3A" is ":"), other escapes
// upper-cased, controls, spaces and non-ASCII bytes encoded. In a pattern a
// raw '*' is the wildcard (runs collapsed) and a final raw '$' the anchor;
// anywhere else, and in paths, '*', '$' and '%' stay encoded so that they
// are literal on both sides.
std::string Canonical(std::string_view s, bool pattern) {
  std::string out;
  out.reserve(s.size() + 1);
  if (pattern && !s.starts_with('/') && !s.starts_with('*')) out += '/';
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      c = static_cast<unsigned char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
      bool literal = c > 0x20 && c < 0x7F && c != '%' && c != '*' && c != '$';
      if (literal) {
        out += static_cast<char>(c);
      } else {
        AppendPercent(out, c);
      }
    } else if (c == '%' || c <= 0x20 || c >= 0x7F) {
      AppendPercent(out, c);
    } else if (c == '*' && pattern) {
      if (!out.ends_with('*')) out += '*';
    } else if (c == '*' || (c == '$' && !(pattern && i + 1 == s.size()))) {
      AppendPercent(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The first occurrence of `needle` in `text` at or after `from`, in
// O(text + needle) whatever the input (Knuth-Morris-Pratt for long needles).
std::size_t Find(std::string_view text, std::string_view needle, std::size_t from) {
  if (needle.size() <= 8) return text.find(needle, from);  // at most 8 compares per byte
  std::vector<std::size_t> fail(needle.size(), 0);
  for (std::size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = fail[k - 1];
    if (needle[i] == needle[k]) ++k;
    fail[i] = k;
  }
  for (std::size_t i = from, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != needle[k]) k = fail[k - 1];
    if (text[i] == needle[k]) ++k;
    if (k == needle.size()) return i + 1 - needle.size();
  }
  return std::string_view::npos;
}

// Whether `pattern` (canonical) matches a prefix of `path` (canonical), or
// all of it with a trailing '$'. The text before the first '*' must start the
// path; each later literal piece is taken at its leftmost occurrence (which is
// optimal for '*'-only patterns), and a '$'-anchored last piece must end the
// path. No backtracking: O(path + pattern).
bool Matches(std::string_view pattern, std::string_view path) {
  bool anchored = pattern.ends_with('$');
  if (anchored) pattern.remove_suffix(1);
  std::size_t star = pattern.find('*');
  std::string_view head = pattern.substr(0, star);
  if (!path.starts_with(head)) return false;
  if (star == std::string_view::npos) return !anchored || path.size() == head.size();
  std::size_t pos = head.size();
  std::string_view rest = pattern.substr(star + 1);
  while (true) {
    std::size_t next = rest.find('*');
    std::string_view piece = rest.substr(0, next);
    if (next == std::string_view::npos) {
      if (!anchored) return Find(path, piece, pos) != std::string_view::npos;
      return path.size() - pos >= piece.size() && path.ends_with(piece);
    }
    std::size_t at = Find(path, piece, pos);
    if (at == std::string_view::npos) return false;
    pos = at + piece.size();
    rest.remove_prefix(next + 1);
  }
}

// "0.5" or "10" seconds; negative, non-finite or trailing garbage -> nullopt.
std::optional<double> ParseDelay(std::string_view value) {
  double delay = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), delay);
  if (ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(delay) || delay < 0) {
    return std::nullopt;
  }
  return std::min(delay, kRobotsMaxCrawlDelayS);
}

// What the groups for one agent (us, or "*") add up to.
struct Selected {
  std::vector<std::pair<std::string, bool>> rules;  // canonical pattern, allow
  double delay_s = 0;
  bool found = false;  // some group named this agent, even one without rules
};

// One pass over the lines, feeding our groups and the "*" groups at once.
class Parser {
 public:
  explicit Parser(std::string_view product_token) : token_(ProductName(product_token)) {}

  void Line(std::string_view line) {
    line = line.substr(0, line.find('#'));
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    Key key = ParseKey(Trim(line.substr(0, colon)));
    std::string_view value = Trim(line.substr(colon + 1));
    if (key == Key::kUserAgent) {
      UserAgent(value);
    } else if (key == Key::kSitemap) {
      if (!value.empty() && seen_sitemaps_.emplace(value).second) sitemaps.emplace_back(value);
    } else if (key != Key::kOther) {
      Member(key, value);
    }
  }

  Selected ours, star;
  std::vector<std::string> sitemaps;

 private:
  // Consecutive user-agent lines open one group; one after a member line opens the next.
  void UserAgent(std::string_view value) {
    if (!in_agents_) for_us_ = for_star_ = false;
    in_agents_ = true;
    if (value == "*" || value.starts_with("* ") || value.starts_with("*\t")) {
      for_star_ = star.found = true;
    } else if (!token_.empty() && ProductName(value) == token_) {
      for_us_ = ours.found = true;
    }
  }

  void Member(Key key, std::string_view value) {
    in_agents_ = false;
    if (!for_us_ && !for_star_) return;  // rules before any user-agent line belong to no group
    if (key == Key::kCrawlDelay) {
      std::optional<double> delay = ParseDelay(value);
      if (!delay) return;
      if (for_us_) ours.delay_s = std::max(ours.delay_s, *delay);
      if (for_star_) star.delay_s = std::max(star.delay_s, *delay);
      return;
    }
    if (value.empty()) return;  // "Disallow:" allows everything; "Allow:" says nothing
    std::string pattern = Canonical(value, true);
    if (pattern.size() > kRobotsMaxPatternBytes) return;
    bool allow = key == Key::kAllow;
    if (for_us_) ours.rules.emplace_back(pattern, allow);
    if (for_star_) star.rules.emplace_back(std::move(pattern), allow);
  }

  std::string token_;
  bool in_agents_ = false;
  bool for_us_ = false;
  bool for_star_ = false;
  std::unordered_set<std::string> seen_sitemaps_;
};

// The part of `body` that is parsed: BOM dropped, at most kRobotsMaxBytes,
// and a line cut by that limit dropped.
std::string_view Bounded(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  if (body.size() <= kRobotsMaxBytes) return body;
  bool cut_mid_line = body[kRobotsMaxBytes] != '\n' && body[kRobotsMaxBytes] != '\r';
  body = body.substr(0, kRobotsMaxBytes);
  if (cut_mid_line) {
    std::size_t last_break = body.find_last_of("\r\n");
    body = last_break == std::string_view::npos ? std::string_view() : body.substr(0, last_break);
  }
  return body;
}

}  // namespace

RobotsRules RobotsRules::Parse(std::string_view body, std::string_view product_token) {
  body = Bounded(body);
  Parser parser(product_token);
  for (std::size_t start = 0; start < body.size();) {
    std::size_t end = std::min(body.find_first_of("\r\n", start), body.size());
    parser.Line(body.substr(start, end - start));
    bool crlf = end + 1 < body.size() && body[end] == '\r' && body[end + 1] == '\n';
    start = end + (crlf ? 2 : 1);
  }
  // RFC 9309 2.2.1: the groups naming us, merged; otherwise the "*" groups.
  Selected& chosen = parser.ours.found ? parser.ours : parser.star;
  RobotsRules rules;
  rules.rules_.reserve(chosen.rules.size());
  for (auto& [pattern, allow] : chosen.rules) rules.rules_.push_back({std::move(pattern), allow});
  std::stable_sort(rules.rules_.begin(), rules.rules_.end(), [](const Rule& a, const Rule& b) {
    if (a.pattern.size() != b.pattern.size()) return a.pattern.size() > b.pattern.size();
    return a.allow && !b.allow;
  });
  rules.crawl_delay_s_ = chosen.delay_s;
  rules.sitemaps_ = std::move(parser.sitemaps);
  return rules;
}

RobotsRules RobotsRules::AllowAll() { return RobotsRules(); }

RobotsRules RobotsRules::DisallowAll() {
  RobotsRules rules;
  rules.rules_.push_back({"/", false});
  return rules;
}

bool RobotsRules::Allowed(std::string_view path_and_query) const {
  std::string path = Canonical(path_and_query.empty() ? "/" : path_and_query, false);
  if (std::string_view(path).substr(0, path.find('?')) == "/robots.txt") return true;
  for (const Rule& rule : rules_) {
    if (Matches(rule.pattern, path)) return rule.allow;
  }
  return true;
}

}  // namespace refinery::crawl

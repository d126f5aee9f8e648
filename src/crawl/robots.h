// robots.txt (RFC 9309) for the crawler: parsed once per site, then asked
// about every URL before it is fetched. Parsing never fails: a malformed file
// yields whatever rules could be read, unknown lines are ignored. What a
// failed fetch of robots.txt means is the caller's policy (RFC 9309 2.3.1:
// 4xx -> AllowAll, 5xx or unreachable -> DisallowAll).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace refinery::crawl {

// Only this much of a body is parsed (RFC 9309 2.5: at least 500 KiB); a
// line cut by the limit is dropped rather than read as a shorter pattern.
inline constexpr std::size_t kRobotsMaxBytes = 500 * 1024;
// Longer patterns (after percent-encoding normalisation) are ignored: no
// real URL needs them, and the bound keeps matching cheap.
inline constexpr std::size_t kRobotsMaxPatternBytes = 2048;
// Crawl-delay values above this are capped, so one site cannot park a worker.
inline constexpr double kRobotsMaxCrawlDelayS = 60.0;

// The rules of one robots.txt for one product token. Cheap to copy.
class RobotsRules {
 public:
  // Selects the groups whose user-agent's leading product name equals
  // `product_token` case-insensitively ("Refinery" matches "User-agent:
  // refinery/1.0"), merging all of them; without one, the "*" groups; without
  // those, no rules. `product_token` is reduced to its product name too.
  static RobotsRules Parse(std::string_view body, std::string_view product_token);
  // No rules: what a missing robots.txt (4xx) means.
  static RobotsRules AllowAll();
  // Everything but /robots.txt disallowed: what an unreachable one (5xx) means.
  static RobotsRules DisallowAll();

  // Whether the request target ("/a/b?x=1", as PathAndQuery gives it) may be
  // fetched: the longest matching pattern wins, Allow on a tie, allowed when
  // none matches; "/robots.txt" is always allowed. Percent-encoding is
  // normalised on both sides, so "/%7Efoo" and "/~foo" are the same.
  // Cost is O(path + pattern) per rule, whatever the wildcards.
  bool Allowed(std::string_view path_and_query) const;

  // Crawl-delay of the selected groups in seconds (the largest if several),
  // capped at kRobotsMaxCrawlDelayS; 0 when none or unreadable.
  double crawl_delay_s() const { return crawl_delay_s_; }
  // Every Sitemap: URL in the file, whatever group it sits in, in file
  // order without duplicates.
  std::vector<std::string> sitemaps() const { return sitemaps_; }
  // Allow and Disallow rules that apply to us (for logs and tests).
  std::size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    std::string pattern;  // normalised; '*' wildcard, a trailing '$' anchors
    bool allow = false;
  };

  // Longest pattern first, Allow before Disallow on equal length, so the
  // first match is the answer.
  std::vector<Rule> rules_;
  double crawl_delay_s_ = 0;
  std::vector<std::string> sitemaps_;
};

}  // namespace refinery::crawl

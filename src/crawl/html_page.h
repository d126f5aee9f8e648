// What the crawler needs from an HTML page: its title, readable text,
// links and the meta-data that steers crawling and indexing (base URL,
// canonical URL, language, robots directives). Parsed with gumbo; the input
// must already be UTF-8 (crawl/charset.h). Built for hostile input: bounded
// sizes and counts, no recursion, deep nesting flattened before parsing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace refinery::crawl {

inline constexpr size_t kMaxHtmlInputBytes = size_t{16} << 20;  // the rest is not parsed
inline constexpr size_t kMaxHtmlTextBytes = size_t{16} << 20;   // HtmlPage::text is cut there
inline constexpr size_t kMaxHtmlLinks = 10000;                  // later links are dropped
inline constexpr size_t kMaxHtmlHrefBytes = 8192;               // longer hrefs are skipped
inline constexpr size_t kMaxHtmlTitleBytes = 4096;              // HtmlPage::title is cut there

struct HtmlLink {
  std::string href;       // as written (entities decoded, trimmed), not resolved
  bool nofollow = false;  // rel="nofollow"; the page-level HtmlPage::nofollow is separate
};

struct HtmlPage {
  // <title>, whitespace collapsed; else the og:title <meta>; else the first
  // <h1>'s text; "" when none of them has text.
  std::string title;
  // Readable text: scripts, styles, navigation, headers/footers, asides,
  // forms and comments dropped; blocks (p, div, headings, li, tr, pre...)
  // separated by one blank line, <br> by a line break, whitespace inside a
  // block collapsed (pre keeps its lines), list items prefixed "- ", table
  // cells of a row joined with " | ". No leading, trailing or repeated
  // blank lines.
  std::string text;
  std::string base_href;  // the first <base href>, trimmed; "" when none
  std::string canonical;  // the first <link rel="canonical" href>, trimmed; "" when none
  std::string language;   // <html lang>, else <meta http-equiv="content-language">; "" when none
  // From <meta name="robots"> and <meta name="refinery"> content tokens:
  // "noindex", "nofollow", "none" (both).
  bool noindex = false;
  bool nofollow = false;
  // <a href> and <area href> in document order (also inside dropped parts
  // like <nav>, not inside <template> or SVG); empty hrefs skipped.
  std::vector<HtmlLink> links;
};

// Parses the first kMaxHtmlInputBytes of `html` (UTF-8; invalid bytes
// become U+FFFD). Never fails: any byte string yields a page, and every
// string in it is valid UTF-8.
HtmlPage ParseHtmlPage(std::string_view html);

}  // namespace refinery::crawl

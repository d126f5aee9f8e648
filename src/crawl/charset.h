// Content types and character sets of fetched pages: what kind of document a
// response is, which charset it is in (Content-Type header, BOM, HTML <meta>
// prescan) and its conversion to valid UTF-8 (glibc iconv, WHATWG labels),
// so everything after the fetcher only ever sees well-formed UTF-8.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace refinery::crawl {

// What the crawler does with a response body.
enum class ContentKind { kHtml, kText, kMarkdown, kPdf, kOther };

// The lower-case "type/subtype" of a Content-Type value, parameters dropped;
// "" when the value is empty or not of that shape.
std::string MediaType(std::string_view content_type);

// Classifies by media type only (case-insensitive, parameters ignored); the
// body is never sniffed. text/plain counts as Markdown when `url_path` ends
// in ".md" or ".markdown". Empty, malformed or other types: kOther.
ContentKind ClassifyContentType(std::string_view content_type, std::string_view url_path);

// The charset parameter of a Content-Type value, lower-cased, quotes and
// surrounding whitespace stripped; "" when there is none.
std::string CharsetFromContentType(std::string_view content_type);

// The HTML5 encoding prescan, simplified: a BOM ("utf-8", "utf-16be",
// "utf-16le"), else the first <meta charset=x> or <meta http-equiv=
// "Content-Type" content="...; charset=x"> in the first 1024 bytes (any
// attribute order, quotes optional, case-insensitive, comments skipped),
// else "". Returns the label as written, lower-cased; labels that are not
// WHATWG encodings are skipped, and a UTF-16 label in a <meta> means "utf-8"
// (a page that can declare itself in ASCII is not UTF-16).
std::string SniffHtmlCharset(std::string_view body);

// Converts `body` from `charset` (a WHATWG label, any case) to valid UTF-8
// and strips a leading BOM. "" and UTF-8 labels are validated, each invalid
// sequence replaced with U+FFFD. Labels map the way browsers decode them:
// ISO-8859-1/latin1 -> windows-1252, Shift_JIS -> windows-31j, GBK/GB2312 ->
// GB18030, EUC-KR -> windows-949, "utf-16" -> UTF-16LE unless a BOM says BE.
// "us-ascii"/"ascii": kept as UTF-8 when the body is valid UTF-8 (ASCII or
// mislabelled UTF-8), else decoded as windows-1252. Bytes invalid in the
// charset become U+FFFD; conversion never fails on content.
// InvalidArgument("unknown charset 'x'") for a label iconv cannot decode;
// InvalidArgument when `body` is over 64 MiB.
Result<std::string> ToUtf8(std::string_view body, std::string_view charset);

// `text` with every invalid UTF-8 sequence (overlongs, surrogates, past
// U+10FFFF, truncated) replaced by U+FFFD, one per maximal invalid subpart
// as in the WHATWG decoder. Valid input comes back unchanged.
std::string RepairUtf8(std::string_view text);

// Decodes a fetched body for text extraction; never fails. The charset is
// the BOM's, else the Content-Type header's, else (is_html) the <meta>
// prescan's, else UTF-8; an unknown label is skipped like a missing one, so
// the fallback is UTF-8 with replacement. Bodies over 64 MiB are cut.
// `used_charset` (may be null) receives the canonical WHATWG name of the
// encoding actually used ("utf-8", "windows-1252", "shift_jis"...).
std::string DecodePageText(std::string_view body, std::string_view content_type, bool is_html,
                           std::string* used_charset);

}  // namespace refinery::crawl

// Internals shared by charset.cpp and charset_detect.cpp: the WHATWG label
// table and the UTF-8 decoding step. Not for use outside crawl/charset*.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace refinery::crawl::internal {

enum class EncodingKind {
  kUtf8,    // validated and repaired, no iconv
  kAscii,   // "us-ascii" and friends: UTF-8 when valid, else windows-1252
  kUtf16,   // iconv with 2-byte error skips; a BOM picks the byte order
  kLegacy,  // iconv, 1-byte error skips
};

struct Encoding {
  std::string_view canonical;  // WHATWG name, reported as the charset used
  const char* iconv_name;
  EncodingKind kind;
  std::string_view labels;  // space-separated, lower-case
};

// The encoding `label` names (trimmed, any case), or null when unknown.
const Encoding* FindEncoding(std::string_view label);
const Encoding& Utf8Encoding();

// `label` without surrounding ASCII whitespace, ASCII lower-cased.
std::string NormalizeLabel(std::string_view label);

// Decodes `body` (at most 64 MiB) to valid UTF-8 without a leading BOM;
// never fails. `used` (may be null) receives the canonical name.
std::string Decode(std::string_view body, const Encoding& encoding, std::string* used);

// "utf-8", "utf-16be" or "utf-16le" for a body starting with that BOM, else "".
std::string_view BomCharset(std::string_view body);

// At `pos` < text.size(): the length of the valid UTF-8 sequence there
// (*valid = true) or of the maximal invalid subpart there (*valid = false:
// the lead byte plus the continuation bytes still acceptable after it).
size_t Utf8Step(std::string_view text, size_t pos, bool* valid);

}  // namespace refinery::crawl::internal

// UTF-8 helpers.
#pragma once

#include <cstddef>
#include <string_view>

namespace refinery {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or bytes past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` that does not cut a
// UTF-8 sequence in two (for bounded excerpts of valid UTF-8).
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);
// True when `pos` is a code point boundary (pos == size counts).
inline bool IsCodePointBoundary(std::string_view text, size_t pos) {
  return pos >= text.size() || (static_cast<unsigned char>(text[pos]) & 0xC0) != 0x80;
}

}  // namespace refinery

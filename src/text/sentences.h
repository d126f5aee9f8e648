// Paragraph and sentence boundaries of a UTF-8 text, as byte spans.
// Internal to the ingest module (the chunker builds on it).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace refinery::ingest {

// A half-open byte range [start, end) into the text it was computed from.
struct TextSpan {
  size_t start = 0;
  size_t end = 0;
};

// ASCII whitespace only: every other byte (including non-ASCII spaces) is
// content, so "non-whitespace byte" has one meaning across the module.
inline bool IsSpaceByte(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Paragraphs are separated by blank lines (a line holding only whitespace).
// Each span is trimmed and non-empty; together they hold every
// non-whitespace byte of `text`, in order.
std::vector<TextSpan> SplitParagraphs(std::string_view text);

// Appends the sentences of `paragraph` (a trimmed span of `text`) to `out`:
// trimmed, non-empty, in order, covering every non-whitespace byte of it.
// A sentence ends after '.', '!' or '?' (plus closing quotes/brackets) that
// is followed by whitespace and then an upper-case letter, digit, quote or
// non-ASCII character, or by whitespace holding a newline; not after common
// abbreviations ("e.g.", "et al.", "Fig.") or initials ("J."). CJK full
// stops end a sentence without whitespace.
void SplitSentences(std::string_view text, TextSpan paragraph, std::vector<TextSpan>& out);

}  // namespace refinery::ingest

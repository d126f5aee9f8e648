// Word scanning shared by the rule evaluator and extractors. A word is a
// run of ASCII letters and digits and of non-ASCII bytes (so UTF-8 letters
// stay inside words); everything else separates words.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace refinery::knowledge_internal {

struct Word {
  size_t start = 0;  // byte offsets into the text: [start, end)
  size_t end = 0;
  std::string lower;  // ASCII-lower-cased
};

bool IsWordByte(unsigned char c);
// ASCII byte classes (std::isalnum and friends take unsigned char values
// only; these take any char and never consult the locale).
inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsAsciiAlnum(char c) { return IsAsciiDigit(c) || IsAsciiUpper(c) || (c >= 'a' && c <= 'z'); }
inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }
std::vector<Word> ScanWords(std::string_view text);
std::string AsciiLower(std::string_view text);
// " w1 w2 w3 ": the words joined by single spaces with a space at each end,
// so " term " finds whole words and phrases and " stem" finds prefixes.
std::string JoinedWords(const std::vector<Word>& words);
// Whole-word (or, for `term*`, prefix) occurrences of a lower-case term or
// phrase in JoinedWords' output.
int CountTerm(const std::string& joined, std::string_view term);
// Case-insensitive glob: `*` any run, `?` one byte.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace refinery::knowledge_internal

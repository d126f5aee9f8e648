#include "knowledge/text_scan.h"

#include <cctype>

namespace refinery::knowledge_internal {

bool IsWordByte(unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; }

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<Word> ScanWords(std::string_view text) {
  std::vector<Word> words;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsWordByte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    words.push_back({start, i, AsciiLower(text.substr(start, i - start))});
  }
  return words;
}

std::string JoinedWords(const std::vector<Word>& words) {
  std::string joined = " ";
  for (const Word& w : words) {
    joined += w.lower;
    joined += ' ';
  }
  return joined;
}

int CountTerm(const std::string& joined, std::string_view term) {
  const bool prefix = !term.empty() && term.back() == '*';
  if (prefix) term.remove_suffix(1);
  if (term.empty()) return 0;
  std::string needle = " " + std::string(term) + (prefix ? "" : " ");
  int count = 0;
  // Each match ends on a space (whole word) or continues a word (prefix);
  // step past the leading space only, so adjacent matches share it.
  for (size_t at = joined.find(needle); at != std::string::npos; at = joined.find(needle, at + 1)) ++count;
  return count;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative with one backtrack point: linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || std::tolower(static_cast<unsigned char>(pattern[p])) ==
                                                        std::tolower(static_cast<unsigned char>(text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace refinery::knowledge_internal

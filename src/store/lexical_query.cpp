#include "store/lexical_query.h"

#include <algorithm>
#include <array>
#include <unordered_set>

namespace refinery::lexical {
namespace {

// PostgreSQL 15 share/tsearch_data/english.stop (Snowball), sorted.
constexpr std::array<std::string_view, 127> kStopWords = {
    "a",       "about",  "above",   "after",  "again",  "against",    "all",       "am",        "an",    "and",
    "any",     "are",    "as",      "at",     "be",     "because",    "been",      "before",    "being", "below",
    "between", "both",   "but",     "by",     "can",    "did",        "do",        "does",      "doing", "don",
    "down",    "during", "each",    "few",    "for",    "from",       "further",   "had",       "has",   "have",
    "having",  "he",     "her",     "here",   "hers",   "herself",    "him",       "himself",   "his",   "how",
    "i",       "if",     "in",      "into",   "is",     "it",         "its",       "itself",    "just",  "me",
    "more",    "most",   "my",      "myself", "no",     "nor",        "not",       "now",       "of",    "off",
    "on",      "once",   "only",    "or",     "other",  "our",        "ours",      "ourselves", "out",   "over",
    "own",     "s",      "same",    "she",    "should", "so",         "some",      "such",      "t",     "than",
    "that",    "the",    "their",   "theirs", "them",   "themselves", "then",      "there",     "these", "they",
    "this",    "those",  "through", "to",     "too",    "under",      "until",     "up",        "very",  "was",
    "we",      "were",   "what",    "when",   "where",  "which",      "while",     "who",       "whom",  "why",
    "will",    "with",   "you",     "your",   "yours",  "yourself",   "yourselves"};

bool IsStopWord(std::string_view word) { return std::binary_search(kStopWords.begin(), kStopWords.end(), word); }

// Decodes the UTF-8 code point at text[i] and advances i past it; an
// invalid byte reads as U+FFFD, one byte long.
char32_t NextCodePoint(std::string_view text, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  i += length;
  return cp;
}

// Letters and digits: ASCII alphanumerics and, roughly, every non-ASCII
// code point outside the punctuation and symbol blocks (so “quoted” or
// «quoted» text and dashes split words as ASCII punctuation does).
bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (c <= 0xBF) return c == 0xAA || c == 0xB5 || c == 0xBA;  // Latin-1 punctuation, but ª µ º
  if (c == 0xD7 || c == 0xF7) return false;                   // × ÷
  if (c >= 0x2000 && c <= 0x2BFF) return false;               // punctuation, symbols, arrows, math, shapes
  if (c >= 0x3000 && c <= 0x303F) return false;               // CJK punctuation
  if (c >= 0xFE30 && c <= 0xFE6F) return false;               // CJK compatibility and small forms
  if (c >= 0xFF00 && c <= 0xFF0F) return false;               // fullwidth punctuation
  return c != 0xFFFD && c != 0xFEFF;                          // invalid UTF-8, byte order mark
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Join(const std::vector<std::string>& terms, char quote, std::string_view separator) {
  std::string out;
  for (const std::string& term : terms) {
    if (!out.empty()) out += separator;
    out += quote;
    out += term;
    out += quote;
  }
  return out;
}

}  // namespace

std::vector<std::string> Terms(std::string_view text) {
  std::vector<std::string> terms;
  std::unordered_set<std::string> seen;
  std::string word;
  const auto flush = [&] {
    if (!word.empty() && !IsStopWord(word) && seen.insert(word).second) terms.push_back(word);
    word.clear();
  };
  for (size_t i = 0; i < text.size() && terms.size() < kMaxTerms;) {
    const size_t start = i;
    if (IsWordChar(NextCodePoint(text, i))) {
      for (size_t k = start; k < i; ++k) word += Lower(text[k]);
    } else {
      flush();
    }
  }
  if (terms.size() < kMaxTerms) flush();
  return terms;
}

std::string Fts5OrQuery(const std::vector<std::string>& terms) { return Join(terms, '"', " OR "); }

}  // namespace refinery::lexical

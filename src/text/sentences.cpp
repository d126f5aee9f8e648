#include "text/sentences.h"

#include <algorithm>
#include <array>

namespace refinery::ingest {
namespace {

// Lower-case, without the final dot. Kept short on purpose: words that also
// end sentences often ("etc.", "min.", "no.") are left out.
constexpr std::array<std::string_view, 44> kAbbreviations = {
    "al",  "approx", "apr",  "aug",  "ca",   "cf",  "ch",   "corp", "dec", "dept",  "dr",  "e.g",  "eds", "eq",  "eqs",
    "feb", "fig",    "figs", "i.e",  "inc",  "jan", "jr",   "jul",  "jun", "ltd",   "mr",  "mrs",  "ms",  "nov", "oct",
    "pp",  "prof",   "ref",  "refs", "resp", "sep", "sept", "sr",   "st",  "suppl", "tab", "univ", "viz", "vs"};

bool IsAsciiUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiLetter(unsigned char c) { return IsAsciiUpper(c) || (c >= 'a' && c <= 'z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

size_t SkipSpaces(std::string_view text, size_t pos, size_t end) {
  while (pos < end && IsSpaceByte(static_cast<unsigned char>(text[pos]))) ++pos;
  return pos;
}

size_t TrimEnd(std::string_view text, size_t start, size_t end) {
  while (end > start && IsSpaceByte(static_cast<unsigned char>(text[end - 1]))) --end;
  return end;
}

bool HasPrefix(std::string_view text, size_t pos, std::string_view prefix) {
  return text.substr(pos, prefix.size()) == prefix;
}

// Bytes of a closing quote or bracket at `pos` (0 if none): `."` ends a sentence too.
size_t CloserLength(std::string_view text, size_t pos) {
  char c = text[pos];
  if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
  if (HasPrefix(text, pos, "\u2019") || HasPrefix(text, pos, "\u201D")) return 3;  // ’ ”
  return 0;
}

// Length of a CJK sentence terminator (。！？) at `pos`, or 0.
size_t CjkTerminatorLength(std::string_view text, size_t pos) {
  if (HasPrefix(text, pos, "\u3002") || HasPrefix(text, pos, "\uFF01") || HasPrefix(text, pos, "\uFF1F")) {
    return 3;
  }
  return 0;
}

// What may open a sentence: upper case, digit, quote, bracket, or any
// non-ASCII character (its case is unknown without tables).
bool StartsSentence(unsigned char c) {
  return IsAsciiUpper(c) || IsDigit(c) || c == '"' || c == '\'' || c == '(' || c == '[' || c >= 0x80;
}

// "e.g", "i.e", "U.S.A": single letters joined by dots.
bool IsDottedInitials(std::string_view word) {
  if (word.size() < 3 || word.size() % 2 == 0) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    bool ok = (i % 2 == 0) ? IsAsciiLetter(static_cast<unsigned char>(word[i])) : word[i] == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsListedAbbreviation(std::string_view word) {
  std::array<char, 8> lower{};
  if (word.size() > lower.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(word[i]);
    lower[i] = IsAsciiUpper(c) ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
  }
  std::string_view key(lower.data(), word.size());
  return std::find(kAbbreviations.begin(), kAbbreviations.end(), key) != kAbbreviations.end();
}

// True when the '.' at `dot` ends an abbreviation or an initial rather than a sentence.
bool IsAbbreviationDot(std::string_view text, size_t para_start, size_t dot) {
  size_t w = dot;
  while (w > para_start) {
    char c = text[w - 1];
    if (IsSpaceByte(static_cast<unsigned char>(c)) || c == '(' || c == '[' || c == '"') break;
    --w;
  }
  std::string_view word = text.substr(w, dot - w);
  if (word.empty()) return false;
  if (word.size() == 1) return IsAsciiUpper(static_cast<unsigned char>(word[0]));
  return IsDottedInitials(word) || IsListedAbbreviation(word);
}

// If a sentence ends at the terminator at `pos`, returns the end of that
// sentence (after closers); 0 otherwise. `next` receives the next start.
size_t SentenceEndAt(std::string_view text, size_t para_start, size_t para_end, size_t pos, size_t& next) {
  if (size_t cjk = CjkTerminatorLength(text, pos); cjk > 0) {
    size_t end = pos + cjk;
    next = SkipSpaces(text, end, para_end);
    return next < para_end ? end : 0;
  }
  char c = text[pos];
  if (c != '.' && c != '!' && c != '?') return 0;
  size_t end = pos + 1;
  while (end < para_end) {
    size_t closer = CloserLength(text, end);
    if (closer == 0) break;
    end += closer;
  }
  if (end >= para_end || !IsSpaceByte(static_cast<unsigned char>(text[end]))) return 0;
  next = SkipSpaces(text, end, para_end);
  if (next >= para_end) return 0;
  if (c == '.' && IsAbbreviationDot(text, para_start, pos)) return 0;
  bool newline = text.substr(end, next - end).find('\n') != std::string_view::npos;
  return (newline || StartsSentence(static_cast<unsigned char>(text[next]))) ? end : 0;
}

// Position of the newline that begins a blank line at or after `from`, or text.size().
size_t FindBlankLine(std::string_view text, size_t from) {
  while (true) {
    size_t nl = text.find('\n', from);
    if (nl == std::string_view::npos) return text.size();
    size_t j = nl + 1;
    while (j < text.size() && text[j] != '\n' && IsSpaceByte(static_cast<unsigned char>(text[j]))) ++j;
    if (j >= text.size() || text[j] == '\n') return nl;
    from = j;
  }
}

}  // namespace

std::vector<TextSpan> SplitParagraphs(std::string_view text) {
  std::vector<TextSpan> paragraphs;
  size_t pos = 0;
  while (true) {
    pos = SkipSpaces(text, pos, text.size());
    if (pos >= text.size()) break;
    size_t end = FindBlankLine(text, pos);
    paragraphs.push_back({pos, TrimEnd(text, pos, end)});
    pos = end;
  }
  return paragraphs;
}

void SplitSentences(std::string_view text, TextSpan paragraph, std::vector<TextSpan>& out) {
  size_t start = paragraph.start;
  for (size_t pos = paragraph.start; pos < paragraph.end; ++pos) {
    unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c != '.' && c != '!' && c != '?' && c != 0xE3 && c != 0xEF) continue;
    size_t next = 0;
    size_t end = SentenceEndAt(text, paragraph.start, paragraph.end, pos, next);
    if (end == 0) continue;
    out.push_back({start, end});
    start = next;
    pos = next - 1;
  }
  if (start < paragraph.end) out.push_back({start, paragraph.end});
}

}  // namespace refinery::ingest

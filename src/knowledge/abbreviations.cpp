#include "knowledge/abbreviations.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>

#include "knowledge/abbreviation_rules.h"

namespace refinery {
namespace {

using abbreviation_rules::IsAlnum;
using abbreviation_rules::IsSpace;
using abbreviation_rules::IsUpper;
using abbreviation_rules::IsWordByte;
using abbreviation_rules::Lower;
using abbreviation_rules::Span;

constexpr size_t kNpos = std::string_view::npos;
constexpr size_t kMaxInside = 160;  // bytes of a bracket's contents we look at
constexpr size_t kMaxWindow = 250;  // bytes of text before a bracket a long form may span

bool IsOpen(char c) { return c == '(' || c == '['; }
bool IsClose(char c) { return c == ')' || c == ']'; }

Span Trim(std::string_view text, Span s) {
  while (s.start < s.end && IsSpace(text[s.start])) ++s.start;
  while (s.end > s.start && IsSpace(text[s.end - 1])) --s.end;
  return s;
}

// Every matched bracket pair (open, close) with at most kMaxInside bytes
// inside, by opening position. One pass with a stack of the open brackets
// still in reach, so that "((((((..." costs linear time and bounded memory.
std::vector<std::pair<size_t, size_t>> BracketPairs(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> pairs;
  std::deque<size_t> open;
  for (size_t i = 0; i < text.size(); ++i) {
    while (!open.empty() && i - open.front() > kMaxInside + 1) open.pop_front();
    if (IsOpen(text[i])) open.push_back(i);
    if (!IsClose(text[i]) || open.empty()) continue;
    size_t start = open.back();
    open.pop_back();
    if ((text[i] == ')') == (text[start] == '(')) pairs.emplace_back(start, i);  // not "(...]"
  }
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

// The contents up to the first top-level "; " or ", " (and, for a short
// form, " and " or " or "): "(SF; ...)", "(SF, ...)", "(uORF1 and uORF2)".
// A comma without a space is part of a name: "PtdIns(3,4,5)P3".
Span FirstClause(std::string_view text, Span inside, bool conjunctions) {
  int depth = 0;
  for (size_t i = inside.start; i < inside.end; ++i) {
    if (IsOpen(text[i])) ++depth;
    if (IsClose(text[i])) --depth;
    if (depth != 0) continue;
    std::string_view rest = text.substr(i, inside.end - i);
    bool cut = ((rest[0] == ';' || rest[0] == ',') && (rest.size() == 1 || IsSpace(rest[1]))) ||
               (conjunctions && (rest.substr(0, 5) == " and " || rest.substr(0, 4) == " or "));
    if (cut) return Trim(text, {inside.start, i});
  }
  return Trim(text, inside);
}

// Quotation marks around a long form are not part of it: ("ATP-binding cassette").
size_t QuoteLength(std::string_view text, size_t pos) {
  if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'' || text[pos] == '`')) return 1;
  std::string_view rest = text.substr(pos, 3);
  return rest == "\u201C" || rest == "\u201D" || rest == "\u2018" || rest == "\u2019" ? 3 : 0;
}

Span TrimQuotes(std::string_view text, Span s) {
  while (size_t n = s.size() > 0 ? QuoteLength(text, s.start) : 0) s.start += std::min(n, s.size());
  for (size_t n = 1; n <= 3; n += 2) {
    while (s.size() >= n && QuoteLength(text, s.end - n) == n) s.end -= n;
  }
  return s;
}

size_t CountWords(std::string_view text, Span s) {
  size_t words = 0;
  for (size_t i = s.start; i < s.end; ++i) {
    if (!IsSpace(text[i]) && (i == s.start || IsSpace(text[i - 1]))) ++words;
  }
  return words;
}

// Schwartz & Hearst's limit on a long form's words: min(|SF| + 5, 2 |SF|).
size_t MaxLongFormWords(std::string_view sf) {
  size_t n = static_cast<size_t>(
      std::count_if(sf.begin(), sf.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  return std::min(n + 5, n * 2);
}

// Does a word end a sentence or clause, so that no long form reaches across it?
bool EndsClause(std::string_view word) {
  char last = word.back();
  return last == '.' || last == ';' || last == ':' || last == '!' || last == '?';
}

// Up to `max_words` words in [lower, end), stopping at a clause end and
// at a word opening a bracket ("(amino acids [aa]" gives "amino acids").
Span LongFormWindow(std::string_view text, size_t lower, size_t end, size_t max_words) {
  size_t i = end;
  while (i > lower && IsSpace(text[i - 1])) --i;
  Span window{i, i};
  size_t floor = std::max(lower, i > kMaxWindow ? i - kMaxWindow : 0);
  for (size_t words = 0; words < max_words;) {
    while (i > floor && IsSpace(text[i - 1])) --i;
    size_t word_end = i;
    while (i > floor && !IsSpace(text[i - 1])) --i;
    if (i == word_end || (i == floor && floor > lower)) break;  // nothing left, or a word cut by the byte limit
    std::string_view word = text.substr(i, word_end - i);
    if (words > 0 && EndsClause(word)) break;
    if (std::count_if(word.begin(), word.end(), IsClose) > std::count_if(word.begin(), word.end(), IsOpen)) {
      break;  // "(9R, 10S) and": the end of a bracket opened before
    }
    if (IsOpen(word.front())) {
      // "(human replication protein A (hRPA))": the long form starts after an
      // unclosed bracket; a closed one, "(epsilon) subunit", ends the window.
      if (std::none_of(word.begin(), word.end(), IsClose)) window.start = i + 1;
      break;
    }
    window.start = i;
    ++words;
  }
  return window;
}

// Is the short form spelt out in its own long form ("Met-tRNA (Met)",
// "H-ras (Ras)")? Then the bracket names a part, not an abbreviation. A
// truncation of a word, "armadillo (Arm)", is an abbreviation.
bool ContainsShortForm(std::string_view lf, std::string_view sf) {
  for (size_t i = 0; i + sf.size() <= lf.size(); ++i) {
    if (i > 0 && IsAlnum(lf[i - 1])) continue;
    if (i + sf.size() < lf.size() && abbreviation_rules::IsLower(lf[i + sf.size()])) continue;
    if (std::equal(sf.begin(), sf.end(), lf.begin() + static_cast<std::ptrdiff_t>(i),
                   [](char a, char b) { return Lower(a) == Lower(b); })) {
      return true;
    }
  }
  return false;
}

std::optional<AbbreviationDefinition> Make(std::string_view text, Span sf, Span lf) {
  std::string_view sf_text = text.substr(sf.start, sf.size()), lf_text = text.substr(lf.start, lf.size());
  if (lf.size() <= sf.size() || ContainsShortForm(lf_text, sf_text)) return std::nullopt;
  AbbreviationDefinition d;
  d.short_form = std::string(sf_text);
  d.long_form = std::string(lf_text);
  d.short_start = sf.start;
  d.short_end = sf.end;
  d.long_start = lf.start;
  d.long_end = lf.end;
  return d;
}

// "long form (SF)"
std::optional<AbbreviationDefinition> LongThenShort(std::string_view text, size_t lower, size_t end, Span sf) {
  std::string_view sf_text = text.substr(sf.start, sf.size());
  size_t max_words = MaxLongFormWords(sf_text);
  Span window = LongFormWindow(text, lower, end, max_words);
  if (window.size() == 0) return std::nullopt;
  auto match = abbreviation_rules::FindLongForm(text, window, sf_text);
  if (!match) return std::nullopt;
  return Make(text, sf, TrimQuotes(text, {match->start, window.end}));
}

// "(Suppressors of Arf ts, SAT)": the short form after the last top-level
// ", " of the bracket, its long form before.
std::optional<AbbreviationDefinition> LongCommaShort(std::string_view text, Span inside) {
  int depth = 0;
  size_t comma = kNpos;
  for (size_t i = inside.start; i + 1 < inside.end; ++i) {
    if (IsOpen(text[i])) ++depth;
    if (IsClose(text[i])) --depth;
    if (depth == 0 && text[i] == ',' && IsSpace(text[i + 1])) comma = i;
  }
  if (comma == kNpos) return std::nullopt;
  Span sf = Trim(text, {comma + 1, inside.end});
  if (!abbreviation_rules::IsShortFormCandidate(text.substr(sf.start, sf.size()))) return std::nullopt;
  return LongThenShort(text, inside.start, comma, sf);
}

// The short form before a bracket at `open`: its last `words` words.
Span WordsBefore(std::string_view text, size_t open, size_t words) {
  size_t end = open;
  while (end > 0 && IsSpace(text[end - 1])) --end;
  size_t start = end;
  for (size_t w = 0; w < words; ++w) {
    while (w > 0 && start > 0 && IsSpace(text[start - 1])) --start;
    while (start > 0 && end - start <= 40 && !IsSpace(text[start - 1])) --start;
  }
  if (start > 0 && !IsSpace(text[start - 1])) return {end, end};  // over-long: junk
  return {start, end};
}

// Short forms ending just before the bracket at `open`, longest first: the
// last two words, the last word, and the parts of that word after a '/' or
// '-' ("alpha/beta-SNAP (Soluble NSF Attachment Protein)").
std::vector<Span> ShortFormsBefore(std::string_view text, size_t open) {
  std::vector<Span> spans;
  Span two = WordsBefore(text, open, 2), one = WordsBefore(text, open, 1);
  if (two.start < one.start) spans.push_back(two);
  if (one.size() == 0) return spans;
  spans.push_back(one);
  for (size_t i = one.start; i + 1 < one.end; ++i) {
    if (text[i] == '/' || text[i] == '-') spans.push_back({i + 1, one.end});
  }
  return spans;
}

// "SF (long form)": the long form is the whole of `lf` (but for a leading
// "for"), the short form (with a capital) ends just before the bracket.
std::optional<AbbreviationDefinition> ShortThenLong(std::string_view text, size_t open, Span lf) {
  lf = TrimQuotes(text, lf);
  if (text.substr(lf.start, 4) == "for ")
    lf = Trim(text, {lf.start + 4, lf.end});  // "Co-Bind (for COperative BINDing)"
  if (lf.size() == 0) return std::nullopt;
  for (Span sf : ShortFormsBefore(text, open)) {
    std::string_view sf_text = text.substr(sf.start, sf.size());
    if (!abbreviation_rules::IsShortFormCandidate(sf_text) || std::none_of(sf_text.begin(), sf_text.end(), IsUpper)) {
      continue;
    }
    if (CountWords(text, lf) > MaxLongFormWords(sf_text)) continue;
    auto match = abbreviation_rules::FindLongForm(text, lf, sf_text);
    if (!match || match->start != lf.start) continue;
    if (auto d = Make(text, sf, lf)) return d;
  }
  return std::nullopt;
}

std::optional<AbbreviationDefinition> FromBracket(std::string_view text, size_t open, size_t close) {
  if (open > 0 && IsWordByte(text[open - 1])) return std::nullopt;  // "TAF(II)", "p40(phox)": part of a name
  Span inside = Trim(text, {open + 1, close});
  Span clause = FirstClause(text, inside, true);
  if (clause.size() == 0) return std::nullopt;
  if (abbreviation_rules::IsShortFormCandidate(text.substr(clause.start, clause.size()))) {
    return LongThenShort(text, 0, open, clause);
  }
  clause = FirstClause(text, inside, false);
  if (auto d = ShortThenLong(text, open, clause)) return d;
  if (clause.end == inside.end) return std::nullopt;
  // "GGAs (Golgi-localized, gamma-ear-containing, ARF-binding proteins)"
  if (auto d = ShortThenLong(text, open, inside)) return d;
  return LongCommaShort(text, inside);
}

}  // namespace

std::vector<AbbreviationDefinition> FindAbbreviationDefinitions(std::string_view text) {
  std::vector<AbbreviationDefinition> out;
  for (auto [open, close] : BracketPairs(text)) {
    if (auto d = FromBracket(text, open, close)) out.push_back(std::move(*d));
  }
  return out;
}

}  // namespace refinery

#include "knowledge/abbreviation_rules.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace refinery::abbreviation_rules {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return Lower(x) == Lower(y); });
}

template <size_t N>
bool InList(std::string_view word, const std::array<std::string_view, N>& list) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view w) { return EqualsIgnoreCase(word, w); });
}

// Latin letter a Greek letter is spelt with ("alpha" -> 'a'), indexed from U+0391 / U+03B1.
constexpr std::string_view kGreekInitials = "abgdezetiklmnxoprsstupcpo";

// The character a short-form letter must match at text[i]: ASCII lower-cased,
// a Greek letter as its Latin initial ("TNF-α" matches "... factor alpha"),
// 0 for anything else (including UTF-8 continuation bytes).
char MatchChar(std::string_view text, size_t i) {
  char c = text[i];
  if (IsAlnum(c)) return Lower(c);
  auto b0 = static_cast<unsigned char>(c);
  if ((b0 != 0xCE && b0 != 0xCF) || i + 1 >= text.size()) return 0;
  unsigned code = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
  if (code >= 0x3B1 && code <= 0x3C9) return kGreekInitials[code - 0x3B1];
  if (code >= 0x391 && code <= 0x3A9 && code != 0x3A2) return kGreekInitials[code - 0x391];
  return 0;
}

// The characters a long form must contain, in order.
std::string MatchUnits(std::string_view sf) {
  std::string units;
  for (size_t i = 0; i < sf.size(); ++i) {
    if (char c = MatchChar(sf, i)) units += c;
  }
  return units;
}

// The digit a number word at text[pos] spells ("two-dimensional (2D)"), or 0.
char SpeltDigitAt(std::string_view text, size_t pos) {
  static constexpr std::array<std::string_view, 9> kNumbers = {"one", "two",   "three", "four", "five",
                                                               "six", "seven", "eight", "nine"};
  for (size_t d = 0; d < kNumbers.size(); ++d) {
    std::string_view word = kNumbers[d];
    if (pos + word.size() > text.size() || !EqualsIgnoreCase(text.substr(pos, word.size()), word)) continue;
    if (pos + word.size() == text.size() || !IsAlpha(text[pos + word.size()])) return static_cast<char>('1' + d);
  }
  return 0;
}

bool IsWordStart(std::string_view text, size_t window_start, size_t i) {
  return i == window_start || !IsWordByte(text[i - 1]);
}

bool IsRomanNumeral(std::string_view w) {
  static constexpr std::array<std::string_view, 12> kRoman = {"i",   "ii",   "iii", "iv", "v",  "vi",
                                                              "vii", "viii", "ix",  "x",  "xi", "xii"};
  return std::any_of(kRoman.begin(), kRoman.end(), [&](std::string_view r) { return w == r; });
}

// Words that open a bracket holding no abbreviation: "(e.g. ...)", "(see
// ...)". Case matters: "CF" is an abbreviation, "cf." is not.
bool IsMarkerWord(std::string_view w) {
  static constexpr std::array<std::string_view, 20> kMarkers = {
      "e.g.", "e.g",  "i.e.",  "i.e",   "e.",  "i.",  "cf.",    "cf",     "see",   "See",
      "fig.", "Fig.", "figs.", "Figs.", "fig", "Fig", "figure", "Figure", "table", "Table"};
  return std::find(kMarkers.begin(), kMarkers.end(), w) != kMarkers.end();
}

bool AllLowerLetters(std::string_view w) { return !w.empty() && std::all_of(w.begin(), w.end(), IsLower); }

bool HasLetter(std::string_view w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return IsAlpha(c) || static_cast<unsigned char>(c) >= 0x80; });
}

size_t CountCodePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

bool IsFunctionWord(std::string_view word) {
  static constexpr std::array<std::string_view, 36> kWords = {
      "a",    "an",    "the",   "of",   "and",   "or",  "in",   "on",  "for",  "with", "to",    "by",
      "from", "at",    "as",    "its",  "their", "is",  "are",  "was", "were", "be",   "that",  "which",
      "this", "these", "those", "such", "into",  "via", "than", "has", "have", "been", "other", "not"};
  return InList(word, kWords);
}

namespace {

// Two words, or three with capitals or digits in two ("RNA pol II", not "in
// this study"), none of them a lower-case function word ("a MAPKK", "in part").
bool IsShortFormPhrase(std::string_view sf) {
  size_t words = 0, lower_words = 0;
  for (size_t i = 0; i < sf.size();) {
    while (i < sf.size() && IsSpace(sf[i])) ++i;
    size_t start = i;
    while (i < sf.size() && !IsSpace(sf[i])) ++i;
    std::string_view w = sf.substr(start, i - start);
    if (w.empty()) continue;
    ++words;
    if (std::none_of(w.begin(), w.end(), [](char c) { return IsUpper(c) || IsDigit(c); })) ++lower_words;
    if (AllLowerLetters(w) && IsFunctionWord(w)) return false;
  }
  return words <= 2 || (words == 3 && lower_words <= 1);
}

}  // namespace

bool IsShortFormCandidate(std::string_view sf) {
  size_t chars = CountCodePoints(sf);
  // Up to 15 characters, not 10: "8-bromo-cAMP", "PI 3-kinase".
  if (chars < 2 || chars > 15 || !IsWordByte(sf[0]) || !HasLetter(sf)) return false;
  size_t space = static_cast<size_t>(std::find_if(sf.begin(), sf.end(), IsSpace) - sf.begin());
  std::string_view first = sf.substr(0, space);
  if (IsRomanNumeral(first) || first == "II" || first == "III" || IsMarkerWord(first)) return false;  // "(ii)"
  if (sf.find_first_of("=<>") != std::string_view::npos) return false;      // "p < 0.05", "n = 12"
  if (space == sf.size()) return !(AllLowerLetters(sf) && sf.size() >= 5);  // a plain word: "(reaper)"
  return HasLetter(first) && IsShortFormPhrase(sf);                         // not "15 kDa"
}

namespace {

constexpr int kNone = -100000;
constexpr int kUnmatchedCost = 2;  // per content word of the long form no character matched

// Dynamic programme over the window. Score of an alignment: +2 for every
// short-form character matched at a word start (after a space, hyphen,
// slash...), -2 for every content word of the long form left unmatched.
class Aligner {
 public:
  Aligner(std::string_view text, Span window, std::string units)
      : text_(text),
        w_(window),
        n_(window.size()),
        k_(units.size()),
        units_(std::move(units)),
        word_cost_(n_, 0),
        word_end_(n_, false),
        g_((k_ + 1) * (n_ + 1) * 2, kNone) {
    MarkWords();
    Fill();
  }

  // The best alignment with units_[0] at window byte i (a word start), or nullopt.
  std::optional<LongFormMatch> StartingAt(size_t i) const {
    size_t pos = w_.start + i;
    if (!Takes(0, i) || !IsWordStart(text_, w_.start, pos)) return std::nullopt;
    int m = word_end_[i] ? 0 : 1;
    if (at(1, i + 1, m) <= kNone / 2) return std::nullopt;
    LongFormMatch match;
    match.start = pos;  // the long form takes the whole word: "1-palmitoyl", "TPS1-encoded"
    while (match.start > w_.start && !IsSpace(text_[match.start - 1])) --match.start;
    match.score = 2 + at(1, i + 1, m);
    match.word_starts = 1;
    Trace(i + 1, m, match);
    return match;
  }

 private:
  int at(size_t j, size_t i, int m) const { return g_[(j * (n_ + 1) + i) * 2 + static_cast<size_t>(m)]; }
  int& at(size_t j, size_t i, int m) { return g_[(j * (n_ + 1) + i) * 2 + static_cast<size_t>(m)]; }
  bool Space(size_t i) const { return IsSpace(text_[w_.start + i]); }
  bool Takes(size_t j, size_t i) const {
    if (j >= k_) return false;
    size_t pos = w_.start + i;
    return MatchChar(text_, pos) == units_[j] ||
           (IsDigit(units_[j]) && IsWordStart(text_, w_.start, pos) && SpeltDigitAt(text_, pos) == units_[j]);
  }
  int Gain(size_t i) const { return IsWordStart(text_, w_.start, w_.start + i) ? 2 : 0; }

  // Per byte: does it end a word, and what leaving that word unmatched costs.
  void MarkWords() {
    for (size_t i = 0; i < n_;) {
      if (Space(i)) {
        ++i;
        continue;
      }
      size_t e = i;
      while (e < n_ && !Space(e)) ++e;
      std::string_view word = text_.substr(w_.start + i, e - i);
      word_end_[e - 1] = true;
      word_cost_[e - 1] = (IsFunctionWord(word) || !HasLetter(word)) ? 0 : 1;
      i = e;
    }
  }

  // g(j, i, m): best score for units_[j..] within window bytes [i, n), where m
  // says the word holding byte i already has a matched character.
  void Fill() {
    at(k_, n_, 0) = at(k_, n_, 1) = 0;
    for (size_t j = k_ + 1; j-- > 1;) {
      for (size_t i = n_; i-- > 0;) {
        for (int m = 0; m < 2; ++m) at(j, i, m) = Best(j, i, m);
      }
    }
  }

  int Skip(size_t j, size_t i, int m) const {
    return word_end_[i] ? at(j, i + 1, 0) - (m ? 0 : kUnmatchedCost * word_cost_[i]) : at(j, i + 1, m);
  }
  int Take(size_t j, size_t i) const {
    if (!Takes(j, i)) return kNone;
    int rest = at(j + 1, i + 1, word_end_[i] ? 0 : 1);
    return rest > kNone / 2 ? rest + Gain(i) : kNone;
  }
  int Best(size_t j, size_t i, int m) const {
    if (Space(i)) return at(j, i + 1, 0);
    return std::max(Skip(j, i, m), Take(j, i));
  }

  // Follows one best path from (1, i, m), counting what the acceptance test needs.
  void Trace(size_t i, int m, LongFormMatch& match) const {
    for (size_t j = 1; i < n_; ++i) {
      if (Space(i)) {
        m = 0;
        continue;
      }
      bool take = Take(j, i) > kNone / 2 && Take(j, i) >= Skip(j, i, m);
      if (take) {
        match.word_starts += Gain(i) / 2;
        ++j;
      }
      if (word_end_[i]) {
        match.content_words += word_cost_[i];
        if (!take && !m) match.unmatched += word_cost_[i];
      }
      m = (take || m) && !word_end_[i] ? 1 : 0;
    }
  }

  std::string_view text_;
  Span w_;
  size_t n_, k_;
  std::string units_;
  std::vector<int> word_cost_;
  std::vector<bool> word_end_;
  std::vector<int> g_;
};

// Is text[pos] the start of the word "and" or "or"?
bool IsConjunctionAt(std::string_view text, Span window, size_t pos) {
  if (pos > window.start && !IsSpace(text[pos - 1])) return false;
  size_t end = pos;
  while (end < window.end && !IsSpace(text[end])) ++end;
  std::string_view word = text.substr(pos, end - pos);
  return word == "and" || word == "or";
}

}  // namespace

// The first character must match a word start, not in a function word. Of
// the best-scoring starts the last (the shortest long form) wins, as in
// Schwartz & Hearst: "Ras recruitment system (RRS)" beats "recruitment
// system", while "... replaced with wild-type mitochondrial DNA (mtDNA)"
// stays short. A plausible long form after an "and" or "or" stops the
// search: "Ah receptor and Ah nuclear translocator (Arnt)".
std::optional<LongFormMatch> MatchLongForm(std::string_view text, Span window, std::string_view sf) {
  std::string units = MatchUnits(sf);
  if (units.empty() || units.size() > 16 || window.size() == 0) return std::nullopt;
  Aligner aligner(text, window, units);
  std::optional<LongFormMatch> best;
  for (size_t i = window.size(); i-- > 0;) {
    if (best && IsPlausible(*best) && IsConjunctionAt(text, window, window.start + i)) break;
    std::optional<LongFormMatch> match = aligner.StartingAt(i);
    if (!match) continue;
    size_t stop = match->start;
    while (stop < window.end && !IsSpace(text[stop])) ++stop;
    if (IsFunctionWord(text.substr(match->start, stop - match->start))) continue;
    if (!best || match->score > best->score ||
        (match->score == best->score && match->word_starts > best->word_starts)) {
      best = match;
    }
  }
  return best;
}

// Chance alignments: more content words unmatched than twice the word starts
// matched, or only the first letter at a word start across three content
// words ("protein of the Hsp70 family, protects (PSI)").
bool IsPlausible(const LongFormMatch& match) {
  if (match.unmatched >= 2 * match.word_starts) return false;
  return !(match.content_words >= 3 && match.word_starts < 2);
}

// "Orc5", "TTF-I", "Pkc1p", "Hsp70s": a family name plus a member number
// (and yeast's protein suffix "p", or a plural "s").
std::string_view NumberlessCore(std::string_view sf) {
  std::string_view core = sf;
  bool suffix = core.size() >= 2 && (core.back() == 'p' || core.back() == 's') && IsDigit(core[core.size() - 2]);
  if (suffix) core.remove_suffix(1);  // "Pkc1p", "Hsp70s"
  size_t before = core.size();
  while (!core.empty() && IsDigit(core.back())) core.remove_suffix(1);
  if (core.size() == before) {
    while (!core.empty() && (core.back() == 'I' || core.back() == 'V' || core.back() == 'X')) core.remove_suffix(1);
    if (core.empty() || core.back() != '-') return {};  // roman numerals only after a hyphen: "TTF-I"
  }
  if (!core.empty() && core.back() == '-') core.remove_suffix(1);
  if (core.size() == sf.size() || MatchUnits(core).size() < 2) return {};
  return core;
}

std::optional<LongFormMatch> FindLongForm(std::string_view text, Span window, std::string_view sf) {
  auto match = MatchLongForm(text, window, sf);
  if (match && IsPlausible(*match)) return match;
  std::string_view core = NumberlessCore(sf);
  if (core.empty()) return std::nullopt;
  // Without the number the letters alone must make a clean acronym: every
  // content word of the long form matched, three word starts or more ...
  match = MatchLongForm(text, window, core);
  if (!match) return std::nullopt;
  if (match->unmatched == 0 && match->word_starts >= 3) return match;
  // ... or be the start of a plain word: "tyrosine (Tyr723)", "nucleosome (nuc-1)".
  size_t word_end = match->start;
  while (word_end < window.end && IsAlpha(text[word_end])) ++word_end;
  bool plain = word_end == window.end || IsSpace(text[word_end]);
  std::string_view word = text.substr(match->start, word_end - match->start);
  if (plain && core.size() >= 3 && word.size() > core.size() && EqualsIgnoreCase(word.substr(0, core.size()), core)) {
    return match;
  }
  return std::nullopt;
}

}  // namespace refinery::abbreviation_rules

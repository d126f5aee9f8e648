// Internal to abbreviations.cpp: the character classes, short-form tests and
// the long-form matcher of the abbreviation extractor.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace refinery::abbreviation_rules {

struct Span {
  size_t start = 0;
  size_t end = 0;
  size_t size() const { return end - start; }
};

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
inline bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
inline bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
// Bytes >= 0x80 belong to some non-ASCII code point: treated as word characters.
inline bool IsWordByte(char c) { return IsAlnum(c) || static_cast<unsigned char>(c) >= 0x80; }
inline char Lower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// Function words: a long form neither starts with one nor is penalised for
// leaving one unmatched ("type III secretion system", not "the type ...").
bool IsFunctionWord(std::string_view word);

// Could the first clause of a bracket be a short form? Schwartz & Hearst's
// test (widened to 2-15 characters and "RNA pol II"; a letter, a letter or
// digit first) plus rejections of what brackets hold that is not an
// abbreviation: "(ii)", "(e.g. ...)", "(p < 0.05)", "(reaper)", "(15 kDa)".
bool IsShortFormCandidate(std::string_view sf);

struct LongFormMatch {
  size_t start = 0;       // where the long form starts (it ends where the window does)
  int score = 0;          // what the choice maximised
  int word_starts = 0;    // short-form characters matched at word starts
  int unmatched = 0;      // content words of the long form no character matched
  int content_words = 0;  // words of the long form that are not function words
};

// The best long form for `sf` ending at window.end, if any. See the
// definition for the scoring.
std::optional<LongFormMatch> MatchLongForm(std::string_view text, Span window, std::string_view sf);

// Is the best alignment good enough? Rejects long forms that share little
// more than the first letter with the short form.
bool IsPlausible(const LongFormMatch& match);

// The short form without a trailing member number: "Orc5" -> "Orc",
// "TTF-I" -> "TTF", "Pkc1p" -> "Pkc"; empty if there is none.
std::string_view NumberlessCore(std::string_view sf);

// The plausible best long form for `sf`, or, failing that, for its
// numberless core ("origin recognition complex (Orc5)").
std::optional<LongFormMatch> FindLongForm(std::string_view text, Span window, std::string_view sf);

}  // namespace refinery::abbreviation_rules

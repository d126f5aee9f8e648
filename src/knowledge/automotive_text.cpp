#include "knowledge/automotive_text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <utility>

#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {

constexpr size_t kMaxSentenceSide = 600;

bool StartsWith(std::string_view s, size_t at, std::string_view prefix) {
  return at <= s.size() && s.substr(at, prefix.size()) == prefix;
}

// Written forms of units, longest first where one is a prefix of another.
constexpr std::array<std::pair<std::string_view, std::string_view>, 32> kUnits = {{
    {"millivolts", "mV"}, {"mV", "mV"},       {"volts", "V"},     {"volt", "V"},
    {"VDC", "V"},         {"V", "V"},         {"kilohms", "kohms"}, {"kohms", "kohms"},
    {"k\xCE\xA9", "kohms"}, {"ohms", "ohms"}, {"ohm", "ohms"},   {"\xCE\xA9", "ohms"},
    {"psi", "psi"},       {"PSI", "psi"},     {"kPa", "kPa"},     {"inHg", "inHg"},
    {"in. Hg", "inHg"},   {"in Hg", "inHg"},  {"g/s", "g/s"},     {"grams per second", "g/s"},
    {"Hz", "Hz"},         {"%", "%"},         {"percent", "%"},   {"\xC2\xB0" "F", "\xC2\xB0" "F"},
    {"degrees F", "\xC2\xB0" "F"}, {"\xC2\xB0" "C", "\xC2\xB0" "C"}, {"degrees C", "\xC2\xB0" "C"},
    {"ms", "ms"},         {"rpm", "rpm"},     {"RPM", "rpm"},     {"amps", "A"},
    {"A", "A"},
}};

constexpr std::array<std::string_view, 11> kQualifiers = {
    "less than ", "more than ", "below ", "above ", "under ", "over ", "at least ",
    "at most ", "about ", "approximately ", "between "};

// A number at `at` ("14", "0.45", ".5"): its end, or `at` when none.
size_t NumberEnd(std::string_view s, size_t at) {
  size_t i = at;
  while (i < s.size() && IsAsciiDigit(s[i])) ++i;
  if (i < s.size() && s[i] == '.' && i + 1 < s.size() && IsAsciiDigit(s[i + 1])) {
    ++i;
    while (i < s.size() && IsAsciiDigit(s[i])) ++i;
  }
  return i > at && (s[at] != '.' || i > at + 1) ? i : at;
}

size_t SkipSpaces(std::string_view s, size_t i, size_t to) {
  while (i < to && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// The unit at `at`, as (written length, normalised); length 0 when none.
std::pair<size_t, std::string_view> UnitAt(std::string_view s, size_t at, size_t to) {
  for (const auto& [written, unit] : kUnits) {
    if (at + written.size() > to || s.substr(at, written.size()) != written) continue;
    const size_t end = at + written.size();
    const bool letter_after = end < to && (std::isalpha(static_cast<unsigned char>(s[end])) != 0 ||
                                           (unit == "A" && s[end] == '/'));
    if (!letter_after) return {written.size(), unit};
  }
  return {0, ""};
}

// A range's second number after `i` ("-0.9", " to 0.9", " and 0.9" after "between").
size_t RangeSecond(std::string_view s, size_t i, size_t to, bool between) {
  size_t j = SkipSpaces(s, i, to);
  if (StartsWith(s, j, "-")) {
    j += 1;
  } else if (StartsWith(s, j, "\xE2\x80\x93")) {
    j += 3;
  } else if (StartsWith(s, j, "to ")) {
    j += 3;
  } else if (between && StartsWith(s, j, "and ")) {
    j += 4;
  } else {
    return i;
  }
  j = SkipSpaces(s, j, to);
  return j < to && IsAsciiDigit(s[j]) ? j : i;
}

// The word ending at the '.' at `dot` is an abbreviation ("No.", "e.g.",
// "approx.", "A."), so the '.' ends no sentence.
bool Abbreviation(std::string_view text, size_t dot) {
  size_t start = dot;
  while (start > 0 && (std::isalpha(static_cast<unsigned char>(text[start - 1])) != 0 || text[start - 1] == '.')) --start;
  std::string word;
  for (size_t i = start; i < dot; ++i) word += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  if (word.size() == 1) return true;
  for (std::string_view a : {"no", "nos", "e.g", "i.e", "vs", "approx", "etc", "fig", "ref", "st", "mr", "dr", "inc", "co"}) {
    if (word == a) return true;
  }
  return false;
}

}  // namespace

ScannedText ScanText(std::string_view text) {
  return {text, AsciiLower(text), Lines(text), FindCodeSpans(text)};
}

std::vector<Span> Lines(std::string_view text) {
  std::vector<Span> out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    size_t trimmed = end;
    if (trimmed > start && text[trimmed - 1] == '\r') --trimmed;
    out.push_back({start, trimmed});
    start = end + 1;
  }
  return out;
}

Span SentenceAround(std::string_view text, size_t pos) {
  auto is_end = [&](size_t i) {  // a sentence ends at text[i]
    if (!((text[i] == '.' || text[i] == '?' || text[i] == '!') && (i + 1 >= text.size() || text[i + 1] == ' '))) {
      return false;
    }
    return text[i] != '.' || !Abbreviation(text, i);
  };
  // At most kMaxSentenceSide bytes each way: a text without full stops must
  // not make every lookup scan all of it.
  const size_t floor = pos > kMaxSentenceSide ? pos - kMaxSentenceSide : 0;
  const size_t ceiling = std::min(text.size(), pos + kMaxSentenceSide);
  size_t start = std::min(pos, text.size());
  while (start > floor && text[start - 1] != '\n' && !(start >= 2 && text[start - 1] == ' ' && is_end(start - 2))) {
    --start;
  }
  size_t end = std::min(pos, text.size());
  while (end < ceiling && text[end] != '\n' && !is_end(end)) ++end;
  if (end < text.size() && text[end] != '\n') ++end;
  return {start, end};
}

std::optional<ListItem> AsListItem(std::string_view text, Span line) {
  size_t i = SkipSpaces(text, line.start, line.end);
  auto after_marker = [&](size_t at, int number) -> std::optional<ListItem> {
    if (at >= line.end || (text[at] != ' ' && text[at] != '\t')) return std::nullopt;
    const size_t start = SkipSpaces(text, at, line.end);
    if (start >= line.end) return std::nullopt;
    return ListItem{start, number};
  };
  if (i >= line.end) return std::nullopt;
  if (text[i] == '-' || text[i] == '*' || text[i] == '+') return after_marker(i + 1, 0);
  if (StartsWith(text, i, "\xE2\x80\xA2") || StartsWith(text, i, "\xE2\x80\x93")) return after_marker(i + 3, 0);
  std::string lower;
  for (size_t k = i; k < std::min(line.end, i + 5); ++k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(text[k])));
  if (lower == "step ") i = SkipSpaces(text, i + 5, line.end);
  size_t digits = i;
  while (digits < line.end && IsAsciiDigit(text[digits]) && digits - i < 3) ++digits;
  if (digits == i || digits >= line.end) return std::nullopt;
  const char mark = text[digits];
  if (mark != '.' && mark != ')' && mark != ':') return std::nullopt;
  return after_marker(digits + 1, std::stoi(std::string(text.substr(i, digits - i))));
}

bool IsHeading(std::string_view text, Span line) {
  std::string_view s = Trim(text.substr(line.start, line.end - line.start));
  if (s.empty() || s.size() > 80 || s.back() == '.' || AsListItem(text, line)) return false;
  return s.find(". ") == std::string_view::npos;
}

std::vector<std::pair<Span, ListItem>> ItemsAfter(std::string_view text, const std::vector<Span>& lines,
                                                  size_t heading_index) {
  std::vector<std::pair<Span, ListItem>> out;
  for (size_t j = heading_index + 1; j < lines.size() && out.size() < 30; ++j) {
    if (Trim(text.substr(lines[j].start, lines[j].end - lines[j].start)).empty()) continue;
    auto item = AsListItem(text, lines[j]);
    if (!item) break;
    out.emplace_back(lines[j], *item);
  }
  return out;
}

// Codes are in text order: binary search, so a text with many codes and
// many things to relate to them stays O(n log n).
const CodeSpan* CodeBefore(const std::vector<CodeSpan>& codes, size_t pos) {
  auto it = std::lower_bound(codes.begin(), codes.end(), pos,
                             [](const CodeSpan& c, size_t p) { return c.start < p; });
  return it == codes.begin() ? nullptr : &*std::prev(it);
}

std::vector<const CodeSpan*> CodesIn(const std::vector<CodeSpan>& codes, Span span) {
  std::vector<const CodeSpan*> out;
  auto it = std::lower_bound(codes.begin(), codes.end(), span.start,
                             [](const CodeSpan& c, size_t p) { return c.start < p; });
  for (; it != codes.end() && it->end <= span.end; ++it) out.push_back(&*it);
  return out;
}

std::vector<Quantity> FindQuantities(std::string_view text, size_t from, size_t to) {
  std::vector<Quantity> out;
  to = std::min(to, text.size());
  for (size_t i = from; i < to;) {
    const bool starts = (IsAsciiDigit(text[i]) || text[i] == '.') && (i == 0 || (!IsAsciiAlnum(text[i - 1]) && text[i - 1] != '.'));
    const size_t first_end = starts ? NumberEnd(text, i) : i;
    if (first_end == i) {
      ++i;
      continue;
    }
    size_t start = i;
    bool between = false;
    for (std::string_view q : kQualifiers) {
      if (i < from + q.size() || text.substr(i - q.size(), q.size()) != q) continue;
      between = q == "between ";
      if (!between) start = i - q.size();  // "between" is said by the range itself
    }
    const size_t second = RangeSecond(text, first_end, to, between);
    const size_t second_end = second != first_end ? NumberEnd(text, second) : first_end;
    const size_t unit_at = SkipSpaces(text, second_end, to);
    const auto [unit_len, unit] = UnitAt(text, unit_at, to);
    if (unit_len == 0) {
      i = second_end;
      continue;
    }
    Quantity q;
    q.is_range = second != first_end;
    q.range = std::string(text.substr(i, first_end - i));
    if (q.is_range) q.range += "-" + std::string(text.substr(second, second_end - second));
    q.unit = std::string(unit);
    q.start = start;
    q.end = unit_at + unit_len;
    q.text = std::string(text.substr(q.start, q.end - q.start));
    out.push_back(std::move(q));
    i = unit_at + unit_len;
  }
  return out;
}

std::string_view Trim(std::string_view s, std::string_view trailing) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (space(s.back()) || trailing.find(s.back()) != std::string_view::npos)) s.remove_suffix(1);
  return s;
}

bool ContainsWord(std::string_view lower_text, std::string_view lower_word) {
  for (size_t at = lower_text.find(lower_word); at != std::string_view::npos;
       at = lower_text.find(lower_word, at + 1)) {
    const bool left = at == 0 || !IsAsciiAlnum(lower_text[at - 1]);
    const size_t end = at + lower_word.size();
    const bool right = end >= lower_text.size() || !IsAsciiAlnum(lower_text[end]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace refinery::knowledge_internal

// DTC codes and their descriptions as reference pages, tables, lists and
// forum posts write them (docs/knowledge.md, "The automotive extractors").
#include <algorithm>
#include <cctype>
#include <string>

#include "knowledge/automotive_text.h"
#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {

constexpr size_t kMaxDescriptionBytes = 120;
constexpr size_t kMaxDescriptionWords = 16;
constexpr size_t kLineWindow = 300;  // bytes of a code's line its description and severity are looked for in


// [PBCU] and four hex digits at `i`, any case.
bool CodeAt(std::string_view t, size_t i) {
  if (i + 5 > t.size()) return false;
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(t[i])));
  if (letter != 'P' && letter != 'B' && letter != 'C' && letter != 'U') return false;
  for (size_t k = i + 1; k < i + 5; ++k) {
    if (std::isxdigit(static_cast<unsigned char>(t[k])) == 0) return false;
  }
  return true;
}

// Whether the whitespace-delimited token around a position is a URL,
// remembered per token: "P0171/P0172/..." asks once, not once per code.
class UrlTokens {
 public:
  explicit UrlTokens(std::string_view t) : t_(t) {}
  bool At(size_t start, size_t end) {
    if (start >= a_ && end <= b_) return url_;
    a_ = start;
    while (a_ > 0 && !std::isspace(static_cast<unsigned char>(t_[a_ - 1]))) --a_;
    b_ = end;
    while (b_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[b_]))) ++b_;
    const std::string token = AsciiLower(t_.substr(a_, b_ - a_));
    url_ = token.find("://") != std::string::npos || token.find("www.") != std::string::npos;
    return url_;
  }

 private:
  std::string_view t_;
  size_t a_ = 1;  // the remembered token [a_, b_): none yet
  size_t b_ = 0;
  bool url_ = false;
};

bool BadBefore(std::string_view t, size_t i, size_t previous_end) {
  if (i == 0) return false;
  const unsigned char c = static_cast<unsigned char>(t[i - 1]);
  if ((c == '/' || c == '-') && previous_end == i - 1) return false;  // P0171/P0174, P0300-P0308
  return IsAsciiAlnum(static_cast<char>(c)) || c >= 0x80 || std::string_view("_-./\\=#?&@%+").find(static_cast<char>(c)) != std::string_view::npos;
}

bool BadAfter(std::string_view t, size_t end) {
  if (end >= t.size()) return false;
  const unsigned char c = static_cast<unsigned char>(t[end]);
  if (IsAsciiAlnum(static_cast<char>(c)) || c >= 0x80 || c == '_') return true;
  if ((c == '-' || c == '.' || c == '/') && end + 1 < t.size() && IsAsciiAlnum(t[end + 1])) {
    return !((c == '/' || c == '-') && CodeAt(t, end + 1));
  }
  return false;
}

// SAE J2012: generic codes are standard across makes.
std::string Standard(const std::string& code) {
  const char letter = code[0];
  const char second = code[1];
  if (second == '0') return "generic";
  if (second == '1') return "manufacturer";
  if (letter == 'P' && second == '2') return "generic";
  if (letter == 'P' && second == '3') return code[2] <= '3' ? "manufacturer" : "generic";
  return second == '3' ? "generic" : "manufacturer";
}

std::string Category(char letter) {
  switch (letter) {
    case 'P': return "powertrain";
    case 'C': return "chassis";
    case 'B': return "body";
    default: return "network";
  }
}

// Words of 4+ letters mostly capitalised ("System Too Lean (Bank 1)").
bool TitleCase(std::string_view s) {
  int long_words = 0;
  int capitalised = 0;
  for (size_t i = 0; i < s.size();) {
    while (i < s.size() && !std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    if (j - i >= 4) {
      ++long_words;
      capitalised += IsAsciiUpper(s[i]) ? 1 : 0;
    }
    i = j;
  }
  return long_words == 0 ? (!s.empty() && (IsAsciiUpper(s[0]) || std::isdigit(static_cast<unsigned char>(s[0])))) : 2 * capitalised >= long_words;
}

size_t WordCount(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) n += (!IsBlank(s[i]) && (i == 0 || IsBlank(s[i - 1]))) ? 1 : 0;
  return n;
}

// Only layout, list markers and "Code"/"DTC" before the code on its line.
bool CodeBeginsLine(std::string_view t, Span line, size_t code_start) {
  if (code_start - line.start > 40) return false;
  std::string before = AsciiLower(t.substr(line.start, code_start - line.start));
  for (std::string_view word : {"obd-ii", "obd2", "obdii", "trouble", "codes", "code", "dtc", "step", "#"}) {
    for (size_t at = before.find(word); at != std::string::npos; at = before.find(word)) before.erase(at, word.size());
  }
  return std::all_of(before.begin(), before.end(), [](char c) {
    return IsBlank(c) || std::string_view("-*+|:>#.)0123456789\xE2\x80\xA2").find(c) != std::string_view::npos;
  });
}

// Where a description starting at `from` ends: the line, a table cell, the
// sentence or the next code (which starts at `next_code`).
size_t DescriptionEnd(std::string_view t, size_t from, size_t line_end, size_t next_code) {
  size_t end = std::min(line_end, std::max(next_code, from));
  for (size_t i = from; i < line_end; ++i) {
    const char c = t[i];
    if (c == '|' || (c == ';' && i + 1 < line_end && t[i + 1] == ' ') ||
        ((c == '.' || c == '?' || c == '!') && (i + 1 >= line_end || t[i + 1] == ' '))) {
      end = i;
      break;
    }
  }
  return end;
}

std::string Cleaned(std::string_view s) {
  s = Trim(s, ",;:-.\xE2\x80\x93\xE2\x80\x94");
  for (std::string_view tail : {" and", " or", ","}) {
    if (s.size() > tail.size() && s.substr(s.size() - tail.size()) == tail) s = Trim(s.substr(0, s.size() - tail.size()), ",");
  }
  return std::string(s);
}

bool Connector(std::string_view lower_word) {
  for (std::string_view c : {"of", "and", "or", "in", "at", "to", "for", "the", "a", "per", "/", "-", "&", "with", "too"}) {
    if (lower_word == c) return true;
  }
  return false;
}

// "Random/Multiple Cylinder Misfire Detected": a run of capitalised words.
std::string TitleRun(std::string_view t, size_t from, size_t end) {
  size_t i = from;
  size_t run_end = from;
  int capitalised = 0;
  while (i < end) {
    size_t j = i;
    while (j < end && !IsBlank(t[j])) ++j;
    std::string_view word = t.substr(i, j - i);
    std::string_view bare = Trim(word, ",;:");
    const bool cap = !bare.empty() && (IsAsciiUpper(bare[0]) || std::isdigit(static_cast<unsigned char>(bare[0])) || bare[0] == '(');
    if (!cap && !(capitalised > 0 && Connector(AsciiLower(bare)))) break;
    if (cap && AsciiLower(bare) == "code" && capitalised == 0) break;  // "P0420 Code ..." is not a description
    capitalised += cap ? 1 : 0;
    run_end = i + bare.size();
    if (bare.size() != word.size()) break;  // "," ends the run
    i = j;
    while (i < end && IsBlank(t[i])) ++i;
  }
  return capitalised >= 2 ? Cleaned(t.substr(from, run_end - from)) : std::string();
}

std::string Description(std::string_view t, const CodeSpan& code, Span line, size_t next_code) {
  line.end = std::min(line.end, code.end + kLineWindow);  // a description is short: look no further
  size_t i = code.end;
  while (i < line.end && IsBlank(t[i])) ++i;
  // "P0420 Code: Catalyst System ..." (a page title's form)
  if (AsciiLower(t.substr(i, 4)) == "code" && (i + 4 >= line.end || !IsAsciiAlnum(t[i + 4]))) {
    i += 4;
    while (i < line.end && IsBlank(t[i])) ++i;
  }
  if (i < line.end && t[i] == '(') {
    const size_t close = t.find(')', i);
    if (close == std::string_view::npos || close > line.end) return "";
    std::string inside = Cleaned(t.substr(i + 1, close - i - 1));
    return TitleCase(inside) && WordCount(inside) >= 2 ? inside : "";
  }
  size_t sep = 0;
  if (i < line.end && std::string_view("-:|=").find(t[i]) != std::string_view::npos) sep = 1;
  if (t.substr(i, 3) == "\xE2\x80\x93" || t.substr(i, 3) == "\xE2\x80\x94") sep = 3;
  if (sep == 0) return TitleRun(t, i, DescriptionEnd(t, i, line.end, next_code));
  i += sep;
  while (i < line.end && IsBlank(t[i])) ++i;
  std::string text = Cleaned(t.substr(i, DescriptionEnd(t, i, line.end, next_code) - i));
  if (text.empty() || text.size() > kMaxDescriptionBytes || WordCount(text) > kMaxDescriptionWords) return "";
  const bool line_start_form = CodeBeginsLine(t, line, code.start) && WordCount(text) <= 8 &&
                               (IsAsciiUpper(text[0]) || std::isdigit(static_cast<unsigned char>(text[0])));
  return TitleCase(text) || line_start_form ? text : "";
}

std::string SeverityWord(std::string_view lower) {
  if (lower == "critical" || lower == "severe" || lower == "high") return "critical";
  if (lower == "moderate" || lower == "medium") return "moderate";
  if (lower == "minor" || lower == "low") return "minor";
  if (lower == "informational" || lower == "info") return "informational";
  return "";
}

// A table row's severity cell, or "severity: high" on the code's line.
std::string Severity(std::string_view t, Span line) {
  const std::string_view raw = t.substr(line.start, line.end - line.start);
  if (raw.find('|') == std::string_view::npos && raw.find("everity") == std::string_view::npos &&
      raw.find("EVERITY") == std::string_view::npos) {
    return "";  // neither a table row nor a stated severity
  }
  const std::string lower = AsciiLower(t.substr(line.start, line.end - line.start));
  if (std::count(lower.begin(), lower.end(), '|') >= 2) {
    for (size_t a = 0; a < lower.size();) {
      size_t b = std::min(lower.find('|', a), lower.size());
      std::string s = SeverityWord(Trim(std::string_view(lower).substr(a, b - a)));
      if (!s.empty()) return s;
      a = b + 1;
    }
  }
  const size_t at = lower.find("severity");
  if (at == std::string::npos) return "";
  size_t i = at + 8;
  auto skip = [&](std::string_view what) {
    while (i < lower.size() && (IsBlank(lower[i]) || lower[i] == ':' || lower[i] == '-' || lower[i] == '=')) ++i;
    if (lower.compare(i, what.size(), what) == 0) i += what.size();
    while (i < lower.size() && (IsBlank(lower[i]) || lower[i] == ':')) ++i;
  };
  skip("level");
  skip("is");
  size_t j = i;
  while (j < lower.size() && std::isalpha(static_cast<unsigned char>(lower[j]))) ++j;
  return SeverityWord(std::string_view(lower).substr(i, j - i));
}

}  // namespace

std::vector<CodeSpan> FindCodeSpans(std::string_view t) {
  std::vector<CodeSpan> out;
  UrlTokens urls(t);
  size_t previous_end = std::string_view::npos;
  for (size_t i = 0; i + 5 <= t.size(); ++i) {
    if (!CodeAt(t, i) || BadBefore(t, i, previous_end) || BadAfter(t, i + 5) || urls.At(i, i + 5)) continue;
    std::string code(t.substr(i, 5));
    for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back({std::move(code), i, i + 5});
    previous_end = i + 5;
    i += 4;
  }
  return out;
}

std::vector<Finding> FindDtcs(const ScannedText& scanned) {
  const std::string_view t = scanned.text;
  const std::vector<CodeSpan>& codes = scanned.codes;
  const std::vector<Span>& lines = scanned.lines;
  std::vector<Finding> out;
  size_t line = 0;
  for (size_t k = 0; k < codes.size(); ++k) {
    const CodeSpan& code = codes[k];
    const size_t next_code = k + 1 < codes.size() ? codes[k + 1].start : t.size();
    while (line + 1 < lines.size() && lines[line].end < code.start) ++line;
    Finding f{code.code, {{"code", code.code}, {"category", Category(code.code[0])}, {"standard", Standard(code.code)}},
              code.start, code.end, ""};
    std::string description = Description(t, code, lines[line], next_code);
    if (!description.empty()) f.attributes["description"] = std::move(description);
    // The row or sentence around the code, not all of a long line.
    const Span around{std::max(lines[line].start, code.start > kLineWindow ? code.start - kLineWindow : 0),
                      std::min(lines[line].end, code.end + kLineWindow)};
    std::string severity = Severity(t, around);
    if (!severity.empty()) f.attributes["severity"] = std::move(severity);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace refinery::knowledge_internal

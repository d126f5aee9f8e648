// Vehicles: "[year[-year]] Make Model [engine]" with the make from the
// profile's vocabulary, related to the codes of the sentence.
#include <algorithm>
#include <cctype>
#include <string>

#include "knowledge/automotive_text.h"
#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {


// Words that follow a model name without being part of it.
bool StopWord(std::string_view w) {
  for (std::string_view s : {"With", "And", "Or", "The", "For", "In", "On", "At", "Has", "Is", "Was", "Owners",
                             "Owner", "Engine", "Code", "Codes", "Check", "Light", "Sensor", "Throws", "Throwing",
                             "Showing", "Gets", "Got", "Forum", "Forums", "TSB", "DTC", "OBD", "OBD-II"}) {
    if (w == s) return true;
  }
  return false;
}

// The whitespace token at `i` (up to whitespace), trailing ",.;:)!?" trimmed.
std::string_view TokenAt(std::string_view t, size_t i) {
  size_t j = i;
  while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
  std::string_view token = t.substr(i, j - i);
  while (!token.empty() && std::string_view(",.;:)!?'\"").find(token.back()) != std::string_view::npos) {
    token.remove_suffix(1);
  }
  if (token.size() >= 2 && token.substr(token.size() - 2) == "'s") token.remove_suffix(2);
  return token;
}

int Year(std::string_view s) {
  if (s.size() != 4 || !std::all_of(s.begin(), s.end(), IsAsciiDigit)) return 0;
  const int y = std::stoi(std::string(s));
  return y >= 1980 && y <= 2035 ? y : 0;
}

// "2012", "2010-2014", "2010–14" ending right before `end` (a space between).
std::pair<int, int> YearsBefore(std::string_view t, size_t end, size_t& start) {
  size_t b = end;
  while (b > 0 && IsBlank(t[b - 1])) --b;
  size_t a = b;
  while (a > 0 && !std::isspace(static_cast<unsigned char>(t[a - 1]))) --a;
  std::string token(t.substr(a, b - a));
  for (std::string_view dash : {"\xE2\x80\x93", "-", " to "}) {
    const size_t at = token.find(dash);
    if (at == std::string::npos) continue;
    const int first = Year(std::string_view(token).substr(0, at));
    std::string second = token.substr(at + dash.size());
    if (second.size() == 2 && first > 0) second = std::to_string(first / 100) + second;
    const int last = Year(second);
    if (first > 0 && last >= first) {
      start = a;
      return {first, last};
    }
  }
  const int year = Year(token);
  if (year > 0) start = a;
  return {year, year};
}

// "2.4L", "5.3L V8", "3.5 L EcoBoost" in [from, to).
std::string Engine(std::string_view t, size_t from, size_t to) {
  for (size_t i = from; i + 3 < to; ++i) {
    if (!IsAsciiDigit(t[i]) || (i > 0 && (IsAsciiAlnum(t[i - 1]) || t[i - 1] == '.')) || t[i + 1] != '.' || !IsAsciiDigit(t[i + 2])) continue;
    size_t j = i + 3;
    if (j < to && t[j] == ' ') ++j;
    if (j >= to || (t[j] != 'L' && t[j] != 'l') || (j + 1 < to && IsAsciiAlnum(t[j + 1]))) continue;
    size_t end = j + 1;
    std::string_view next = TokenAt(t, std::min(end + 1, to));
    if (end < to && t[end] == ' ' && !next.empty() &&
        (next[0] == 'V' || next[0] == 'I' || next == "EcoBoost" || next == "Turbo" || next == "Hemi" || next == "HEMI") &&
        next.size() <= 8) {
      end = end + 1 + next.size();
    }
    return std::string(t.substr(i, end - i));
  }
  return "";
}

}  // namespace

std::vector<Finding> FindVehicles(const ScannedText& scanned, const std::vector<std::string>& makes) {
  const std::string_view t = scanned.text;
  const std::vector<CodeSpan>& codes = scanned.codes;
  std::vector<Finding> out;
  for (const std::string& make : makes) {
    for (size_t at = t.find(make); at != std::string_view::npos; at = t.find(make, at + make.size())) {
      const size_t end = at + make.size();
      if ((at > 0 && IsAsciiAlnum(t[at - 1])) || end >= t.size() || !IsBlank(t[end])) continue;
      size_t m = end;
      while (m < t.size() && IsBlank(t[m])) ++m;
      std::string_view model = TokenAt(t, m);
      if (model.empty() || !(std::isupper(static_cast<unsigned char>(model[0])) || IsAsciiDigit(model[0])) ||
          StopWord(model) || Year(model) > 0 || FindCodeSpans(model).size() == 1) {
        continue;
      }
      size_t model_end = m + model.size();
      std::string name(model);
      size_t raw_end = m;
      while (raw_end < t.size() && !std::isspace(static_cast<unsigned char>(t[raw_end]))) ++raw_end;
      if (raw_end == model_end && model_end < t.size() && IsBlank(t[model_end])) {
        std::string_view second = TokenAt(t, model_end + 1);
        if (!second.empty() && std::isupper(static_cast<unsigned char>(second[0])) && !StopWord(second) &&
            FindCodeSpans(second).empty() && t.substr(model_end + 1, second.size()) == second &&
            std::all_of(second.begin(), second.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
          name += " " + std::string(second);
          model_end += 1 + second.size();
        }
      }
      size_t start = at;
      const auto [year_start, year_end] = YearsBefore(t, at, start);
      std::string key = make + " " + name;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      Finding f{key, {{"make", make}, {"model", name}}, start, model_end, ""};
      if (year_start > 0) {
        f.attributes["year_start"] = year_start;
        f.attributes["year_end"] = year_end;
      }
      const Span sentence = SentenceAround(t, at);
      std::string engine = Engine(t, model_end, sentence.end);
      if (!engine.empty()) f.attributes["engine"] = std::move(engine);
      AddRelated(std::move(f), RelatedCodes(t, codes, at, true), out);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.start < b.start; });
  return out;
}

}  // namespace refinery::knowledge_internal

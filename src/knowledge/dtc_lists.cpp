// Causes and diagnostic steps: the items of a list under a heading that
// names them, attached to the code of the heading or the code in scope.
#include <algorithm>
#include <cctype>
#include <string>

#include "knowledge/automotive_text.h"
#include "knowledge/resolver.h"
#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {

constexpr size_t kMaxItemBytes = 200;


bool AnyWord(const std::string& lower, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return ContainsWord(lower, w); });
}

bool CausesHeading(const std::string& lower) { return AnyWord(lower, {"cause", "causes", "caused"}); }

bool StepsHeading(const std::string& lower) {
  for (std::string_view stem : {"diagnos", "troubleshoot", "how to fix", "repair steps", "test procedure",
                                "how to test", "testing procedure"}) {
    if (lower.find(stem) != std::string::npos) return true;
  }
  return AnyWord(lower, {"steps"});
}

std::string Likelihood(const std::string& lower) {
  if (AnyWord(lower, {"rare", "rarely", "unlikely", "less likely", "occasionally", "seldom", "less common"})) return "low";
  if (AnyWord(lower, {"most common", "most likely", "common", "usually", "often", "frequent", "frequently"})) return "high";
  return "medium";
}

// A heading's list: the code it belongs to and its items.
struct HeadedList {
  std::string code;
  std::vector<std::pair<Span, ListItem>> items;
};

template <typename IsKind>
std::vector<HeadedList> Lists(const ScannedText& scanned, IsKind is_kind) {
  const std::string_view t = scanned.text;
  const std::vector<CodeSpan>& codes = scanned.codes;
  const std::vector<Span>& lines = scanned.lines;
  std::vector<HeadedList> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!IsHeading(t, lines[i]) || !is_kind(AsciiLower(t.substr(lines[i].start, lines[i].end - lines[i].start)))) continue;
    std::vector<const CodeSpan*> in_heading = CodesIn(codes, lines[i]);
    const CodeSpan* code = in_heading.empty() ? CodeBefore(codes, lines[i].start) : in_heading.front();
    auto items = ItemsAfter(t, lines, i);
    if (code == nullptr || items.empty()) continue;
    out.push_back({code->code, std::move(items)});
  }
  return out;
}

std::string ItemText(std::string_view t, const std::pair<Span, ListItem>& item) {
  std::string_view s = Trim(t.substr(item.second.text_start, item.first.end - item.second.text_start), ".;,");
  std::string text(s.substr(0, kMaxItemBytes));
  // "**Vacuum leak**" reads as "Vacuum leak".
  text.erase(std::remove(text.begin(), text.end(), '*'), text.end());
  return std::string(Trim(text));
}

// "Failed catalytic converter (most common)" describes the same cause as
// "Failed catalytic converter": a closing remark in parentheses or after a
// dash that only says how likely it is goes (it still sets the likelihood).
std::string WithoutRemark(std::string text) {
  for (std::string_view open : {"(", " - ", " \xE2\x80\x93 "}) {
    const size_t at = text.rfind(open);
    if (at == std::string::npos || at == 0) continue;
    std::string remark = AsciiLower(text.substr(at));
    for (std::string_view w : {"most common", "most likely", "less likely", "less common", "common", "rare",
                               "rarely", "unlikely", "likely", "usually", "often", "frequent", "occasionally",
                               "seldom", "(", ")", "-", "\xE2\x80\x93", "very", "the", "cause", "least"}) {
      for (size_t p = remark.find(w); p != std::string::npos; p = remark.find(w)) remark.erase(p, w.size());
    }
    if (Trim(remark, ".,;").empty()) return std::string(Trim(text.substr(0, at)));
  }
  return text;
}

}  // namespace

std::vector<Finding> FindDtcCauses(const ScannedText& scanned) {
  const std::string_view t = scanned.text;
  std::vector<Finding> out;
  for (const HeadedList& list : Lists(scanned, CausesHeading)) {
    for (const auto& item : list.items) {
      std::string text = ItemText(t, item);
      const std::string likelihood = Likelihood(AsciiLower(text));
      text = WithoutRemark(std::move(text));
      const std::string norm = NormaliseText(text);
      if (norm.empty()) continue;
      out.push_back({list.code + ":" + norm, {{"dtc_code", list.code}, {"description", text}, {"likelihood", likelihood}},
                     item.second.text_start, item.first.end, list.code});
    }
  }
  return out;
}

std::vector<Finding> FindDtcSteps(const ScannedText& scanned, const std::vector<std::string>& tools) {
  const std::string_view t = scanned.text;
  std::vector<Finding> out;
  auto steps = [](const std::string& lower) { return !CausesHeading(lower) && StepsHeading(lower); };
  for (const HeadedList& list : Lists(scanned, steps)) {
    int position = 0;
    for (const auto& item : list.items) {
      ++position;
      std::string text = ItemText(t, item);
      const std::string norm = NormaliseText(text);
      if (norm.empty()) continue;
      const std::string lower = AsciiLower(text);
      nlohmann::json tools_required = nlohmann::json::array();
      for (const std::string& tool : tools) {
        if (ContainsWord(lower, AsciiLower(tool))) tools_required.push_back(tool);
      }
      Finding f{list.code + ":" + norm,
                {{"dtc_code", list.code},
                 {"step_order", item.second.number > 0 ? item.second.number : position},
                 {"description", text},
                 {"tools_required", std::move(tools_required)}},
                item.second.text_start, item.first.end, list.code};
      std::vector<Quantity> values = FindQuantities(text, 0, text.size());
      if (!values.empty()) f.attributes["expected_values"] = values.front().text;
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace refinery::knowledge_internal

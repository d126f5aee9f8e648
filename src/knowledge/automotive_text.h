// Layout and quantity scanning shared by the automotive extractors: lines,
// list items, headings, sentences, "0.1-0.9 V". Internal to the knowledge
// module; offsets are bytes into the scanned text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "knowledge/rule_extractors.h"

namespace refinery::knowledge_internal {

struct Span {
  size_t start = 0;
  size_t end = 0;  // exclusive; a line's end excludes "\r\n"
};

std::vector<Span> Lines(std::string_view text);

// A text with what every automotive extractor needs, computed once per
// chunk rather than once per extractor. Views `text`: keep it alive.
struct ScannedText {
  std::string_view text;
  std::string lower;  // AsciiLower(text)
  std::vector<Span> lines;
  std::vector<CodeSpan> codes;
};
ScannedText ScanText(std::string_view text);
// The sentence around `pos`: back to the previous ". ", "? ", "! " or line
// break, forward to the next one (or the text's ends).
Span SentenceAround(std::string_view text, size_t pos);

// A list item line ("- x", "* x", "• x", "+ x", "1. x", "2) x"): where its
// text starts and its number when numbered (0 otherwise).
struct ListItem {
  size_t text_start = 0;
  int number = 0;
};
std::optional<ListItem> AsListItem(std::string_view text, Span line);
// A heading: a short line (at most 80 bytes) that is not a list item and
// does not read as a sentence (no ". " inside, not ending in '.').
bool IsHeading(std::string_view text, Span line);
// The lines right after `heading` that are list items (blank lines between
// them allowed), at most 30.
std::vector<std::pair<Span, ListItem>> ItemsAfter(std::string_view text, const std::vector<Span>& lines,
                                                  size_t heading_index);

// The code whose context `pos` is in: the last code starting before it,
// else none.
const CodeSpan* CodeBefore(const std::vector<CodeSpan>& codes, size_t pos);
// The codes inside [span.start, span.end).
std::vector<const CodeSpan*> CodesIn(const std::vector<CodeSpan>& codes, Span span);

// A measured value: "0.1-0.9 V", "between 0.1 and 0.9 volts" (range
// "0.1-0.9"), "14.7 psi", "less than 5%". `text` is as written.
struct Quantity {
  std::string text;
  std::string range;  // the number or "low-high", normalised
  std::string unit;   // normalised: V, mV, ohms, kohms, psi, kPa, inHg, g/s, Hz, %, °F, °C, ms, rpm, A
  bool is_range = false;
  size_t start = 0;
  size_t end = 0;
};
// Quantities in [from, to) of `text`, in order.
std::vector<Quantity> FindQuantities(std::string_view text, size_t from, size_t to);

// The codes a thing named at `pos` relates to: those of its sentence, else
// (unless `sentence_only`) the last code before it.
std::vector<std::string> RelatedCodes(std::string_view text, const std::vector<CodeSpan>& codes, size_t pos,
                                      bool sentence_only = false);
// Appends `f` once per related code (its parent: each a relation), or once
// without a parent; sets its related_dtc_codes.
void AddRelated(Finding f, const std::vector<std::string>& related, std::vector<Finding>& out);

// Trims ASCII whitespace and the trailing punctuation `trailing`.
std::string_view Trim(std::string_view s, std::string_view trailing = "");
bool ContainsWord(std::string_view lower_text, std::string_view lower_word);

}  // namespace refinery::knowledge_internal

// Abbreviation definitions in running text: "long form (SF)" and "SF (long form)".
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>
namespace refinery {
struct AbbreviationDefinition {
  std::string short_form;  // "DTI"
  std::string long_form;   // "diffusion tensor imaging", as written in the text
  size_t short_start = 0;  // byte offsets into the text, [start, end)
  size_t short_end = 0;
  size_t long_start = 0;
  size_t long_end = 0;
};
// Every definition found, in text order (by opening bracket); the same short
// form may come with different long forms.
// Algorithm: Schwartz & Hearst (2003), refined. Each balanced "(...)" or
// "[...]" not glued to a word is a candidate. Its first clause (up to a
// top-level "; ", ", ", " and ", " or ") is either a short form (2-15
// characters, at most two words or three with capitals, a letter; not a
// number, statistic, roman numeral, "e.g."/"Fig." or plain lower-case word)
// whose long form ends before the bracket, or a phrase that is the long form
// of the word(s) before it; "(long form, SF)" is tried last. The long form
// lies within min(|SF| + 5, 2 |SF|) words, in the same clause, outside other
// brackets, and contains the short form's letters and digits in order (Greek
// letters match their Latin initial, digits also number words), the first at
// a word start. Of the alignments, the one matching the most characters at
// word starts and leaving the fewest content words unmatched wins, the
// shortest on ties; weak alignments are rejected.
// At most one definition per bracket pair. Limits: 160 bytes of a bracket's
// contents, 250 bytes of text before it, so time is linear in the text size.
// Offsets fall on UTF-8 code point boundaries (only ever at ASCII bytes);
// invalid UTF-8 and unbalanced brackets yield nothing, never a crash.
std::vector<AbbreviationDefinition> FindAbbreviationDefinitions(std::string_view text);
}  // namespace refinery

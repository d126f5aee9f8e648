// The built-in rule extractors, each a pure function of the text. Spans are
// byte offsets into it. Internal to the knowledge module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace refinery::knowledge_internal {

struct Mention {
  std::string value;  // as the identifier is written (DOI, PMID digits, arXiv id, URL)
  size_t start = 0;
  size_t end = 0;
};

// "10.1000/xyz123" (trailing punctuation that closes the sentence dropped).
std::vector<Mention> FindDois(std::string_view text);
// "PMID: 12345678", "PMID 123" -> the digits.
std::vector<Mention> FindPmids(std::string_view text);
// "arXiv:2101.00001v2", "arXiv:hep-th/9901001", "arxiv.org/abs/..." -> the id, version dropped.
std::vector<Mention> FindArxivIds(std::string_view text);
// "http://..." and "https://..." up to whitespace, minus trailing punctuation.
std::vector<Mention> FindUrls(std::string_view text);

struct Keyphrase {
  std::string phrase;  // as first written
  double score = 0;    // RAKE: sum over its words of degree / frequency
  size_t start = 0;    // its first occurrence
  size_t end = 0;
};
// The best `limit` phrases (RAKE, Rose et al. 2010) of one to four
// non-stopword words, best first; ties keep text order.
std::vector<Keyphrase> FindKeyphrases(std::string_view text, size_t limit);

}  // namespace refinery::knowledge_internal

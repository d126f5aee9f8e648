// The built-in rule extractors, each a pure function of the text. Spans are
// byte offsets into it. Internal to the knowledge module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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

// --- Automotive (docs/knowledge.md, "The automotive extractors") ---

// A text scanned once for all automotive extractors (automotive_text.h).
struct ScannedText;

// An item of an automotive extractor; the caller sets the type, normalises
// and validates the key. `parent_code`: the DTC a child record belongs to.
struct Finding {
  std::string key;
  nlohmann::json attributes = nlohmann::json::object();
  size_t start = 0;
  size_t end = 0;
  std::string parent_code;  // empty: none
};

// A DTC code standing as a word (not in a URL, a path or a part number).
struct CodeSpan {
  std::string code;  // upper case
  size_t start = 0;
  size_t end = 0;
};
std::vector<CodeSpan> FindCodeSpans(std::string_view text);

// dtc: code, description, category, severity, standard.
std::vector<Finding> FindDtcs(const ScannedText& text);
// cause / diagnostic_step: items of the lists under a causes or a
// diagnosis heading, keyed "CODE:normalised description". `tools`: the
// vocabulary a step's tools_required is drawn from.
std::vector<Finding> FindDtcCauses(const ScannedText& text);
std::vector<Finding> FindDtcSteps(const ScannedText& text, const std::vector<std::string>& tools);
// sensor: "<words of `vocabulary` or acronyms> sensor", with a typical range.
std::vector<Finding> FindSensors(const ScannedText& text, const std::vector<std::string>& vocabulary);
// tsb: "TSB 10-065-19", "Service Bulletin #01-23-45".
std::vector<Finding> FindTsbs(const ScannedText& text);
// vehicle: "[year[-year]] Make Model", the make from `makes`.
std::vector<Finding> FindVehicles(const ScannedText& text, const std::vector<std::string>& makes);

}  // namespace refinery::knowledge_internal

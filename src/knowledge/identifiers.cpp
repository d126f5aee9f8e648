// DOIs, PMIDs, arXiv ids and URLs in running text.
#include <cctype>

#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
// An identifier must not continue a word ("x10.1000/..." is not a DOI).
bool StartsWord(std::string_view text, size_t at) {
  return at == 0 || !IsWordByte(static_cast<unsigned char>(text[at - 1]));
}

bool StartsWithNoCase(std::string_view text, size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != prefix[i]) return false;
  }
  return true;
}

// The end of a run of non-space bytes starting at `at`, minus trailing
// punctuation; a closing bracket stays when the run opened one.
size_t TokenEnd(std::string_view text, size_t at) {
  size_t end = at;
  int open_round = 0, open_square = 0;
  while (end < text.size() && !IsSpace(text[end]) && text[end] != '"' && text[end] != '<' && text[end] != '>') {
    open_round += text[end] == '(' ? 1 : text[end] == ')' ? -1 : 0;
    open_square += text[end] == '[' ? 1 : text[end] == ']' ? -1 : 0;
    ++end;
  }
  while (end > at) {
    const char c = text[end - 1];
    if (c == ')' && open_round < 0) {
      ++open_round;
    } else if (c == ']' && open_square < 0) {
      ++open_square;
    } else if (c != '.' && c != ',' && c != ';' && c != ':' && c != '\'' && c != '!' && c != '?') {
      break;
    }
    --end;
  }
  return end;
}

}  // namespace

std::vector<Mention> FindDois(std::string_view text) {
  std::vector<Mention> out;
  for (size_t at = text.find("10."); at != std::string_view::npos; at = text.find("10.", at + 1)) {
    if (!StartsWord(text, at)) continue;
    size_t p = at + 3, digits = 0;
    while (p < text.size() && IsDigit(text[p]) && digits < 10) ++p, ++digits;
    while (p < text.size() && text[p] == '.' && p + 1 < text.size() && IsDigit(text[p + 1])) {
      ++p;
      while (p < text.size() && IsDigit(text[p])) ++p;
    }
    if (digits < 4 || digits > 9 || p >= text.size() || text[p] != '/') continue;
    const size_t end = TokenEnd(text, p + 1);
    if (end <= p + 1) continue;
    out.push_back({std::string(text.substr(at, end - at)), at, end});
    at = end - 1;
  }
  return out;
}

std::vector<Mention> FindPmids(std::string_view text) {
  std::vector<Mention> out;
  for (size_t at = 0; at + 4 < text.size(); ++at) {
    if (!StartsWithNoCase(text, at, "pmid") || !StartsWord(text, at)) continue;
    size_t p = at + 4;
    if (p < text.size() && text[p] == ':') ++p;
    while (p < text.size() && text[p] == ' ') ++p;
    const size_t digits_start = p;
    while (p < text.size() && IsDigit(text[p]) && p - digits_start < 10) ++p;
    if (p == digits_start || p - digits_start > 9 || (p < text.size() && IsWordByte(text[p]))) continue;
    out.push_back({std::string(text.substr(digits_start, p - digits_start)), at, p});
    at = p;
  }
  return out;
}

namespace {

// "2101.00001" or "hep-th/9901001" at `p`; returns the end, or `p` when none.
size_t ArxivIdEnd(std::string_view text, size_t p) {
  size_t q = p;
  while (q < text.size() && IsDigit(text[q])) ++q;
  if (q - p == 4 && q < text.size() && text[q] == '.') {
    const size_t frac = ++q;
    while (q < text.size() && IsDigit(text[q])) ++q;
    return (q - frac == 4 || q - frac == 5) ? q : p;
  }
  q = p;  // old style: archive(.XX)/YYMMNNN
  while (q < text.size() && (std::islower(static_cast<unsigned char>(text[q])) || text[q] == '-')) ++q;
  if (q == p) return p;
  if (q + 3 < text.size() && text[q] == '.' && std::isupper(static_cast<unsigned char>(text[q + 1]))) q += 3;
  if (q >= text.size() || text[q] != '/') return p;
  const size_t digits = ++q;
  while (q < text.size() && IsDigit(text[q])) ++q;
  return q - digits == 7 ? q : p;
}

}  // namespace

std::vector<Mention> FindArxivIds(std::string_view text) {
  std::vector<Mention> out;
  for (size_t at = 0; at + 6 < text.size(); ++at) {
    size_t p = 0;
    if (StartsWithNoCase(text, at, "arxiv:") && StartsWord(text, at)) {
      p = at + 6;
    } else if (StartsWithNoCase(text, at, "arxiv.org/abs/") || StartsWithNoCase(text, at, "arxiv.org/pdf/")) {
      p = at + 14;
    } else {
      continue;
    }
    while (p < text.size() && text[p] == ' ') ++p;
    const size_t id_end = ArxivIdEnd(text, p);
    if (id_end == p) continue;
    size_t end = id_end;
    if (end + 1 < text.size() && text[end] == 'v' && IsDigit(text[end + 1])) {
      ++end;
      while (end < text.size() && IsDigit(text[end])) ++end;
    }
    out.push_back({std::string(text.substr(p, id_end - p)), at, end});
    at = end;
  }
  return out;
}

std::vector<Mention> FindUrls(std::string_view text) {
  std::vector<Mention> out;
  for (size_t at = text.find("http"); at != std::string_view::npos; at = text.find("http", at + 1)) {
    const size_t scheme = StartsWithNoCase(text, at, "https://") ? 8 : StartsWithNoCase(text, at, "http://") ? 7 : 0;
    if (scheme == 0 || !StartsWord(text, at)) continue;
    const size_t end = TokenEnd(text, at + scheme);
    if (end <= at + scheme) continue;
    out.push_back({std::string(text.substr(at, end - at)), at, end});
    at = end - 1;
  }
  return out;
}

}  // namespace refinery::knowledge_internal

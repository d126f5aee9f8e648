// RAKE keyphrases (Rose, Engel, Cramer and Cowley 2010): candidates are runs
// of content words between stopwords and punctuation; a word scores its
// degree (co-occurrence within candidates, itself included) over its
// frequency; a phrase the sum over its words.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {

constexpr size_t kMaxPhraseWords = 4;

bool IsStopword(const std::string& w) {
  static const std::set<std::string> kStopwords = {
      "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as",
      "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
      "did", "do", "does", "doing", "down", "during", "each", "either", "et", "al", "few", "for", "from",
      "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "however", "i",
      "if", "in", "into", "is", "it", "its", "itself", "may", "might", "more", "most", "must", "my", "neither",
      "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own",
      "per", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
      "there", "these", "they", "this", "those", "through", "thus", "to", "too", "under", "until", "up", "upon",
      "us", "very", "via", "was", "we", "were", "what", "when", "where", "whether", "which", "while", "who",
      "whom", "why", "will", "with", "within", "without", "would", "you", "your", "yet", "whereas", "although",
      "among", "using", "used", "use", "found", "show", "showed", "shown", "shows", "suggest", "suggests",
      "study", "studies", "results", "result", "conclusion", "conclusions", "background", "methods", "method",
      "objective", "objectives", "one", "two", "three", "well", "like", "often", "many", "much", "along",
      "consists", "consist", "consisting", "undergo", "undergoes", "associated", "apparently", "similar",
      "different", "various", "several", "important", "observed", "reported", "performed", "obtained",
      "including", "included", "based", "known", "related", "respectively", "new", "first", "second",
      "finally", "therefore", "indicate", "indicates", "indicated", "revealed", "reveal", "identified",
      "identify", "demonstrated", "demonstrate", "investigated", "examined", "compared", "required",
      "involved", "significantly", "increased", "decreased", "higher", "lower", "whose", "since", "across",
      "likely", "previously", "recently", "novel", "potential", "possible", "specific", "present", "provide",
      "provides", "provided", "report", "describe", "described", "propose", "proposed", "determine",
      "determined", "contain", "contains", "containing", "given", "take", "taken", "make", "made", "led",
      "lead", "leads", "cause", "causes", "caused", "affect", "affects", "affected", "due", "especially",
      "particularly", "mainly", "largely", "strongly", "highly", "further", "furthermore", "moreover",
      "additionally", "addition", "together", "order", "rather", "less", "least", "almost", "can", "cannot"};
  return kStopwords.count(w) > 0;
}

// Punctuation that ends a candidate phrase (hyphens and slashes do not).
bool IsPhraseBreak(char c) {
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '(' || c == ')' || c == '[' || c == ']' ||
         c == '!' || c == '?' || c == '"' || c == '\n' || c == '{' || c == '}' || c == '=' || c == '<' || c == '>';
}

bool HasLetter(const std::string& w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
}

struct Candidate {
  size_t first = 0;  // index of its first word
  size_t count = 0;  // words in it
};

std::vector<Candidate> Candidates(std::string_view text, const std::vector<Word>& words) {
  std::vector<Candidate> out;
  Candidate current;
  auto close = [&]() {
    if (current.count > 0 && current.count <= kMaxPhraseWords) out.push_back(current);
    current = {};
  };
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) {
      for (size_t p = words[i - 1].end; p < words[i].start; ++p) {
        if (IsPhraseBreak(text[p])) {
          close();
          break;
        }
      }
    }
    const Word& w = words[i];
    if (IsStopword(w.lower) || !HasLetter(w.lower) || w.lower.size() < 2) {
      close();
      continue;
    }
    if (current.count == 0) current.first = i;
    ++current.count;
  }
  close();
  return out;
}

}  // namespace

std::vector<Keyphrase> FindKeyphrases(std::string_view text, size_t limit) {
  const std::vector<Word> words = ScanWords(text);
  const std::vector<Candidate> candidates = Candidates(text, words);
  std::map<std::string, double> frequency, degree;
  for (const Candidate& c : candidates) {
    for (size_t i = c.first; i < c.first + c.count; ++i) {
      frequency[words[i].lower] += 1;
      degree[words[i].lower] += static_cast<double>(c.count);
    }
  }
  std::map<std::string, Keyphrase> phrases;  // by lower-case phrase
  std::vector<std::string> order;
  for (const Candidate& c : candidates) {
    std::string key;
    double score = 0;
    for (size_t i = c.first; i < c.first + c.count; ++i) {
      key += (key.empty() ? "" : " ") + words[i].lower;
      score += degree[words[i].lower] / frequency[words[i].lower];
    }
    if (c.count == 1 && key.size() < 4) continue;  // short single words say little
    if (phrases.count(key) > 0) continue;
    const size_t start = words[c.first].start, end = words[c.first + c.count - 1].end;
    phrases[key] = {std::string(text.substr(start, end - start)), score, start, end};
    order.push_back(key);
  }
  std::vector<Keyphrase> out;
  for (const std::string& key : order) out.push_back(phrases[key]);
  std::stable_sort(out.begin(), out.end(), [](const Keyphrase& a, const Keyphrase& b) { return a.score > b.score; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace refinery::knowledge_internal

// The built-in evaluator (docs/knowledge.md, "The rule evaluator"):
//   trust     = clamp(start + sum of the content signals that fired), where
//               start is the first matching source trust hint, else base_trust;
//   relevance = floor + (1 - floor) * min(1, distinct vocabulary terms / saturation);
//   domain    = the domain with the most distinct keywords, if at least
//               domain_min_votes, else default_domain ("unknown" for text
//               without words).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <regex>

#include "knowledge/evaluator.h"
#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery {
namespace {

using knowledge_internal::CountTerm;
using knowledge_internal::GlobMatch;
using knowledge_internal::JoinedWords;
using knowledge_internal::ScanWords;
using knowledge_internal::Word;

// Units that make a number a measurement (lower case).
bool IsUnit(std::string_view w) {
  static const char* const kUnits[] = {
      "mg", "g", "kg", "ug", "ng", "ml", "l", "ul", "mm", "cm", "m", "km", "nm", "um", "mmol", "umol", "nmol",
      "mol", "mm", "mv", "v", "kv", "a", "ma", "w", "kw", "hz", "khz", "mhz", "ghz", "ms", "s", "sec", "min",
      "h", "hr", "hours", "days", "weeks", "years", "kpa", "psi", "bar", "rpm", "nm", "ohm", "ohms", "db",
      "c", "f", "k", "iu", "mg/kg", "kb", "mb", "gb", "bp", "kda", "fold", "mph", "kph", "lb", "lbs", "ft"};
  for (const char* unit : kUnits) {
    if (w == unit) return true;
  }
  return false;
}

// Numbers followed by a unit or "%", and p-values ("p < 0.05").
int CountQuantities(std::string_view text, const std::vector<Word>& words) {
  int count = 0;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const Word& w = words[i];
    if (!std::isdigit(static_cast<unsigned char>(w.lower[0]))) {
      if (w.lower == "p") {
        size_t at = w.end;
        while (at < text.size() && text[at] == ' ') ++at;
        count += at < text.size() && (text[at] == '<' || text[at] == '=' || text[at] == '>');
      }
      continue;
    }
    size_t at = w.end;
    if (at < text.size() && text[at] == '%') {
      ++count;
      continue;
    }
    const Word& next = words[i + 1];
    if (next.start <= w.end + 1 && IsUnit(next.lower)) ++count;
  }
  return count;
}

// "et al.", "[12]" / "[3, 4]" / "[5-7]", DOIs and PMIDs.
int CountCitations(std::string_view text, const std::string& joined) {
  int count = CountTerm(joined, "et al") + CountTerm(joined, "doi") + CountTerm(joined, "pmid");
  for (size_t at = text.find('['); at != std::string_view::npos; at = text.find('[', at + 1)) {
    size_t end = at + 1;
    while (end < text.size() && end - at < 16 &&
           (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == ',' || text[end] == ' ' ||
            text[end] == '-')) {
      ++end;
    }
    count += end < text.size() && text[end] == ']' && end > at + 1 && std::isdigit(static_cast<unsigned char>(text[at + 1]));
  }
  return count;
}

struct Trust {
  double value = 0;
  std::string why;

  // Adds min(n * weight, cap) (signed: a cap below zero bounds a penalty).
  void Add(const char* name, int n, double weight, double cap) {
    if (n <= 0 || weight == 0) return;
    double delta = n * weight;
    if (cap != 0) delta = weight > 0 ? std::min(delta, cap) : std::max(delta, cap);
    value += delta;
    char part[96];
    std::snprintf(part, sizeof(part), "; %s x%d %+.2f", name, n, delta);
    why += part;
  }
};

std::string Fixed(double v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

double Round3(double v) { return std::round(std::clamp(v, 0.0, 1.0) * 1000) / 1000; }

class RuleEvaluator final : public Evaluator {
 public:
  explicit RuleEvaluator(std::shared_ptr<const Profile> profile) : profile_(std::move(profile)) {
    for (const std::string& type : profile_->always_extract) {
      const EntityTypeDef* def = profile_->FindEntity(type);
      if (def == nullptr) continue;
      if (def->extractor == "dtc_codes") {
        count_dtc_codes_ = true;
      } else if (!def->key_pattern.empty()) {
        code_patterns_.emplace_back(def->key_pattern);
      }
    }
  }

  Result<Evaluation> Evaluate(const EvaluationInput& input) override {
    const std::vector<Word> words = ScanWords(input.text);
    const std::string joined = JoinedWords(words);
    Evaluation e;
    e.evaluator = Name();
    Trust trust = StartTrust(input.source_url);
    AddSignals(input.text, words, joined, trust);
    e.trust_score = Round3(trust.value);
    std::string relevance_why;
    e.relevance_score = Round3(Relevance(joined, relevance_why));
    std::string domain_why;
    e.domain = Domain(words, joined, domain_why);
    e.reasoning = "trust " + Fixed(e.trust_score) + ": " + trust.why + ". relevance " + Fixed(e.relevance_score) +
                  ": " + relevance_why + ". domain " + e.domain + ": " + domain_why + ".";
    return e;
  }

  std::string Name() const override { return "rules:" + profile_->name; }

 private:
  Trust StartTrust(std::string_view url) const {
    for (const TrustHint& hint : profile_->trust_hints) {
      if (!url.empty() && GlobMatch(hint.pattern, url)) return {hint.trust, "source matches " + hint.pattern + " " + Fixed(hint.trust)};
    }
    return {profile_->base_trust, "base " + Fixed(profile_->base_trust)};
  }

  void AddSignals(std::string_view text, const std::vector<Word>& words, const std::string& joined, Trust& t) const {
    const TrustSignals& s = profile_->signals;
    t.Add("quantities", CountQuantities(text, words), s.quantity, s.quantity_cap);
    t.Add("citations", CountCitations(text, joined), s.citation, s.citation_cap);
    t.Add("codes", CountCodes(text, words), s.code, s.code_cap);
    t.Add("short text", static_cast<int>(text.size()) < s.short_chars ? 1 : 0, s.short_text, 0);
    int letters = 0, upper = 0, bangs = 0;
    for (char c : text) {
      letters += std::isalpha(static_cast<unsigned char>(c)) != 0;
      upper += std::isupper(static_cast<unsigned char>(c)) != 0;
      bangs += c == '!';
    }
    t.Add("shouting", letters >= 40 && upper * 5 > letters ? 1 : 0, s.shouting, 0);
    t.Add("exclamations", bangs - 2, s.exclamations, s.exclamations_cap);
    t.Add("spam phrases", Phrases(joined, s.spam.phrases), s.spam.weight, s.spam.cap);
    t.Add("boilerplate", Phrases(joined, s.boilerplate.phrases), s.boilerplate.weight, s.boilerplate.cap);
  }

  static int Phrases(const std::string& joined, const std::vector<std::string>& phrases) {
    int n = 0;
    for (const std::string& p : phrases) n += CountTerm(joined, p);
    return n;
  }

  int CountCodes(std::string_view text, const std::vector<Word>& words) const {
    int n = count_dtc_codes_ ? static_cast<int>(knowledge_internal::FindCodeSpans(text).size()) : 0;
    if (code_patterns_.empty()) return n;
    for (const Word& w : words) {
      if (w.end - w.start > 32) continue;
      std::string token(text.substr(w.start, w.end - w.start));
      for (char& c : token) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      for (const std::regex& re : code_patterns_) n += std::regex_match(token, re) ? 1 : 0;
    }
    return n;
  }

  double Relevance(const std::string& joined, std::string& why) const {
    std::vector<std::string> hits;
    for (const std::string& term : profile_->vocabulary) {
      if (CountTerm(joined, term) > 0) hits.push_back(term);
    }
    const double floor = profile_->relevance_floor;
    const double share = std::min(1.0, static_cast<double>(hits.size()) / profile_->relevance_saturation);
    why = std::to_string(hits.size()) + " vocabulary terms";
    for (size_t i = 0; i < hits.size() && i < 5; ++i) why += (i == 0 ? " (" : ", ") + hits[i];
    if (!hits.empty()) why += hits.size() > 5 ? ", ...)" : ")";
    return floor + (1 - floor) * share;
  }

  std::string Domain(const std::vector<Word>& words, const std::string& joined, std::string& why) const {
    if (words.empty()) {
      why = "no words";
      return "unknown";
    }
    const DomainDef* best = nullptr;
    int best_votes = 0;
    for (const DomainDef& d : profile_->domains) {
      int votes = 0;
      for (const std::string& k : d.keywords) votes += CountTerm(joined, k) > 0 ? 1 : 0;
      if (votes > best_votes) {
        best = &d;
        best_votes = votes;
      }
    }
    if (best == nullptr || best_votes < profile_->domain_min_votes) {
      why = "no domain has " + std::to_string(profile_->domain_min_votes) + " keywords";
      return profile_->default_domain;
    }
    why = std::to_string(best_votes) + " keywords";
    return best->name;
  }

  std::shared_ptr<const Profile> profile_;
  // Codes of the always_extract types: DTCs found as their extractor finds
  // them (one linear scan, not a regex per word; never in a URL or part
  // number), other types by their key pattern.
  bool count_dtc_codes_ = false;
  std::vector<std::regex> code_patterns_;
};

}  // namespace

std::unique_ptr<Evaluator> NewRuleEvaluator(std::shared_ptr<const Profile> profile) {
  return std::make_unique<RuleEvaluator>(std::move(profile));
}

}  // namespace refinery

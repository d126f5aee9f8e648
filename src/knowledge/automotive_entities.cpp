// Sensors, technical service bulletins and vehicles named in running text,
// each related to the DTC codes of its sentence (or the code in scope).
#include <algorithm>
#include <cctype>
#include <string>

#include "knowledge/automotive_text.h"
#include "knowledge/resolver.h"
#include "knowledge/rule_extractors.h"
#include "knowledge/text_scan.h"

namespace refinery::knowledge_internal {
namespace {


}  // namespace

std::vector<std::string> RelatedCodes(std::string_view t, const std::vector<CodeSpan>& codes, size_t pos,
                                      bool sentence_only) {
  std::vector<std::string> out;
  for (const CodeSpan* c : CodesIn(codes, SentenceAround(t, pos))) {
    if (std::find(out.begin(), out.end(), c->code) == out.end()) out.push_back(c->code);
  }
  if (out.empty() && !sentence_only) {
    if (const CodeSpan* c = CodeBefore(codes, pos)) out.push_back(c->code);
  }
  return out;
}

void AddRelated(Finding f, const std::vector<std::string>& related, std::vector<Finding>& out) {
  f.attributes["related_dtc_codes"] = related;
  if (related.empty()) {
    out.push_back(std::move(f));
    return;
  }
  for (const std::string& code : related) {
    out.push_back(f);
    out.back().parent_code = code;
  }
}

namespace {

// "O2", "MAF", "A/F", "(MAF)": an acronym a sensor's name may hold.
bool Acronym(std::string_view word) {
  word = Trim(word, "()");
  if (!word.empty() && word.front() == '(') word.remove_prefix(1);
  if (word.size() < 2) return false;
  bool upper = false;
  for (char c : word) {
    if (!(IsAsciiUpper(c) || IsAsciiDigit(c) || c == '/' || c == '-')) return false;
    upper = upper || IsAsciiUpper(c);
  }
  return upper;
}

std::string SensorType(const std::string& key) {
  auto has = [&](std::initializer_list<std::string_view> words) {
    return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return ContainsWord(key, w); });
  };
  if (has({"oxygen", "o2", "lambda", "a f", "air fuel", "wideband"})) return "oxygen";
  if (has({"temperature", "ect", "iat", "temp"})) return "temperature";
  if (has({"pressure", "map", "baro", "barometric"})) return "pressure";
  if (has({"flow", "maf"})) return "flow";
  if (has({"knock"})) return "knock";
  if (has({"speed", "vss", "wheel"})) return "speed";
  if (has({"position", "tps", "crankshaft", "camshaft", "ckp", "cmp", "throttle", "pedal"})) return "position";
  return "other";
}

}  // namespace

std::vector<Finding> FindSensors(const ScannedText& scanned, const std::vector<std::string>& vocabulary) {
  const std::string_view t = scanned.text;
  const std::vector<CodeSpan>& codes = scanned.codes;
  const std::string& lower = scanned.lower;
  std::vector<Finding> out;
  for (size_t at = lower.find("sensor"); at != std::string::npos; at = lower.find("sensor", at + 6)) {
    const size_t end = at + 6;
    if ((at > 0 && IsAsciiAlnum(t[at - 1])) || (end < t.size() && IsAsciiAlnum(t[end]))) continue;
    size_t next = end;
    while (next < t.size() && IsBlank(t[next])) ++next;
    if (next < t.size() && IsAsciiDigit(t[next])) continue;  // "Sensor 1": a position, not a name
    size_t start = at;
    for (int words = 0; words < 4 && start > 0; ++words) {
      size_t b = start;
      while (b > 0 && IsBlank(t[b - 1])) --b;
      size_t a = b;
      while (a > 0 && !IsBlank(t[a - 1]) && t[a - 1] != '\n') --a;
      std::string_view word = t.substr(a, b - a);
      // "(wheel speed sensor)": the bracket opens the name, it is not part of it.
      const bool opens = word.size() > 1 && word.front() == '(' && word.find(')') == std::string_view::npos;
      if (opens) word.remove_prefix(1);
      const std::string bare(Trim(AsciiLower(word), ",;:."));
      const bool known = std::find(vocabulary.begin(), vocabulary.end(), bare) != vocabulary.end();
      if (word.empty() || (!known && !Acronym(word)) || bare.size() != word.size()) break;
      start = opens ? a + 1 : a;
      if (opens) break;
    }
    if (start == at) continue;  // "the sensor"
    const std::string name(t.substr(start, end - start));
    std::string unbracketed;
    for (size_t i = 0, depth = 0; i < name.size(); ++i) {
      depth += name[i] == '(' ? 1 : 0;
      if (depth == 0) unbracketed += name[i];
      if (name[i] == ')' && depth > 0) --depth;
    }
    Finding f{NormaliseText(unbracketed), {{"name", name}}, start, end, ""};
    f.attributes["sensor_type"] = SensorType(f.key);
    const Span sentence = SentenceAround(t, at);
    for (const Quantity& q : FindQuantities(t, end, sentence.end)) {
      if (!q.is_range) continue;
      f.attributes["typical_range"] = q.range;
      f.attributes["unit"] = q.unit;
      break;
    }
    AddRelated(std::move(f), RelatedCodes(t, codes, at), out);
  }
  return out;
}

std::vector<Finding> FindTsbs(const ScannedText& scanned) {
  const std::string_view t = scanned.text;
  const std::vector<CodeSpan>& codes = scanned.codes;
  const std::string& lower = scanned.lower;
  std::vector<Finding> out;
  for (size_t i = 0; i < t.size(); ++i) {
    size_t j = i;
    if (t.compare(i, 3, "TSB") == 0) {
      j = i + 3;
    } else if (lower.compare(i, 26, "technical service bulletin") == 0) {
      j = i + 26;
    } else if (lower.compare(i, 16, "service bulletin") == 0) {
      j = i + 16;
    } else {
      continue;
    }
    if ((i > 0 && IsAsciiAlnum(t[i - 1])) || (j < t.size() && std::isalpha(static_cast<unsigned char>(t[j])))) continue;
    auto skip = [&](std::string_view word) {
      while (j < t.size() && (IsBlank(t[j]) || t[j] == ':' || t[j] == '#')) ++j;
      if (t.compare(j, word.size(), word) == 0) j += word.size();
    };
    skip("(TSB)");
    skip("No.");
    skip("Number");
    skip("");
    size_t k = j;
    while (k < t.size() && (IsAsciiAlnum(t[k]) || ((t[k] == '-' || t[k] == '.' || t[k] == '/') && k + 1 < t.size() && IsAsciiAlnum(t[k + 1])))) ++k;
    std::string id(t.substr(j, k - j));
    if (id.size() < 4 || id.size() > 30 || std::none_of(id.begin(), id.end(), IsAsciiDigit) || FindCodeSpans(id).size() == 1) {
      continue;
    }
    for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const Span sentence = SentenceAround(t, i);
    Finding f{id, {{"tsb_number", id}, {"summary", std::string(Trim(t.substr(sentence.start, std::min<size_t>(sentence.end - sentence.start, 300))))}}, i, k, ""};
    size_t q = k;
    while (q < t.size() && (IsBlank(t[q]) || t[q] == ':' || t[q] == '-' || t[q] == ',')) ++q;
    if (q < t.size() && t[q] == '"') {
      const size_t close = t.find('"', q + 1);
      if (close != std::string_view::npos && close - q < 160) f.attributes["title"] = std::string(t.substr(q + 1, close - q - 1));
    } else if (t.compare(q, 3, "\xE2\x80\x9C") == 0) {
      const size_t close = t.find("\xE2\x80\x9D", q + 3);
      if (close != std::string_view::npos && close - q < 160) f.attributes["title"] = std::string(t.substr(q + 3, close - q - 3));
    }
    AddRelated(std::move(f), RelatedCodes(t, codes, i, true), out);
    i = k;
  }
  return out;
}

}  // namespace refinery::knowledge_internal

// Content-Type parsing and the HTML encoding prescan (crawl/charset.h).
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crawl/charset.h"
#include "crawl/charset_internal.h"

namespace refinery::crawl {
namespace {

constexpr size_t kPrescanBytes = 1024;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string LowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool StartsWithNoCase(std::string_view s, size_t pos, std::string_view prefix) {
  if (s.size() - pos < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[pos + i]) != prefix[i]) return false;
  }
  return true;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && StartsWithNoCase(s, s.size() - suffix.size(), suffix);
}

// One parameter value at `pos` (after '='): a quoted string (backslash
// escapes honoured) or a token up to ';'. Advances `pos` past it.
std::string ParameterValue(std::string_view s, size_t& pos) {
  std::string value;
  if (pos < s.size() && s[pos] == '"') {
    for (++pos; pos < s.size() && s[pos] != '"'; ++pos) {
      if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
      value += s[pos];
    }
    return value;
  }
  size_t end = s.find(';', pos);
  if (end == std::string_view::npos) end = s.size();
  value = std::string(Trim(s.substr(pos, end - pos)));
  pos = end;
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') value = value.substr(1, value.size() - 2);
  return value;
}

// The charset named by a meta content value ("text/html; charset=x"),
// per the HTML "extract a character encoding from a meta element" steps.
std::optional<std::string> CharsetFromMetaContent(std::string_view content) {
  for (size_t pos = 0;;) {
    pos = content.find("charset", pos);
    if (pos == std::string_view::npos) return std::nullopt;
    pos += 7;
    while (pos < content.size() && IsSpace(content[pos])) ++pos;
    if (pos >= content.size() || content[pos] != '=') continue;
    ++pos;
    while (pos < content.size() && IsSpace(content[pos])) ++pos;
    if (pos >= content.size()) return std::nullopt;
    char quote = content[pos];
    if (quote == '"' || quote == '\'') {
      size_t end = content.find(quote, pos + 1);
      if (end == std::string_view::npos) return std::nullopt;
      return std::string(content.substr(pos + 1, end - pos - 1));
    }
    size_t end = pos;
    while (end < content.size() && !IsSpace(content[end]) && content[end] != ';') ++end;
    return std::string(content.substr(pos, end - pos));
  }
}

// The prescan's "get an attribute": the next lower-cased (name, value) of
// the tag at `pos`, or nullopt at its '>' or when the bytes run out.
std::optional<std::pair<std::string, std::string>> NextAttribute(std::string_view s, size_t& pos) {
  while (pos < s.size() && (IsSpace(s[pos]) || s[pos] == '/')) ++pos;
  if (pos >= s.size() || s[pos] == '>') return std::nullopt;
  std::string name, value;
  for (;; ++pos) {  // the name
    if (pos >= s.size()) return std::nullopt;
    char c = s[pos];
    if (c == '=' && !name.empty()) break;
    if (IsSpace(c)) {
      while (pos < s.size() && IsSpace(s[pos])) ++pos;
      if (pos >= s.size() || s[pos] != '=') return std::make_pair(name, value);
      break;
    }
    if (c == '/' || c == '>') return std::make_pair(name, value);
    name += Lower(c);
  }
  for (++pos; pos < s.size() && IsSpace(s[pos]);) ++pos;  // past '=' and spaces
  if (pos >= s.size()) return std::nullopt;
  char quote = s[pos];
  if (quote == '"' || quote == '\'') {
    size_t end = s.find(quote, pos + 1);
    if (end == std::string_view::npos) return std::nullopt;
    value = LowerString(s.substr(pos + 1, end - pos - 1));
    pos = end + 1;
    return std::make_pair(name, value);
  }
  for (; pos < s.size() && !IsSpace(s[pos]) && s[pos] != '>'; ++pos) value += Lower(s[pos]);
  if (pos >= s.size()) return std::nullopt;
  return std::make_pair(name, value);
}

// The charset a <meta> whose attributes start at `pos` declares, if any.
std::optional<std::string> MetaCharset(std::string_view s, size_t& pos) {
  std::vector<std::string> seen;
  bool got_pragma = false;
  std::optional<bool> need_pragma;
  std::optional<std::string> charset;
  while (auto attribute = NextAttribute(s, pos)) {
    auto& [name, value] = *attribute;
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    if (name == "http-equiv" && value == "content-type") got_pragma = true;
    if (name == "content" && !charset) {
      if (auto found = CharsetFromMetaContent(value)) {
        charset = std::move(found);
        need_pragma = true;
      }
    }
    if (name == "charset") {
      charset = value;
      need_pragma = false;
    }
  }
  if (!need_pragma || (*need_pragma && !got_pragma) || !charset) return std::nullopt;
  const internal::Encoding* encoding = internal::FindEncoding(*charset);
  if (encoding == nullptr) return std::nullopt;
  if (encoding->kind == internal::EncodingKind::kUtf16) return "utf-8";
  return internal::NormalizeLabel(*charset);
}

// Skips a tag whose name starts at `pos`: the name, then its attributes.
void SkipTag(std::string_view s, size_t& pos) {
  while (pos < s.size() && !IsSpace(s[pos]) && s[pos] != '>') ++pos;
  while (NextAttribute(s, pos)) {
  }
}

}  // namespace

std::string MediaType(std::string_view content_type) {
  std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  size_t slash = type.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == type.size()) return "";
  if (type.find('/', slash + 1) != std::string_view::npos) return "";
  for (char c : type) {
    if (IsSpace(c) || static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E) return "";
  }
  return LowerString(type);
}

ContentKind ClassifyContentType(std::string_view content_type, std::string_view url_path) {
  std::string type = MediaType(content_type);
  if (type == "text/html" || type == "application/xhtml+xml") return ContentKind::kHtml;
  if (type == "text/markdown" || type == "text/x-markdown") return ContentKind::kMarkdown;
  if (type == "application/pdf" || type == "application/x-pdf") return ContentKind::kPdf;
  if (type == "text/plain") {
    std::string_view path = url_path.substr(0, url_path.find_first_of("?#"));
    bool markdown = EndsWithNoCase(path, ".md") || EndsWithNoCase(path, ".markdown");
    return markdown ? ContentKind::kMarkdown : ContentKind::kText;
  }
  return ContentKind::kOther;
}

std::string CharsetFromContentType(std::string_view content_type) {
  size_t pos = content_type.find(';');
  while (pos != std::string_view::npos && pos < content_type.size()) {
    ++pos;  // past ';'
    size_t equals = content_type.find_first_of("=;", pos);
    if (equals == std::string_view::npos) break;
    std::string name = LowerString(Trim(content_type.substr(pos, equals - pos)));
    pos = equals;
    if (content_type[equals] == ';') continue;
    ++pos;  // past '='
    while (pos < content_type.size() && IsSpace(content_type[pos])) ++pos;
    std::string value = ParameterValue(content_type, pos);
    if (name == "charset") return internal::NormalizeLabel(value);
    pos = content_type.find(';', pos);
  }
  return "";
}

std::string SniffHtmlCharset(std::string_view body) {
  std::string_view bom = internal::BomCharset(body);
  if (!bom.empty()) return std::string(bom);
  std::string_view s = body.substr(0, kPrescanBytes);
  for (size_t pos = 0; pos < s.size();) {
    if (s.compare(pos, 4, "<!--") == 0) {
      size_t end = s.find("-->", pos + 2);
      if (end == std::string_view::npos) break;
      pos = end + 3;
    } else if (StartsWithNoCase(s, pos, "<meta") && pos + 5 < s.size() && (IsSpace(s[pos + 5]) || s[pos + 5] == '/')) {
      pos += 5;
      if (auto charset = MetaCharset(s, pos)) return *charset;
    } else if (s[pos] == '<' && pos + 1 < s.size() &&
               (IsAlpha(s[pos + 1]) || (s[pos + 1] == '/' && pos + 2 < s.size() && IsAlpha(s[pos + 2])))) {
      pos += s[pos + 1] == '/' ? 2 : 1;
      SkipTag(s, pos);
    } else if (s[pos] == '<' && pos + 1 < s.size() && (s[pos + 1] == '!' || s[pos + 1] == '/' || s[pos + 1] == '?')) {
      size_t end = s.find('>', pos);
      if (end == std::string_view::npos) break;
      pos = end + 1;
    } else {
      ++pos;
    }
  }
  return "";
}

namespace internal {

std::string_view BomCharset(std::string_view body) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") return "utf-8";
  if (body.substr(0, 2) == "\xFE\xFF") return "utf-16be";
  if (body.substr(0, 2) == "\xFF\xFE") return "utf-16le";
  return "";
}

}  // namespace internal
}  // namespace refinery::crawl

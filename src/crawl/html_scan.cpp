// Tag-level HTML scanning for the nesting limiter (crawl/html_internal.h):
// where tags, comments and raw text end, exactly as the HTML tokenizer
// (and gumbo's) decides it.
#include <string>
#include <string_view>

#include "crawl/html_internal.h"

namespace refinery::crawl::internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The tokenizer states between a tag name and the tag's '>'.
enum class State { kBeforeName, kName, kAfterName, kBeforeValue, kQuoted, kUnquoted, kAfterQuoted, kSelfClosing };

// Runs the attribute states from `pos` (just after the tag name) and fills
// tag.attributes, tag.self_closing and tag.end_offset.
bool ReadAttributes(std::string_view s, size_t pos, ScannedTag& tag) {
  State state = State::kBeforeName;
  char quote = 0;
  std::string name, value;
  auto add = [&] {
    tag.attributes.emplace_back(std::move(name), std::move(value));
    name.clear();
    value.clear();
  };
  auto finish = [&](size_t gt) {
    tag.end_offset = gt + 1;
    return true;
  };
  for (; pos < s.size(); ++pos) {
    char c = s[pos];
    switch (state) {
      case State::kBeforeName:
        if (IsSpace(c)) break;
        if (c == '/') state = State::kSelfClosing;
        if (c == '>') return finish(pos);
        if (c != '/') {
          name.assign(1, Lower(c));  // '=' may start a name
          state = State::kName;
        }
        break;
      case State::kName:
      case State::kAfterName:
        if (IsSpace(c)) {
          state = State::kAfterName;
        } else if (c == '=') {
          state = State::kBeforeValue;
        } else if (c == '/' || c == '>') {
          add();
          if (c == '>') return finish(pos);
          state = State::kSelfClosing;
        } else if (state == State::kName) {
          name += Lower(c);
        } else {
          add();
          name.assign(1, Lower(c));
          state = State::kName;
        }
        break;
      case State::kBeforeValue:
        if (IsSpace(c)) break;
        if (c == '>') {
          add();
          return finish(pos);
        }
        if (c == '"' || c == '\'') {
          quote = c;
          state = State::kQuoted;
        } else {
          value += c;
          state = State::kUnquoted;
        }
        break;
      case State::kQuoted: {
        size_t end = s.find(quote, pos);
        if (end == std::string_view::npos) return false;
        value.append(s.substr(pos, end - pos));
        pos = end;
        add();
        state = State::kAfterQuoted;
        break;
      }
      case State::kUnquoted:
        if (IsSpace(c)) {
          add();
          state = State::kBeforeName;
        } else if (c == '>') {
          add();
          return finish(pos);
        } else {
          value += c;
        }
        break;
      case State::kAfterQuoted:
      case State::kSelfClosing:
        if (c == '>') {
          tag.self_closing = state == State::kSelfClosing;
          return finish(pos);
        }
        if (state == State::kAfterQuoted && IsSpace(c)) {
          state = State::kBeforeName;
          break;
        }
        if (state == State::kAfterQuoted && c == '/') {
          state = State::kSelfClosing;
          break;
        }
        state = State::kBeforeName;
        --pos;  // reconsume
        break;
    }
  }
  return false;
}

}  // namespace

bool ReadTag(std::string_view s, size_t pos, ScannedTag& tag) {
  tag = ScannedTag{};
  size_t i = pos + 1;
  tag.is_end = i < s.size() && s[i] == '/';
  if (tag.is_end) ++i;
  while (i < s.size() && !IsSpace(s[i]) && s[i] != '/' && s[i] != '>') tag.name += Lower(s[i++]);
  return ReadAttributes(s, i, tag);
}

size_t CommentEnd(std::string_view s, size_t pos) {
  // "<!-->" and "<!--->" are whole comments, so the search starts inside "<!--".
  for (size_t dashes = s.find("--", pos + 2); dashes != std::string_view::npos; dashes = s.find("--", dashes + 1)) {
    if (s.compare(dashes + 2, 1, ">") == 0) return dashes + 3;
    if (s.compare(dashes + 2, 2, "!>") == 0) return dashes + 4;
  }
  return s.size();
}

size_t RawTextEnd(std::string_view s, size_t pos, std::string_view name) {
  for (pos = s.find("</", pos); pos != std::string_view::npos; pos = s.find("</", pos + 1)) {
    size_t after = pos + 2 + name.size();
    if (after > s.size()) return s.size();
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) same = Lower(s[pos + 2 + i]) == name[i];
    // An end tag only when the name is followed by what ends a tag name.
    if (same && (after == s.size() || IsSpace(s[after]) || s[after] == '/' || s[after] == '>')) return pos;
  }
  return s.size();
}

}  // namespace refinery::crawl::internal

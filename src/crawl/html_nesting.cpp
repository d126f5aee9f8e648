// The nesting limiter run before gumbo (crawl/html_internal.h): one scan of
// the page driving a model of gumbo 0.10.1's tree builder, reduced to what
// decides the depth of its stack of open elements. Where the model is
// unsure it keeps elements open, so it overestimates the depth; an end tag
// it inserts for an element gumbo already closed is ignored by gumbo.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crawl/html_internal.h"
#include "crawl/html_nesting_model.h"

namespace refinery::crawl::internal {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Scans the page, feeding the model, and copies it with the end tags the
// model asks for inserted.
class Limiter {
 public:
  Limiter(std::string_view html, size_t max_depth)
      : in_(html), model_(max_depth, [this](size_t at, std::string_view name) { Insert(at, name); }) {}

  std::optional<std::string> Run() {
    size_t pos = 0;
    while (pos < in_.size()) {
      size_t lt = std::min(in_.find('<', pos), in_.size());
      if (lt > pos) Text(pos, lt);
      if (lt == in_.size()) break;
      pos = Markup(lt);
    }
    if (!changed_) return std::nullopt;
    out_.append(in_.substr(copied_));
    return std::move(out_);
  }

 private:
  void Insert(size_t at, std::string_view name) {
    out_.append(in_.substr(copied_, at - copied_));
    out_.append("</").append(name).append(">");
    copied_ = at;
    changed_ = true;
  }

  void Text(size_t begin, size_t end) {
    bool blank = std::all_of(in_.begin() + begin, in_.begin() + end, IsSpace);
    model_.OnText(begin, blank);
  }

  // Handles the markup at `lt` ('<'); returns where scanning continues.
  size_t Markup(size_t lt) {
    std::string_view s = in_;
    char next = lt + 1 < s.size() ? s[lt + 1] : '\0';
    bool end_tag_open = next == '/' && lt + 2 < s.size();
    if (next == '!' && s.compare(lt, 4, "<!--") == 0) return CommentEnd(s, lt);
    if (next == '!' && model_.InForeignContent() && s.compare(lt, 9, "<![CDATA[") == 0) {
      size_t end = std::min(s.find("]]>", lt + 9), s.size());
      if (end > lt + 9) Text(lt + 9, end);  // character tokens
      return std::min(end + 3, s.size());
    }
    if (next == '!' || next == '?' || (end_tag_open && !IsAlpha(s[lt + 2]))) {
      size_t end = s.find('>', lt + 1);  // a bogus comment; "</>" is dropped
      return end == std::string_view::npos ? s.size() : end + 1;
    }
    if (!IsAlpha(next) && !end_tag_open) {
      Text(lt, lt + 1);
      return lt + 1;
    }
    ScannedTag tag;
    if (!ReadTag(s, lt, tag)) return s.size();  // cut off by the end: dropped
    if (tag.is_end) {
      model_.OnEndTag(tag.name);
      return tag.end_offset;
    }
    switch (model_.OnStartTag(tag, lt)) {
      case NestingModel::Content::kMarkup:
        return tag.end_offset;
      case NestingModel::Content::kRawText:
        return RawTextEnd(s, tag.end_offset, tag.name);
      case NestingModel::Content::kPlainText:
        return s.size();
    }
    return tag.end_offset;
  }

  std::string_view in_;
  NestingModel model_;
  std::string out_;
  size_t copied_ = 0;
  bool changed_ = false;
};

}  // namespace

std::optional<std::string> FlattenDeepNesting(std::string_view html, size_t max_depth) {
  return Limiter(html, std::max<size_t>(max_depth, 4)).Run();
}

}  // namespace refinery::crawl::internal
